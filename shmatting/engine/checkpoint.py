"""Checkpoint files: atomic saving and loading to numpy."""

import contextlib
import os
import os.path as osp
import uuid

import numpy as np

__all__ = [
    'save_checkpoint_atomic',
    'load_checkpoint_arrays',
    'read_meta',
    'save_with_meta',
    'find_latest_full_state',
    'load_weights',
    'META_KEY',
    'atomic_copy',
    'check_finite',
    'sweep_temp_files',
    'CheckpointError',
    'NonFiniteWeightsError',
    'UnreadableCheckpoint',
]

# temp names of interrupted writes: ours (.<name>.<hex>.tmp.ckpt), MindSpore's own
# (<temp name>.tmp.tmp) and Config.dump's (.<name>.py.<hex>.tmp)
_TEMP_SUFFIXES = ('.tmp.ckpt', '.tmp.tmp', '.tmp')


class CheckpointError(RuntimeError):
    """A checkpoint could not be written (full disk, permissions...); the previous files are
    intact and no temp file is left."""


class NonFiniteWeightsError(CheckpointError):
    """The model holds NaN or Inf values: nothing is saved."""


class UnreadableCheckpoint(ValueError):
    """A file is not a readable MindSpore checkpoint (truncated, empty, another format)."""


def _reason(exc):
    """The first line of an exception's message (its ``strerror`` for OS errors)."""
    text = getattr(exc, 'strerror', None) or str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _temp_name(path):
    return osp.join(
        osp.dirname(osp.abspath(path)),
        f'.{osp.basename(path)[:-5]}.{uuid.uuid4().hex[:8]}.tmp.ckpt',
    )


def _remove_quietly(path):
    if osp.exists(path):
        os.chmod(path, 0o600)
        os.remove(path)


def atomic_copy(src, dst):
    """Copy ``src`` to ``dst`` through a temp file and a rename (``dst`` is never half-written).

    Args:
        src (str): an existing file.
        dst (str): the destination ``.ckpt`` path.
    """
    import shutil

    tmp = _temp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        raise CheckpointError(f'could not write {dst}: {exc.strerror or exc}') from None
    finally:
        _remove_quietly(tmp)


def sweep_temp_files(folder):
    """Remove what interrupted writes left in ``folder`` (a killed save, a full disk).

    Args:
        folder (str): a work dir.

    Returns:
        list[str]: the removed files.
    """
    removed = []
    if not osp.isdir(folder):
        return removed
    for name in os.listdir(folder):
        if name.startswith('.') and name.endswith(_TEMP_SUFFIXES) and '.tmp' in name:
            _remove_quietly(osp.join(folder, name))
            removed.append(name)
    return removed


def check_finite(cell, what='model'):
    """Raise :class:`NonFiniteWeightsError` naming the parameters (BatchNorm statistics
    included) that hold NaN or Inf.

    Args:
        cell (nn.Cell): the network (or the train step with its optimizer state).
        what (str): how messages name it.
    """

    bad = []
    for p in cell.get_parameters():
        value = p.asnumpy()
        if value.dtype.kind == 'f' and not np.isfinite(value).all():
            bad.append(p.name)
    if bad:
        raise NonFiniteWeightsError(
            f'the {what} holds non-finite values in {len(bad)} tensor(s), e.g. '
            f'{", ".join(bad[:3])}: nothing was saved (lower the learning rate or check the data)'
        )


def save_checkpoint_atomic(save_obj, path, append_dict=None):
    """Write a MindSpore checkpoint atomically: a temp file in the same folder, then ``os.replace``.

    ``ms.save_checkpoint`` appends ``.ckpt`` to names that lack it and writes read-only files, so
    the temp name is ``.<name>.<random>.tmp.ckpt``. A crash leaves the previous file intact.

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
    _check_free_space(save_obj, path)
    tmp = _temp_name(path)
    try:
        with _quiet_mindspore():  # its own "Failed to save" line would be a second message
            ms.save_checkpoint(save_obj, tmp, append_dict=append_dict)
        os.replace(tmp, path)
    except Exception as exc:
        raise CheckpointError(f'could not write checkpoint {path}: {_reason(exc)}') from None
    finally:
        _remove_quietly(tmp)
        _remove_quietly(tmp[: -len('.ckpt')] + '.tmp')  # MindSpore's own temp file
    return path


def _check_free_space(save_obj, path):
    """Refuse before writing anything when the folder cannot hold the file."""
    import shutil

    if isinstance(save_obj, list):
        tensors = [item['data'] for item in save_obj]
    elif hasattr(save_obj, 'get_parameters'):
        tensors = list(save_obj.get_parameters())
    else:
        return
    need = sum(int(np.prod(t.shape)) * t.itemsize for t in tensors) + 2**20
    free = shutil.disk_usage(osp.dirname(osp.abspath(path))).free
    if free < need:
        raise CheckpointError(
            f'could not write checkpoint {path}: No space left on device '
            f'(about {need / 2**20:.0f} MB needed, {free / 2**20:.0f} MB free)'
        )


@contextlib.contextmanager
def _quiet_mindspore():
    try:
        from mindspore.log import _get_logger

        ms_logger = _get_logger()
    except (ImportError, AttributeError):
        yield
        return
    was = ms_logger.disabled
    ms_logger.disabled = True
    try:
        yield
    finally:
        ms_logger.disabled = was


def _load(path, choice_func=None):
    """``ms.load_checkpoint`` that names an unreadable file in one line.

    With ``choice_func`` a readable file that holds none of the chosen names gives ``{}``.
    """
    import mindspore as ms

    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    if osp.getsize(path) == 0:
        raise UnreadableCheckpoint(f'{path} is not a readable MindSpore checkpoint (empty file)')
    try:
        return ms.load_checkpoint(path, choice_func=choice_func)
    except Exception as exc:
        if choice_func is not None and 'empty after filter' in str(exc):
            _load(path)  # readable, just without the chosen entries?
            return {}
        raise UnreadableCheckpoint(
            f'{path} is not a readable MindSpore checkpoint (truncated or another format)'
        ) from None


def load_checkpoint_arrays(path):
    """Read a MindSpore checkpoint into ``{name: numpy array}`` (non-tensor entries skipped).

    Args:
        path (str): a ``.ckpt`` file.

    Returns:
        dict: name -> numpy array.

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpoint: not a readable checkpoint.
    """
    params = _load(path)
    return {k: v.asnumpy() for k, v in params.items() if hasattr(v, 'asnumpy') and k != META_KEY}


META_KEY = 'shm_meta'


def read_meta(path):
    """The JSON metadata stored in a shmatting checkpoint (``{}`` if it has none).

    Args:
        path (str): a ``.ckpt`` file.

    Returns:
        dict: e.g. ``epoch``, ``iter``, ``best_score``, ``seed``, ``kind`` ('full' or 'weights').

    Raises:
        FileNotFoundError: no such file.
        UnreadableCheckpoint: not a readable checkpoint.
    """
    import json

    value = _load(path, choice_func=lambda name: name == META_KEY).get(META_KEY)
    if value is None:
        return {}
    try:
        return json.loads(value if isinstance(value, str) else str(value))
    except ValueError:
        raise UnreadableCheckpoint(f'{path}: its metadata is not valid JSON') from None


def save_with_meta(cell, path, meta):
    """Save ``cell``'s parameters plus JSON ``meta`` atomically."""
    import json

    return save_checkpoint_atomic(cell, path, append_dict={META_KEY: json.dumps(meta)})


