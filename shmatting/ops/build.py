"""Compile the CPU kernels in ``csrc/`` into a shared library once, cached by content.

The library is built on first use with the system C++ compiler (``$CXX`` or ``g++``) into
``$SHMATTING_KERNEL_CACHE`` (default ``~/.cache/shmatting/kernels``) under a name that hashes the
source, the flags and the compiler version, so an edited source or another compiler builds a new
file and concurrent processes (``msrun`` ranks) never see a half-written one: each compiles to its
own temporary name and renames it into place.
"""

import ctypes
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import tempfile
import threading

__all__ = ['KernelBuildError', 'build_kernel_library', 'SOURCE', 'SYMBOLS']

SOURCE = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'cpu_kernels.cc')
SYMBOLS = (
    'shm_depthwise3x3_s1',
    'shm_depthwise3x3_s1_grad',
    'shm_depthwise3x3_s2',
    'shm_depthwise3x3_s2_grad',
    'shm_upsample_bilinear2x',
    'shm_upsample_bilinear2x_grad',
    'shm_maxpool3x3s2',
    'shm_maxpool3x3s2_grad',
) + tuple(
    f'shm_bn{act}_{kind}'
    for act in ('', '_relu', '_relu6')
    for kind in ('train', 'train_grad', 'infer')
)
_LOCK = threading.Lock()


class KernelBuildError(RuntimeError):
    """The kernel library could not be compiled or loaded (the message says why)."""


def _cpu_flags():
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def compile_flags():
    """Compiler flags: AVX2 + FMA code when this CPU has both, portable code otherwise."""
    flags = ['-O3', '-std=c++14', '-fopenmp-simd', '-pthread', '-shared', '-fPIC']
    if {'avx2', 'fma'} <= _cpu_flags():
        flags += ['-mavx2', '-mfma']
    return flags


def _cache_dir():
    root = os.environ.get('SHMATTING_KERNEL_CACHE') or osp.join(
        osp.expanduser('~'), '.cache', 'shmatting', 'kernels'
    )
    try:
        os.makedirs(root, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    fallback = osp.join(tempfile.gettempdir(), f'shmatting-kernels-{os.getuid()}')
    os.makedirs(fallback, exist_ok=True)
    return fallback


def _compiler_version(compiler):
    try:
        out = subprocess.run([compiler, '--version'], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        raise KernelBuildError(f'C++ compiler {compiler!r} does not run: {err}') from err
    return out.stdout.splitlines()[0] if out.stdout else ''


def _check_loadable(path):
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise KernelBuildError(f'cannot load {path}: {err}') from err
    missing = [name for name in SYMBOLS if not hasattr(lib, name)]
    if missing:
        raise KernelBuildError(f'{path} lacks {", ".join(missing)}')


def build_kernel_library():
    """Return the path of the compiled kernel library, compiling it when it is not cached.

    Returns:
        str: absolute path of the ``.so``.

    Raises:
        KernelBuildError: no compiler, a compile error (its last lines included) or a library
            that does not load.
    """
    compiler = os.environ.get('CXX') or 'g++'
    if shutil.which(compiler) is None:
        raise KernelBuildError(f'no C++ compiler: {compiler!r} is not on PATH (set CXX)')
    flags = compile_flags()
    with open(SOURCE, 'rb') as f:
        source = f.read()
    digest = hashlib.sha256(
        source + ' '.join(flags).encode() + _compiler_version(compiler).encode()
    ).hexdigest()[:16]
    path = osp.join(_cache_dir(), f'shm_cpu_kernels_{digest}.so')
    with _LOCK:
        if not osp.isfile(path):
            tmp = f'{path}.{os.getpid()}.tmp'
            cmd = [compiler, *flags, SOURCE, '-o', tmp]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.SubprocessError) as err:
                raise KernelBuildError(f'{" ".join(cmd)} failed: {err}') from err
            if proc.returncode != 0:
                if osp.exists(tmp):
                    os.remove(tmp)
                tail = ' | '.join(proc.stderr.strip().splitlines()[-3:])
                raise KernelBuildError(
                    f'compiling {SOURCE} failed (exit {proc.returncode}): {tail}'
                )
            os.replace(tmp, path)
        _check_loadable(path)
    return path
