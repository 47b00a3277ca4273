"""Compile the CPU kernels in ``csrc/`` into shared libraries once, cached by content.

Two libraries: ``core`` (``cpu_kernels.cc``: depthwise, upsampling, BatchNorm, pooling; needs only
a C++ compiler) and ``dnnl`` (``dnnl_conv.cc``: dense convolutions on oneDNN, linked against the
``libdnnl.so.3`` that MindSpore ships, compiled with the oneDNN headers of PyPI's
``onednn-devel``). Each is built on first use with the system C++ compiler (``$CXX`` or ``g++``)
into ``$SHMATTING_KERNEL_CACHE`` (default ``~/.cache/shmatting/kernels``) under a name that hashes
the source, the flags, the compiler version (and the oneDNN headers and library), so an edited
source or another compiler builds a new file and concurrent processes (``msrun`` ranks) never see
a half-written one: each compiles to its own temporary name and renames it into place.
"""

import ctypes
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from typing import Optional

__all__ = [
    'KernelBuildError',
    'build_kernel_library',
    'onednn_paths',
    'private_onednn',
    'SOURCE',
    'SYMBOLS',
    'DNNL_SOURCE',
    'DNNL_SYMBOLS',
]

_CSRC = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc')
SOURCE = osp.join(_CSRC, 'cpu_kernels.cc')
DNNL_SOURCE = osp.join(_CSRC, 'dnnl_conv.cc')
HEADERS = tuple(
    osp.join(_CSRC, name)
    for name in (
        'batch_norm.h',
        'softmax.h',
        'direct_conv.h',
        'few_channel_conv.h',
        'depthwise.h',
        'depthwise_grad.h',
        'depthwise_padded.h',
        'inverted_residual.h',
        'max_pool_grad.h',
        'small_k_gemm.h',
        'tile_weight_grad.h',
        'thread_pool.h',
    )
)
SYMBOLS = (
    (
        'shm_depthwise3x3_s1',
        'shm_depthwise3x3_s1_grad',
        'shm_depthwise3x3_s2',
        'shm_depthwise3x3_s2_grad',
        'shm_upsample_bilinear2x',
        'shm_upsample_bilinear2x_grad',
        'shm_maxpool3x3s2',
        'shm_maxpool3x3s2_grad',
        'shm_softmax_channels',
        'shm_softmax_channels_grad',
        'shm_softmax_nll',
        'shm_softmax_nll_grad',
    )
    + tuple(
        f'shm_depthwise3x3_s{stride}_bias{act}'
        for stride in (1, 2)
        for act in ('', '_relu', '_relu6')
    )
    + tuple(
        f'shm_bn{act}_{kind}'
        for act in ('', '_relu', '_relu6')
        for kind in ('train', 'add_train', 'train_grad', 'infer')
    )
    + tuple(
        f'shm_bn{act}_depthwise3x3_s{stride}_{kind}'
        for act in ('', '_relu', '_relu6')
        for stride in (1, 2)
        for kind in ('train', 'train_grad')
    )
)
DNNL_SYMBOLS = (
    (
        'shm_conv_same',
        'shm_dnnl_effective_isa',
        'shm_dnnl_gemm_isa',
        'shm_dnnl_pool_spin_ns',
        'shm_dnnl_spin_ns_for',
        'shm_conv_same_grad',
        'shm_conv_same_biased',
        'shm_conv_same_biased_grad',
        'shm_deconv_s2',
        'shm_deconv_s2_grad',
        'shm_conv_same_bias',
        'shm_conv_same_bias_relu',
        'shm_conv_same_bias_relu6',
    )
    + tuple(
        f'shm_bn{act}_conv1x1_{kind}'
        for act in ('', '_relu', '_relu6')
        for kind in ('train', 'train_grad')
    )
    + tuple(
        f'shm_inverted_residual_s{stride}{res}{act}'
        for stride, res in ((1, ''), (1, '_res'), (2, ''))
        for act in ('', '_relu', '_relu6')
    )
)
_THREADPOOL_RUNTIME = 8  # DNNL_RUNTIME_THREADPOOL
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


AVX512 = {'avx512f', 'avx512vl', 'avx512bw', 'avx512dq'}
KERNEL_ISAS = ('AVX512_CORE', 'AVX2')


