"""The MindSpore context of a run: device, execution mode, recomputation."""

import difflib
from typing import Any, Iterable, Optional

from .compile_cache import cache_root

__all__ = [
    'apply_context',
    'apply_launch_blocking',
    'apply_memory_pool',
    'apply_recompute',
    'resolve_device_target',
    'set_device',
    'CONTEXT_KEYS',
]

# the context keys and their defaults (a config's ``context`` overrides any of them)
CONTEXT_DEFAULTS = dict(
    mode='GRAPH',
    device_target='auto',
    device_id=None,
    jit_level=None,
    precision_mode=None,
    save_graphs=False,
    save_graphs_path=None,
    memory_pool=None,
    compile_cache=False,
    launch_blocking=None,
)
CONTEXT_KEYS = tuple(CONTEXT_DEFAULTS)
POOL_KEYS = ('init_size', 'increase_size', 'max_size', 'optimize_level')
_APPLIED_POOL: dict = {}  # ``mindspore.runtime.set_memory`` takes effect once per process


def resolve_device_target(target: str) -> str:
    """``'auto'`` -> Ascend, GPU or CPU, whichever this MindSpore build can use.

    Args:
        target (str): ``'auto'``, ``'CPU'``, ``'GPU'`` or ``'Ascend'``.

    Returns:
        str: a concrete device target.
    """
    if target not in ('auto', 'CPU', 'GPU', 'Ascend'):
        raise ValueError(f'device_target must be auto, CPU, GPU or Ascend, got {target!r}')
    if target != 'auto':
        return target
    import mindspore as ms

    for candidate in ('Ascend', 'GPU'):
        try:
            if ms.hal.is_available(candidate):
                return candidate
        except Exception:
            continue
    return 'CPU'


def set_device(target: str, device_id: Optional[int] = None) -> None:
    """``ms.set_device`` that tolerates a process whose runtime already runs on ``target``.

    Args:
        target (str): a concrete device target.
        device_id (int, optional): the device index.
    """
    import mindspore as ms

    try:
        if device_id is None:
            ms.set_device(target)
        else:
            ms.set_device(target, int(device_id))
    except RuntimeError as exc:
        if ms.get_context('device_target') != target:
            raise RuntimeError(f'cannot switch this process to {target}: {exc}') from None


def apply_memory_pool(pool: Optional[dict]) -> None:
    """``context.memory_pool``: MindSpore's memory pool sizes (``mindspore.runtime.set_memory``).

    The pool grows by ``increase_size`` whenever a step's tensors do not fit where they are
    placed, and the process keeps what it grew: a smaller growth step can leave a lower peak
    (docs/performance.md has the measurements). MindSpore takes the setting once per process, so
    the same setting again is a no-op and a different one an error.

    Args:
        pool (dict, optional): any of ``init_size``, ``increase_size``, ``max_size`` (strings such
            as ``'0.25GB'``) and ``optimize_level`` (``'O0'`` or ``'O1'``); None: MindSpore's
            defaults.

    Raises:
        KeyError: an unknown key.
        ValueError: a value MindSpore does not accept.
        RuntimeError: a different setting than the one this process already applied.
    """
    if not pool:
        return
    unknown = set(pool) - set(POOL_KEYS)
    if unknown:
        raise KeyError(
            f'context.memory_pool: unknown keys {sorted(unknown)}; use {list(POOL_KEYS)}'
        )
    settings = {key: str(value) for key, value in pool.items()}
    if _APPLIED_POOL:
        if settings != _APPLIED_POOL:
            raise RuntimeError(
                f'context.memory_pool is applied once per process: already {_APPLIED_POOL}, '
                f'now asked for {settings}'
            )
        return
    import mindspore as ms

    try:
        ms.runtime.set_memory(**settings)
    except ValueError as exc:
        raise ValueError(f'context.memory_pool: {exc}') from None
    _APPLIED_POOL.update(settings)