def find_latest_full_state(work_dir):
    """The newest full-state checkpoint in ``work_dir`` by its metadata (epoch, iter), not its name.

    Args:
        work_dir (str): the run's folder.

    Returns:
        tuple: ``(path or None, unreadable)``, ``unreadable`` listing the ``.ckpt`` files that
        could not be read.
    """
    if not osp.isdir(work_dir):
        return None, []
    best, best_key, unreadable = None, None, []
    for name in sorted(os.listdir(work_dir)):
        if not name.endswith('.ckpt') or name.startswith('.'):
            continue
        path = osp.join(work_dir, name)
        try:
            meta = read_meta(path)
        except (UnreadableCheckpoint, OSError):
            unreadable.append(path)
            continue
        if meta.get('kind') != 'full':
            continue
        key = (meta.get('iter', -1), meta.get('epoch', -1), name != 'latest.ckpt')
        if best_key is None or key > best_key:
            best, best_key = path, key
    return best, unreadable


def renamed_param_prefixes(model):
    """Former -> current parameter-name prefixes declared by the model's cells
    (``renamed_params`` class attributes), so checkpoints with older names still load.

    Args:
        model (nn.Cell): the model.

    Returns:
        dict: ``{'mnet.head.deconv5.': 'mnet.head.conv5.', ...}``.
    """
    renames = {}
    for name, cell in model.cells_and_names():
        for old, new in getattr(type(cell), 'renamed_params', {}).items():
            where = f'{name}.' if name else ''
            renames[where + old] = where + new
    return renames


def _current_name(name, renames):
    for old, new in renames.items():
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def _matching_params(model, path, prefix, renames):
    """The entries of ``path`` under ``prefix`` that the model has: ``(found, unexpected)``."""
    import mindspore as ms

    model_params = {p.name: p for p in model.get_parameters()}
    params = _load(path)
    params.pop(META_KEY, None)
    want = f'{prefix}.' if prefix and not prefix.endswith('.') else prefix
    found, unexpected = {}, []
    for name, value in params.items():
        if not name.startswith(want):
            continue
        current = name if name in model_params else _current_name(name, renames)
        if current not in model_params:
            unexpected.append(name)
            continue
        if tuple(value.shape) != tuple(model_params[current].shape):
            raise ValueError(
                f'load_from: {path}: {name} has shape {tuple(value.shape)}, the '
                f'model expects {tuple(model_params[current].shape)}'
            )
        found[current] = value if current == name else ms.Parameter(value.value(), name=current)
    return found, unexpected


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

    if not isinstance(load_from, (str, dict)):
        raise TypeError(f'load_from must be a path or a dict of prefix -> path, got {load_from!r}')
    sources = {'': load_from} if isinstance(load_from, str) else dict(load_from)
    renames = renamed_param_prefixes(model)
    loaded, unexpected = {}, []
    for prefix, path in sources.items():
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'load_from: checkpoint not found: {path}'
                + (f' (for prefix {prefix!r})' if prefix else '')
            )
        found, extra = _matching_params(model, path, prefix, renames)
        loaded.update(found)
        unexpected += extra
    ms.load_param_into_net(model, loaded)
    prefixes = [f'{p}.' if p and not p.endswith('.') else p for p in sources]
    missing = sorted(
        p.name
        for p in model.get_parameters()
        if p.name not in loaded and any(p.name.startswith(x) for x in prefixes)
    )
    report = dict(loaded=sorted(loaded), missing=missing, unexpected=sorted(unexpected))
    if logger is not None:
        logger.info(
            f'load_from {load_from}: loaded {len(loaded)}, missing {len(missing)}, '
            f'unexpected {len(unexpected)}'
            + (f'; missing e.g. {missing[:3]}' if missing else '')
            + (f'; unexpected e.g. {unexpected[:3]}' if unexpected else '')
        )
    if strict and missing:
        raise KeyError(
            f'load_from (strict): {len(missing)} model parameters not in the '
            f'checkpoint(s), e.g. {missing[:5]}'
        )
    return report