def kernel_isa() -> str:
    """The highest instruction set the kernels may use, from ``SHMATTING_KERNEL_ISA``.

    Both libraries' compile flags and the ``dnnl`` kernels' oneDNN cap follow it (the cap is
    compiled in, so the library's name changes with it).

    Returns:
        str: ``'AVX512_CORE'`` (the default; AVX2 on CPUs without AVX-512) or ``'AVX2'``.

    Raises:
        KernelBuildError: any other value.
    """
    value = os.environ.get('SHMATTING_KERNEL_ISA', KERNEL_ISAS[0]).upper()
    if value not in KERNEL_ISAS:
        raise KernelBuildError(
            f'SHMATTING_KERNEL_ISA must be one of {", ".join(KERNEL_ISAS)}, got {value!r}'
        )
    return value


def kernel_gemm_isa() -> str:
    """The instruction set of the BatchNorm + 1x1 training kernels' GEMMs, from
    ``SHMATTING_KERNEL_GEMM_ISA`` (compiled into the ``dnnl`` library, like :func:`kernel_isa`).

    Returns:
        str: ``'AUTO'`` (the default) or ``'AVX512_CORE'``, the same library: the kernels' own
        oneDNN (AVX-512 where the CPU has it); ``'AVX2'``: MindSpore's copy, capped at AVX2.

    Raises:
        KernelBuildError: any other value.
    """
    value = os.environ.get('SHMATTING_KERNEL_GEMM_ISA', 'AUTO').upper()
    if value not in ('AUTO',) + KERNEL_ISAS:
        raise KernelBuildError(
            f'SHMATTING_KERNEL_GEMM_ISA must be one of AUTO, {", ".join(KERNEL_ISAS)}, '
            f'got {value!r}'
        )
    return value


MAX_SPIN_US = 1e6  # one second; the library clamps to it as well (csrc/thread_pool.h)


def kernel_spin_us() -> Optional[float]:
    """``SHMATTING_KERNEL_SPIN_US``: how long the ``dnnl`` library's idle pool threads poll for
    work before sleeping (read by the library when its pool starts; not compiled in).

    Returns:
        float or None: the microseconds (0: never poll), or None when unset (the library's rule:
        100 us, none when its threads outnumber the process's CPUs or beside other launcher
        ranks; ``csrc/thread_pool.h``).

    Raises:
        KernelBuildError: a value that is not a number from 0 to :data:`MAX_SPIN_US`.
    """
    value = os.environ.get('SHMATTING_KERNEL_SPIN_US')
    if value is None:
        return None
    try:
        us = float(value)
    except ValueError:
        us = -1.0
    if not 0 <= us <= MAX_SPIN_US:
        raise KernelBuildError(
            f'SHMATTING_KERNEL_SPIN_US must be a number of microseconds from 0 to '
            f'{MAX_SPIN_US:g}, got {value!r}'
        )
    return us


def compile_flags():
    """Compiler flags: AVX-512 code when this CPU has it (unless ``kernel_isa()`` is AVX2), else
    AVX2 + FMA code when it has both, else portable code."""
    flags = ['-O3', '-std=c++14', '-fopenmp-simd', '-pthread', '-shared', '-fPIC']
    cpu, isa = _cpu_flags(), kernel_isa()  # the setting is checked on every CPU
    if {'avx2', 'fma'} <= cpu:
        flags += ['-mavx2', '-mfma']
    if AVX512 <= cpu and isa == 'AVX512_CORE':
        flags += [f'-m{name}' for name in sorted(AVX512)] + ['-mprefer-vector-width=512']
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


def _check_loadable(path, symbols):
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise KernelBuildError(f'cannot load {path}: {err}') from err
    missing = [name for name in symbols if not hasattr(lib, name)]
    if missing:
        raise KernelBuildError(f'{path} lacks {", ".join(missing)}')


class _DnnlVersion(ctypes.Structure):
    _fields_ = [
        ('major', ctypes.c_int),
        ('minor', ctypes.c_int),
        ('patch', ctypes.c_int),
        ('hash', ctypes.c_char_p),
        ('cpu_runtime', ctypes.c_uint),
        ('gpu_runtime', ctypes.c_uint),
    ]


