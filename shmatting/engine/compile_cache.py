"""The train step's compile cache, keyed by everything that shapes the compiled graph.

MindSpore's own compile cache (``MS_COMPILER_CACHE_ENABLE``) checks only a hash of the entry
script's imported sources and then loads the N-th graph cached in its directory for the N-th
graph compiled in the process: it serves a graph compiled for another input shape, other
constants or other trainable parameters without a word. Here every cached graph gets a directory
of its own, named by a digest of what determines it (the sources of the project and of any user
module loaded, the config, the step cell's parameters, constants and primitives, the inputs'
shapes and dtypes, the MindSpore version, the environment variables that select kernels). A graph
is written to a temporary directory and published by an atomic rename once its compile has
finished, so an interrupted run leaves nothing a later run could load.

MindSpore fixes the cache directory at the first cached compile of a process and numbers the
graphs cached after it, so one graph per process is cached (the first train step); any later
compile in the same process runs without the cache.
"""

import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import sysconfig
import tempfile
from typing import Any, Iterable, Optional, Tuple

__all__ = [
    'DEFAULT_ROOT',
    'OUTCOMES',
    'cache_root',
    'cached_compile',
    'class_files',
    'compile_step',
    'graph_key',
    'source_files',
]

DEFAULT_ROOT = osp.join(osp.expanduser('~'), '.cache', 'shmatting', 'compile')
_ENV_PREFIXES = ('SHMATTING_', 'ONEDNN_', 'DNNL_', 'MS_DEV_')
_SOURCE_SUFFIXES = ('.py', '.cc', '.h')
_USED: dict = {}  # the directory this process's MindSpore is fixed to, once used


def cache_root(setting: Any) -> Optional[str]:
    """The cache directory a ``context.compile_cache`` setting asks for.

    Args:
        setting: False / None (no cache), True (``$SHMATTING_COMPILE_CACHE`` or
            ``~/.cache/shmatting/compile``) or a directory.

    Returns:
        str | None: an absolute directory, or None for no cache.

    Raises:
        ValueError: any other value.
    """
    if setting is None or setting is False:
        return None
    if setting is True:
        return osp.abspath(os.environ.get('SHMATTING_COMPILE_CACHE') or DEFAULT_ROOT)
    if isinstance(setting, str) and setting.strip():
        return osp.abspath(osp.expanduser(setting))
    raise ValueError(f'context.compile_cache must be True, False or a directory, got {setting!r}')


def _installed_prefixes() -> tuple:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ('stdlib', 'platstdlib', 'purelib', 'platlib')}
    return tuple(osp.realpath(p) + os.sep for p in roots if p)


def source_files() -> list:
    """The source files a compiled graph can depend on: the shmatting package's (Python and the
    kernels' C++) and every loaded module's outside the interpreter's installed packages (the
    entry script, a user's registered modules).

    Returns:
        list[str]: sorted real paths.
    """
    import shmatting

    files = set()
    package = osp.dirname(osp.realpath(shmatting.__file__))
    for folder, _, names in os.walk(package):
        files.update(osp.join(folder, n) for n in names if n.endswith(_SOURCE_SUFFIXES))
    installed = _installed_prefixes()
    for module in list(sys.modules.values()):
        path = getattr(module, '__file__', None)
        if path and path.endswith('.py') and osp.isfile(path):
            path = osp.realpath(path)
            if not path.startswith(installed):
                files.add(path)
    return sorted(files)


def class_files(cell: Any) -> set:
    """The files defining the classes of ``cell``'s tree and their bases, wherever installed (a
    user's backbone from a pip package included).

    Args:
        cell (nn.Cell): the root cell.

    Returns:
        set[str]: real paths.
    """
    files = set()
    for _, sub in cell.cells_and_names():
        for cls in type(sub).__mro__:
            path = getattr(sys.modules.get(cls.__module__), '__file__', None)
            if path and path.endswith('.py'):
                files.add(osp.realpath(path))
    return files


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str, type(None))):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return isinstance(value, (tuple, list)) and all(_plain(v) for v in value)


