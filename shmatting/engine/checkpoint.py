"""Checkpoint files: atomic saving and loading to numpy."""
import os
import os.path as osp
import uuid

__all__ = ['save_checkpoint_atomic', 'load_checkpoint_arrays']


def save_checkpoint_atomic(save_obj, path, append_dict=None):
    """Write a MindSpore checkpoint atomically: a temp file in the same folder, then ``os.replace``.

    ``ms.save_checkpoint`` appends ``.ckpt`` to names that lack it and writes read-only files, so the
    temp name is ``.<name>.<random>.tmp.ckpt``. A crash leaves the previous file intact.

    Args:
        save_obj (nn.Cell | list[dict] | dict): what ``ms.save_checkpoint`` accepts; a dict of
            ``name -> numpy array`` is converted.
        path (str): destination ``.ckpt`` path.
        append_dict (dict, optional): extra metadata entries.

    Returns:
        str: ``path``.
    """
    import mindspore as ms
    import numpy as np
    if not path.endswith('.ckpt'):
        raise ValueError(f'checkpoint paths end with .ckpt, got {path}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if isinstance(save_obj, dict):
        save_obj = [{'name': k, 'data': ms.Tensor(np.asarray(v))} for k, v in save_obj.items()]
    tmp = osp.join(folder, f'.{osp.basename(path)[:-5]}.{uuid.uuid4().hex[:8]}.tmp.ckpt')
    try:
        ms.save_checkpoint(save_obj, tmp, append_dict=append_dict)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.chmod(tmp, 0o600)
            os.remove(tmp)
    return path


def load_checkpoint_arrays(path):
    """Read a MindSpore checkpoint into ``{name: numpy array}`` (non-tensor entries skipped).

    Args:
        path (str): a ``.ckpt`` file.

    Returns:
        dict: name -> numpy array.
    """
    import mindspore as ms
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    try:
        params = ms.load_checkpoint(path)
    except Exception as exc:
        raise ValueError(f'{path} is not a readable MindSpore checkpoint '
                         f'({type(exc).__name__}: {str(exc).splitlines()[0][:200]})') from None
    return {k: v.asnumpy() for k, v in params.items() if hasattr(v, 'asnumpy')}