def _onednn_include():
    candidates = [os.environ.get('SHMATTING_ONEDNN_INCLUDE', '')]
    candidates += [osp.join(sysconfig.get_path('data'), 'include'), osp.join(sys.prefix, 'include')]
    candidates += ['/usr/local/include', '/usr/include']
    for root in candidates:
        if root and osp.isfile(osp.join(root, 'oneapi', 'dnnl', 'dnnl.hpp')):
            return root
    raise KernelBuildError(
        "oneDNN headers not found (pip install 'onednn-devel-cpu-gomp>=2023.2,<2024', or set "
        'SHMATTING_ONEDNN_INCLUDE to the folder holding oneapi/dnnl/dnnl.hpp)'
    )


def onednn_paths():
    """The oneDNN headers and MindSpore's oneDNN library the ``dnnl`` kernels are built with.

    Returns:
        tuple[str, str, str]: include folder, library path, and ``major.minor.patch`` of the
        library.

    Raises:
        KernelBuildError: headers not found, or a library that is not oneDNN 3 with the
            THREADPOOL CPU runtime.
    """
    import mindspore

    include = _onednn_include()
    lib = osp.join(osp.dirname(mindspore.__file__), 'lib', 'libdnnl.so.3')
    if not osp.isfile(lib):
        raise KernelBuildError(f'MindSpore ships no oneDNN library here ({lib} not found)')
    v = _library_version(lib)
    if v.major != 3 or v.cpu_runtime != _THREADPOOL_RUNTIME:
        raise KernelBuildError(
            f'{lib} is oneDNN {v.major}.{v.minor} with CPU runtime {v.cpu_runtime}; the '
            f'convolution kernels need oneDNN 3 with the THREADPOOL runtime ({_THREADPOOL_RUNTIME})'
        )
    header_minor, lib_minor = _header_minor(include), _library_minor(lib)
    if lib_minor >= 11 > header_minor:
        # oneDNN 3.11 added threadpool_iface::wait(); a pool compiled without it would be called
        # through the wrong virtual slot
        raise KernelBuildError(
            f'the oneDNN headers in {include} (3.{header_minor}) are older than 3.11 but {lib} is '
            f'3.{lib_minor}: install newer headers (onednn-devel) or set SHMATTING_ONEDNN_INCLUDE'
        )
    return include, lib, f'{v.major}.{v.minor}.{v.patch}'


def _library_version(lib):
    dnnl = ctypes.CDLL(lib)
    dnnl.dnnl_version.restype = ctypes.POINTER(_DnnlVersion)
    return dnnl.dnnl_version().contents


def _library_minor(lib):
    return _library_version(lib).minor


def _header_minor(include):
    with open(osp.join(include, 'oneapi', 'dnnl', 'dnnl_version.h'), encoding='utf-8') as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[:2] == ['#define', 'DNNL_VERSION_MINOR']:
                return int(parts[2])
    raise KernelBuildError(f'no DNNL_VERSION_MINOR in {include}/oneapi/dnnl/dnnl_version.h')


PRIVATE_ONEDNN = 'libdnnp.so.3'  # as long as libdnnl.so.3: the soname is replaced in place


def private_onednn(lib: str) -> str:
    """A copy of MindSpore's oneDNN under a soname of its own, for the ``dnnl`` kernels alone.

    oneDNN's instruction-set cap is one setting per loaded library. MindSpore's convolutions need
    it at AVX2 (``ONEDNN_MAX_CPU_ISA``); linked to this copy, loaded beside MindSpore's (which is
    not in the process's global symbol scope), the kernels set their own (AVX-512 where the CPU
    has it). The copy is made once per library file, in the kernel cache.

    Args:
        lib (str): MindSpore's ``libdnnl.so.3``.

    Returns:
        str: the copy's path (its folder goes into the kernels' rpath).

    Raises:
        KernelBuildError: the soname is not found exactly once, or the copy cannot be written.
    """
    stat = os.stat(lib)
    folder = osp.join(_cache_dir(), f'onednn_{stat.st_size}_{int(stat.st_mtime)}')
    path = osp.join(folder, PRIVATE_ONEDNN)
    if osp.isfile(path):
        return path
    with open(lib, 'rb') as f:
        data = f.read()
    old = osp.basename(lib).encode() + b'\0'
    if data.count(old) != 1 or len(old) != len(PRIVATE_ONEDNN) + 1:
        raise KernelBuildError(f'{lib}: its soname {old[:-1].decode()} is not found exactly once')
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = f'{path}.{os.getpid()}.tmp'
        with open(tmp, 'wb') as f:
            f.write(data.replace(old, PRIVATE_ONEDNN.encode() + b'\0'))
        os.replace(tmp, path)
    except OSError as err:
        raise KernelBuildError(f'cannot write a private copy of {lib}: {err}') from err
    return path