def _plain_repr(value: Any) -> str:
    if isinstance(value, dict):
        return '{' + ', '.join(f'{k!r}: {_plain_repr(value[k])}' for k in sorted(value)) + '}'
    return repr(value)


def _cell_lines(cell: Any) -> Iterable[str]:
    """What of the cells shapes a graph beyond their code: parameters' names, shapes and dtypes
    (not values: a graph reads them at run time), and every attribute but ``nn.Cell``'s private
    bookkeeping: constant tensors by value, primitives' attributes, plain values."""
    from mindspore import Parameter, Tensor, nn
    from mindspore.ops import Primitive

    # ids, creation times; the graph flags repeat the public ``training``, ``fp16``, ... and
    # appear only once ``set_train`` has run
    bookkeeping = {k for k in vars(nn.Cell()) if k.startswith('_')} | {'_func_graph_flags'}
    for name, param in cell.parameters_and_names():
        yield f'param {name} {tuple(param.shape)} {param.dtype} {param.requires_grad}'
    for prefix, sub in cell.cells_and_names():
        yield f'cell {prefix} {type(sub).__module__}.{type(sub).__qualname__}'
        for key, value in sorted(vars(sub).items()):
            if key in bookkeeping or isinstance(value, Parameter):
                continue
            if isinstance(value, Tensor):
                digest = hashlib.sha256(value.asnumpy().tobytes()).hexdigest()
                yield f'tensor {prefix}.{key} {tuple(value.shape)} {value.dtype} {digest}'
            elif isinstance(value, Primitive):
                attrs = sorted((k, repr(v)) for k, v in value.attrs.items())
                yield f'primitive {prefix}.{key} {value.name} {attrs}'
            elif _plain(value):
                yield f'attr {prefix}.{key} {_plain_repr(value)}'


def graph_key(cell: Any, inputs: Iterable[Any], config_text: str, extra: Iterable[str] = ()) -> str:
    """A digest of everything that determines the graph ``cell`` compiles for ``inputs``.

    Args:
        cell (nn.Cell): the cell to compile.
        inputs (Iterable[Tensor]): its inputs.
        config_text (str): the run's config, without settings that cannot change the graph.
        extra (Iterable[str]): anything else that does (the context, the world size).

    Returns:
        str: a hex digest naming the graph's cache directory.
    """
    import mindspore as ms

    digest = hashlib.sha256()

    def add(line: str) -> None:
        digest.update(line.encode('utf-8', 'replace') + b'\n')

    add(f'mindspore {ms.__version__} python {sys.version}')
    for path in sorted(set(source_files()) | class_files(cell)):
        with open(path, 'rb') as f:
            add(f'source {path} {hashlib.sha256(f.read()).hexdigest()}')
    add(config_text)
    for key in sorted(os.environ):
        if key.startswith(_ENV_PREFIXES):
            add(f'env {key}={os.environ[key]}')
    for line in extra:
        add(line)
    for i, x in enumerate(inputs):
        add(f'input {i} {tuple(x.shape)} {x.dtype}')
    for line in _cell_lines(cell):
        add(line)
    return digest.hexdigest()


def _entry_script() -> bool:
    """Whether MindSpore's cache can hash this process's entry script (it parses
    ``sys.argv[0]`` and fails the compile when that is not a file)."""
    return bool(sys.argv and sys.argv[0] and osp.isfile(osp.realpath(sys.argv[0])))


def _has_graph(path: str, rank: int) -> bool:
    """Whether ``path`` holds a graph for ``rank`` (MindSpore prefixes the file with the
    process's role under msrun: ``MS_WORKERcompile_cache_0.mindir``)."""
    folder = osp.join(path, f'rank_{rank}', 'graph_cache')
    return osp.isdir(folder) and any(
        n.endswith('compile_cache_0.mindir') for n in os.listdir(folder)
    )


