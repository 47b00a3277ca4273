"""Checkpoint files: atomic saving and loading to numpy."""
import os
import os.path as osp
import uuid

__all__ = ['save_checkpoint_atomic', 'load_checkpoint_arrays', 'read_meta', 'save_with_meta',
           'find_latest_full_state', 'load_weights', 'META_KEY']


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
    return {k: v.asnumpy() for k, v in params.items() if hasattr(v, 'asnumpy') and k != META_KEY}


META_KEY = 'shm_meta'


def read_meta(path):
    """The JSON metadata stored in a shmatting checkpoint (``{}`` if it has none).

    Args:
        path (str): a ``.ckpt`` file.

    Returns:
        dict: e.g. ``epoch``, ``iter``, ``best_score``, ``seed``, ``kind`` ('full' or 'weights').
    """
    import json
    import mindspore as ms
    try:
        params = ms.load_checkpoint(path, choice_func=lambda name: name == META_KEY)
    except Exception:
        return {}
    value = params.get(META_KEY)
    if value is None:
        return {}
    return json.loads(value if isinstance(value, str) else str(value))


def save_with_meta(cell, path, meta):
    """Save ``cell``'s parameters plus JSON ``meta`` atomically."""
    import json
    return save_checkpoint_atomic(cell, path, append_dict={META_KEY: json.dumps(meta)})


def find_latest_full_state(work_dir):
    """The newest full-state checkpoint in ``work_dir`` by its metadata (epoch, iter), not its name.

    Args:
        work_dir (str): the run's folder.

    Returns:
        str | None: the path, or None when there is none.
    """
    if not osp.isdir(work_dir):
        return None
    best, best_key = None, None
    for name in sorted(os.listdir(work_dir)):
        if not name.endswith('.ckpt') or name.startswith('.'):
            continue
        path = osp.join(work_dir, name)
        meta = read_meta(path)
        if meta.get('kind') != 'full':
            continue
        key = (meta.get('iter', -1), meta.get('epoch', -1), name != 'latest.ckpt')
        if best_key is None or key > best_key:
            best, best_key = path, key
    return best


def load_weights(model, load_from, strict=False, logger=None):
    """Load weights into ``model`` from a path, or from several files by name prefix.

    Args:
        model (nn.Cell): the model.
        load_from (str | dict): a checkpoint path (every matching name), or
            ``{prefix: path}`` such as ``dict(tnet='work_dirs/tnet_8x8/best_mIoU.ckpt')`` that takes
            only ``<prefix>.*`` from each file.
        strict (bool): raise if a parameter of the model (under the prefixes) is not loaded.
        logger (logging.Logger, optional): receives the report.

    Returns:
        dict: ``loaded``, ``missing`` and ``unexpected`` name lists.
    """
    import mindspore as ms
    sources = {'': load_from} if isinstance(load_from, str) else dict(load_from)
    model_params = {p.name: p for p in model.get_parameters()}
    loaded, unexpected = {}, []
    for prefix, path in sources.items():
        if not osp.isfile(path):
            raise FileNotFoundError(f'load_from: checkpoint not found: {path}'
                                    + (f' (for prefix {prefix!r})' if prefix else ''))
        params = ms.load_checkpoint(path)
        params.pop(META_KEY, None)
        want = f'{prefix}.' if prefix and not prefix.endswith('.') else prefix
        for name, value in params.items():
            if not name.startswith(want):
                continue
            if name not in model_params:
                unexpected.append(name)
                continue
            if tuple(value.shape) != tuple(model_params[name].shape):
                raise ValueError(f'load_from: {path}: {name} has shape {tuple(value.shape)}, the '
                                 f'model expects {tuple(model_params[name].shape)}')
            loaded[name] = value
    ms.load_param_into_net(model, loaded)
    prefixes = [f'{p}.' if p and not p.endswith('.') else p for p in sources]
    missing = sorted(n for n in model_params if n not in loaded and any(n.startswith(p) for p in prefixes))
    report = dict(loaded=sorted(loaded), missing=missing, unexpected=sorted(unexpected))
    if logger is not None:
        logger.info(f'load_from {load_from}: loaded {len(loaded)}, missing {len(missing)}, '
                    f'unexpected {len(unexpected)}'
                    + (f'; missing e.g. {missing[:3]}' if missing else '')
                    + (f'; unexpected e.g. {unexpected[:3]}' if unexpected else ''))
    if strict and missing:
        raise KeyError(f'load_from (strict): {len(missing)} model parameters not in the '
                       f'checkpoint(s), e.g. {missing[:5]}')
    return report