def apply_launch_blocking(setting: Optional[bool], device_target: str, mode: str) -> bool:
    """``context.launch_blocking``: run each operator to completion before the next one is sent.

    MindSpore launches operators asynchronously by default: the Python thread queues each
    operator to dispatch threads that launch it. On a CPU those threads compete with the
    operators' own thread pool for the same cores, and a PyNative training step of the e2e
    network took 1.4x (two cores) to 3.3x (one core) as long as with blocking launches
    (docs/performance.md, "PyNative on CPU"); GRAPH mode, one launch per step, measured the
    same either way. MindSpore reads the setting once, before its first operator runs; a later
    call has no effect.

    Args:
        setting (bool, optional): True / False; None: blocking in PyNative mode on CPU (an
            accelerator gains from launching ahead).
        device_target (str): the resolved device target.
        mode (str): ``'GRAPH'`` or ``'PYNATIVE'``.

    Returns:
        bool: whether blocking launches were asked for.
    """
    if setting not in (None, True, False):
        raise ValueError(f'context.launch_blocking must be None, True or False, got {setting!r}')
    auto = device_target == 'CPU' and mode == 'PYNATIVE'
    blocking = auto if setting is None else setting
    if blocking:
        import mindspore as ms

        ms.runtime.launch_blocking()
    return blocking


def apply_context(
    context: Optional[dict],
    device_target: Optional[str] = None,
    deterministic: bool = False,
    launcher: str = 'none',
) -> dict:
    """Apply ``context=dict(mode, device_target, device_id, jit_level, precision_mode,
    save_graphs, memory_pool, compile_cache, launch_blocking)``.

    ``precision_mode`` is the Ascend operators' automatic precision (the model zoo's
    ``context.precision_mode``, e.g. ``'allow_fp32_to_fp16'``); it is applied on Ascend only.
    ``save_graphs`` (the zoo's ``saveIRFlag``) dumps MindSpore's IR graphs to
    ``save_graphs_path`` (``True`` or a level 1-3). ``compile_cache`` (True or a directory) keeps
    the compiled train step for later runs of the same graph (:mod:`.compile_cache`); the
    returned context holds its directory (None: no cache). ``launch_blocking`` (None: in PyNative
    mode on CPU): see :func:`apply_launch_blocking`.

    Args:
        context (dict, optional): the config's ``context``.
        device_target (str, optional): overrides ``context.device_target``.
        deterministic (bool): ask MindSpore for deterministic kernels.
        launcher (str): the rank-table launch binds the device itself.

    Returns:
        dict: the context actually applied (for the log).
    """
    import mindspore as ms

    ctx = dict(CONTEXT_DEFAULTS)
    unknown = set(context or {}) - set(ctx)
    if unknown:
        raise KeyError(f'context: unknown keys {sorted(unknown)}; use {sorted(ctx)}')
    ctx.update(context or {})
    if device_target:
        ctx['device_target'] = device_target
    ctx['device_target'] = resolve_device_target(ctx['device_target'])
    mode = str(ctx['mode']).upper()
    if mode not in ('GRAPH', 'PYNATIVE'):
        raise ValueError(f"context.mode must be 'GRAPH' or 'PYNATIVE', got {ctx['mode']!r}")
    if launcher != 'rank_table':  # the rank-table launch binds DEVICE_ID itself
        set_device(ctx['device_target'], ctx['device_id'])
    kwargs = dict(mode=ms.GRAPH_MODE if mode == 'GRAPH' else ms.PYNATIVE_MODE)
    if ctx['jit_level']:
        kwargs['jit_config'] = {'jit_level': ctx['jit_level']}
    if deterministic:
        kwargs['deterministic'] = 'ON'
    if ctx['save_graphs']:
        kwargs['save_graphs'] = int(ctx['save_graphs'])
        if ctx['save_graphs_path']:
            kwargs['save_graphs_path'] = str(ctx['save_graphs_path'])
    ms.set_context(**kwargs)
    ctx['launch_blocking'] = apply_launch_blocking(
        ctx['launch_blocking'], ctx['device_target'], mode
    )
    apply_memory_pool(ctx['memory_pool'])
    ctx['compile_cache'] = cache_root(ctx['compile_cache'])  # the directory, or None
    if ctx['precision_mode'] and ctx['device_target'] == 'Ascend':
        ms.device_context.ascend.op_precision.precision_mode(ctx['precision_mode'])
    ctx['mode'] = mode
    return ctx


def apply_recompute(model: Any, names: Optional[Iterable[str]]) -> None:
    """Recompute the activations of the named sub-cells in the backward pass (less memory).

    Args:
        model (nn.Cell): the model.
        names (list[str] | None): cell names such as ``'tnet.backbone.block_2'``.
    """
    if not names:
        return
    cells = dict(model.cells_and_names())
    for name in names:
        if name not in cells:
            close = difflib.get_close_matches(name, list(cells), n=3)
            raise KeyError(
                f'recompute: no cell named {name!r}'
                + (f' (did you mean {", ".join(close)}?)' if close else '')
            )
        cells[name].recompute()