def _dnnl_link_flags(lib):
    """Link flags: the private copy of MindSpore's oneDNN, or MindSpore's own file when no copy
    can be made (the kernels then keep MindSpore's AVX2 cap)."""
    gemm = kernel_gemm_isa()
    try:
        cap = ['-DSHM_KERNEL_ISA_AVX2'] if kernel_isa() == 'AVX2' else []
        cap += ['-DSHM_GEMM_ISA_AVX2'] if gemm == 'AVX2' else []  # AVX512_CORE: as AUTO
        lib, private = private_onednn(lib), ['-DSHM_PRIVATE_ONEDNN', *cap]
    except KernelBuildError as err:
        print(f'shmatting: {err}; the oneDNN kernels stay on AVX2', file=sys.stderr)
        private = []
    # -ldl: the training GEMMs look up MindSpore's copy (dlopen; in libc since glibc 2.34)
    return [*private, lib, f'-Wl,-rpath,{osp.dirname(lib)}', '-ldl']


def _library_spec(kind):
    """(source, symbols, extra flags, fingerprint) of the ``core`` or ``dnnl`` library."""
    if kind == 'core':
        return SOURCE, SYMBOLS, [], ''
    if kind != 'dnnl':
        raise ValueError(f"kernel library must be 'core' or 'dnnl', got {kind!r}")
    include, lib, version = onednn_paths()
    with open(osp.join(include, 'oneapi', 'dnnl', 'dnnl_version.h'), 'rb') as f:
        headers = f.read()
    kernel_spin_us()  # read by the library at run time: refused here, before it loads
    flags = ['-std=c++17', f'-I{include}', *_dnnl_link_flags(lib)]
    fingerprint = f'{lib} {version} ' + hashlib.sha256(headers).hexdigest()
    return DNNL_SOURCE, DNNL_SYMBOLS, flags, fingerprint


def _compile(compiler, cmd, tmp, source):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as err:
        raise KernelBuildError(f'{" ".join(cmd)} failed: {err}') from err
    if proc.returncode != 0:
        if osp.exists(tmp):
            os.remove(tmp)
        tail = ' | '.join(proc.stderr.strip().splitlines()[-3:])
        raise KernelBuildError(f'compiling {source} failed (exit {proc.returncode}): {tail}')


def build_kernel_library(kind: str = 'core') -> str:
    """Return the path of a compiled kernel library, compiling it when it is not cached.

    Args:
        kind (str): ``'core'`` (depthwise, upsampling, BatchNorm, pooling) or ``'dnnl'`` (dense
            convolutions on oneDNN).

    Returns:
        str: absolute path of the ``.so``.

    Raises:
        KernelBuildError: no compiler, no oneDNN headers (``dnnl``), a compile error (its last
            lines included) or a library that does not load.
    """
    compiler = os.environ.get('CXX') or 'g++'
    if shutil.which(compiler) is None:
        raise KernelBuildError(f'no C++ compiler: {compiler!r} is not on PATH (set CXX)')
    source, symbols, extra, fingerprint = _library_spec(kind)
    version = _compiler_version(compiler)
    flags = compile_flags()
    if 'clang' not in version.lower():
        # GCC makes an inline function's statics (the kernels' thread-local scratch) unique across
        # every library loaded into the process: two builds (kernel_builds_ab.py) would share them
        flags.append('-fno-gnu-unique')
    text = b''
    for path in (source, *HEADERS):  # a header both libraries include counts for both
        with open(path, 'rb') as f:
            text += f.read()
    digest = hashlib.sha256(
        text + ' '.join(flags + extra).encode() + version.encode() + fingerprint.encode()
    ).hexdigest()[:16]
    stem = 'shm_cpu_kernels' if kind == 'core' else 'shm_dnnl_conv'
    path = osp.join(_cache_dir(), f'{stem}_{digest}.so')
    with _LOCK:
        if not osp.isfile(path):
            tmp = f'{path}.{os.getpid()}.tmp'
            # flags after the source: a library named by path must follow what uses it
            _compile(compiler, [compiler, *flags, source, *extra, '-o', tmp], tmp, source)
            os.replace(tmp, path)
        _check_loadable(path, symbols)
    return path