def _publish(tmp: str, final: str, rank: int) -> bool:
    """Move a freshly written graph from ``tmp`` to ``final`` (an atomic rename: a reader sees
    all of it or nothing; when two processes race, the first one's stays).

    Returns:
        bool: whether ``final`` now holds a graph for ``rank``.
    """
    if _has_graph(tmp, rank):
        try:
            os.makedirs(final, exist_ok=True)
            os.rename(osp.join(tmp, f'rank_{rank}'), osp.join(final, f'rank_{rank}'))
        except OSError:  # published by another process meanwhile, or the disk is full
            pass
    return _has_graph(final, rank)


# what compile_step / cached_compile did, for the log
OUTCOMES = {
    'off': 'compiled',
    'hit': 'loaded from the compile cache',
    'stored': 'compiled and cached',
    'not-stored': 'compiled (MindSpore wrote no cache file)',
    'used': 'compiled (this process has used the compile cache for another graph)',
    'no-script': 'compiled (the compile cache needs the entry script as a file)',
    'unwritable': 'compiled (the compile cache directory cannot be written)',
}


def cached_compile(cell: Any, inputs: tuple, root: str, key: str, rank: int = 0) -> str:
    """Compile ``cell`` for ``inputs`` through the cache under ``root``.

    Args:
        cell (nn.Cell): the cell (GRAPH mode).
        inputs (tuple): its inputs.
        root (str): the cache directory.
        key (str): :func:`graph_key` of the cell and inputs.
        rank (int): this process's rank (MindSpore keeps each rank's graph apart).

    Returns:
        str: a key of :data:`OUTCOMES`. ``'used'``: this process already cached another graph;
        ``'no-script'``: MindSpore's cache parses the entry script (``sys.argv[0]``), and
        ``python -c`` has none; ``'unwritable'``: ``root`` cannot be created or written.
    """
    if _USED or not _entry_script():
        cell.compile(*inputs)
        return 'used' if _USED else 'no-script'
    final = osp.join(root, key)
    hit = _has_graph(final, rank)
    try:
        os.makedirs(root, exist_ok=True)
        path = final if hit else tempfile.mkdtemp(prefix=f'{key[:16]}.tmp', dir=root)
    except OSError:  # a cache that cannot be written never stops a run
        cell.compile(*inputs)
        return 'unwritable'
    _USED['path'] = path
    os.environ.update(MS_COMPILER_CACHE_ENABLE='1', MS_COMPILER_CACHE_PATH=path)
    try:
        cell.compile(*inputs)
    finally:
        # MindSpore stays fixed to this graph's directory: later compiles must not use it
        os.environ['MS_COMPILER_CACHE_ENABLE'] = '0'
        if not hit:
            stored = _publish(path, final, rank)
            shutil.rmtree(path, ignore_errors=True)
    return 'hit' if hit else ('stored' if stored else 'not-stored')


def compile_step(
    cell: Any,
    inputs: tuple,
    root: Optional[str],
    config: dict,
    extra: Iterable[str] = (),
    rank: int = 0,
) -> Tuple[str, Optional[str]]:
    """Compile ``cell`` for ``inputs``, through the cache under ``root`` when there is one.

    Args:
        cell (nn.Cell): the cell (GRAPH mode).
        inputs (tuple): its inputs.
        root (str, optional): the cache directory (``context.compile_cache`` as
            :func:`~shmatting.engine.context.apply_context` resolves it); None: no cache.
        config (dict): the run's config, without settings that cannot change the graph.
        extra (Iterable[str]): anything else that does (the context, the world size).
        rank (int): this process's rank.

    Returns:
        tuple[str, str | None]: a key of :data:`OUTCOMES` (``'off'`` without a cache) and the
        graph's cache directory.
    """
    if root is None:
        cell.compile(*inputs)
        return 'off', None
    text = json.dumps(config, sort_keys=True, default=repr)
    key = graph_key(cell, inputs, text, extra)
    return cached_compile(cell, inputs, root, key, rank), osp.join(root, key)
