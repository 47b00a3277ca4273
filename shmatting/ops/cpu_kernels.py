"""When to use the CPU kernels, and the MindSpore ``Custom`` operators that run them.

``SHMATTING_CPU_KERNELS`` chooses: ``auto`` (default: use them on the CPU target when they
compile, otherwise warn once and fall back to MindSpore's own operators), ``1`` (require them: a
build failure is an error) or ``0`` (never). The kernels compute the same function as the
operators they replace (the parity tests run through them); they are a speed choice only. Exported
MINDIR/ONNX files never contain them (``tools/export_mindir.py`` switches them off first), so an
exported model runs wherever MindSpore runs.
"""

import ctypes
import os
import warnings
from typing import Any, Callable, Optional, Tuple

import mindspore as ms
from mindspore import Tensor, ops

from .build import KernelBuildError, build_kernel_library

__all__ = [
    'cpu_kernel_mode',
    'cpu_kernels_enabled',
    'cpu_kernel_status',
    'depthwise3x3_op',
    'depthwise3x3_bias_act_op',
    'upsample_bilinear2x_op',
    'batch_norm_act_ops',
    'batch_norm_act_depthwise_op',
    'batch_norm_act_conv1x1_op',
    'maxpool3x3s2_op',
    'conv_same_op',
    'deconv_s2_op',
    'conv_same_bias_act_op',
    'softmax_channels_op',
    'softmax_nll_op',
    'set_cpu_kernels',
    'inverted_residual_op',
    'parse_kernel_kinds',
    'KERNEL_KINDS',
]

_MODES = ('auto', '0', '1')
# which library each kind of layer needs: dense convolutions run on oneDNN ('dnnl'), the rest on
# the project's own loops ('core')
KERNEL_KINDS = ('depthwise', 'upsample', 'norm', 'pool', 'conv', 'softmax')
_LIBRARY_OF = {'conv': 'dnnl'}
_STATE = {lib: {'path': None, 'error': None, 'warned': False} for lib in ('core', 'dnnl')}


def cpu_kernel_mode():
    """``SHMATTING_CPU_KERNELS`` (``auto``, ``0`` or ``1``), validated."""
    mode = os.environ.get('SHMATTING_CPU_KERNELS', 'auto').strip().lower() or 'auto'
    if mode not in _MODES:
        raise ValueError(f'SHMATTING_CPU_KERNELS must be one of {", ".join(_MODES)}, got {mode!r}')
    return mode


def _library(lib='core'):
    state = _STATE[lib]
    if state['path'] is None and state['error'] is None:
        try:
            state['path'] = build_kernel_library(lib)
        except KernelBuildError as err:
            state['error'] = str(err)
    return state['path']


def cpu_kernels_enabled(kind=None):
    """Whether new layers (of ``kind``) should use the CPU kernels (CPU target, mode and a
    working build of the library that kind needs).

    Args:
        kind (str, optional): one of :data:`KERNEL_KINDS`; None: the ``core`` library's kinds.

    Returns:
        bool: True to use them.

    Raises:
        RuntimeError: ``SHMATTING_CPU_KERNELS=1`` and the library cannot be built.
    """
    mode = cpu_kernel_mode()
    if mode == '0' or ms.get_context('device_target') != 'CPU':
        return False
    lib = _LIBRARY_OF.get(kind, 'core')
    if _library(lib) is not None:
        return True
    state = _STATE[lib]
    if mode == '1':
        raise RuntimeError(
            f'SHMATTING_CPU_KERNELS=1 but the CPU kernels are unavailable: {state["error"]}'
        )
    if not state['warned']:
        state['warned'] = True
        warnings.warn(
            f'shmatting CPU kernels unavailable, using MindSpore operators '
            f'(slower): {state["error"]}',
            RuntimeWarning,
            stacklevel=2,
        )
    return False


def cpu_kernel_status():
    """One line for environment reports: the mode and each library's path or build error."""
    mode = cpu_kernel_mode()
    if mode == '0':
        return 'off (SHMATTING_CPU_KERNELS=0)'
    parts = []
    for lib in ('core', 'dnnl'):
        path = _library(lib)
        parts.append(f'{lib} {path}' if path else f'{lib} unavailable ({_STATE[lib]["error"]})')
    if _STATE['dnnl']['path']:
        pointwise = 'the kernels' if pointwise_convs_on_kernels() else "MindSpore's Conv2D"
        parts[-1] += (
            f' (oneDNN on {dnnl_kernel_isa()}, training GEMMs on {dnnl_gemm_isa()}, '
            f'1x1 convolutions on {pointwise}, idle threads poll {dnnl_pool_spin_us():g} us)'
        )
    return f'{mode}: ' + '; '.join(parts)


def _dnnl_entry(name: str, restype: type, build: bool) -> Optional[Callable]:
    """The ``dnnl`` library's C function ``name`` (it is already loaded by MindSpore when a layer
    ran: the same handle), or None without the library; ``build=False`` never compiles it."""
    path = _library('dnnl') if build else _STATE['dnnl']['path']
    if path is None:
        return None
    fn = getattr(ctypes.CDLL(path), name)
    fn.restype = restype
    return fn


def dnnl_kernel_isa() -> str:
    """The instruction set the oneDNN kernels run on (their own copy of oneDNN's setting).

    Returns:
        str: ``'avx512_core'``, ``'avx2'``, another ISA's ``dnnl_cpu_isa_t`` value in hex, or
        ``'unavailable'`` without the ``dnnl`` library.
    """
    fn = _dnnl_entry('shm_dnnl_effective_isa', ctypes.c_int, build=True)
    if fn is None:
        return 'unavailable'
    return _isa_name(fn())


def _isa_name(isa: int) -> str:
    """A ``dnnl_cpu_isa_t`` value's name (the two the kernels use) or its hex value."""
    return {0x7: 'avx2', 0x27: 'avx512_core'}.get(isa, hex(isa))


def dnnl_gemm_isa() -> str:
    """The instruction set of the BatchNorm + 1x1 training kernels' GEMMs.

    They run on the kernels' own oneDNN (AVX-512 where the CPU has it, AMD Zen 4 included);
    ``SHMATTING_KERNEL_GEMM_ISA=AVX2`` sends them to MindSpore's AVX2 copy instead.

    Returns:
        str: ``'avx2'``, ``'avx512_core'``, another ISA's value in hex, or ``'unavailable'``.
    """
    fn = _dnnl_entry('shm_dnnl_gemm_isa', ctypes.c_int, build=True)
    return 'unavailable' if fn is None else _isa_name(fn())


def pointwise_convs_on_kernels() -> bool:
    """Whether 1x1 convolutions without a bias should train on the kernels' GEMMs (one per image
    on NCHW, no layout change) rather than MindSpore's ``Conv2D``: where those GEMMs run on
    AVX-512. MindSpore's own oneDNN is capped at AVX2 (``ONEDNN_MAX_CPU_ISA``), so elsewhere
    (a CPU without AVX-512, or ``SHMATTING_KERNEL_GEMM_ISA=AVX2``) both are the same AVX2 GEMM
    (docs/performance.md has the measurements).

    Returns:
        bool: True where the ``conv`` kernels are enabled and their GEMMs run on AVX-512.
    """
    return cpu_kernels_enabled('conv') and dnnl_gemm_isa() == 'avx512_core'


def dnnl_pool_spin_us() -> Optional[float]:
    """How long the oneDNN kernels' idle threads poll for work before they sleep (the default
    rule or ``SHMATTING_KERNEL_SPIN_US``; ``shmatting/ops/csrc/thread_pool.h``).

    Returns:
        float or None: microseconds (0: they sleep at once), None without the ``dnnl`` library.
    """
    fn = _dnnl_entry('shm_dnnl_pool_spin_ns', ctypes.c_int64, build=True)
    return None if fn is None else fn() / 1000


def dnnl_arena_bytes() -> int:
    """The bytes the oneDNN kernels' scratch buffers hold between calls (reorders into blocked
    layouts, per-image maps; they stay resident, so they add to a training step's peak memory).

    Returns:
        int: the bytes, 0 when no layer has loaded the ``dnnl`` library (this never builds it).
    """
    fn = _dnnl_entry('shm_dnnl_arena_bytes', ctypes.c_int64, build=False)
    return 0 if fn is None else int(fn())


def _aot(name, out_shape, out_dtype, bprop=None, lib='core'):
    path = _library(lib)
    if path is None:
        raise RuntimeError(f'shmatting CPU kernels unavailable: {_STATE[lib]["error"]}')
    return ops.Custom(
        f'{path}:{name}', out_shape=out_shape, out_dtype=out_dtype, func_type='aot', bprop=bprop
    )


def depthwise3x3_op(stride):
    """Depthwise 3x3 convolution with zero padding 1, as a differentiable operator.

    Args:
        stride (int): 1 or 2.

    Returns:
        ops.Custom: ``op(x, w)`` with ``x`` of shape (N, C, H, W) float32 and ``w`` of shape
        (C, 9) (the (C, 1, 3, 3) weight reshaped); output (N, C, ceil(H/s), ceil(W/s)).
    """
    if stride not in (1, 2):
        raise ValueError(f'depthwise3x3_op supports stride 1 or 2, got {stride}')
    return _differentiable(
        f'shm_depthwise3x3_s{stride}',
        lambda x, w: [x[0], x[1], (x[2] - 1) // stride + 1, (x[3] - 1) // stride + 1],
    )


def depthwise3x3_bias_act_op(stride, act=None):
    """Inference only: :func:`depthwise3x3_op` with a bias (a folded BatchNorm) and a ReLU/ReLU6
    applied in the same pass.

    Args:
        stride (int): 1 or 2.
        act (str | None): ``None``, ``'relu'`` or ``'relu6'``.

    Returns:
        ops.Custom: ``op(x, w, b)`` with ``w`` (C, 9) and ``b`` (C,).
    """
    if stride not in (1, 2):
        raise ValueError(f'depthwise3x3_bias_act_op supports stride 1 or 2, got {stride}')
    return _aot(
        f'shm_depthwise3x3_s{stride}_bias{_act_suffix(act)}',
        lambda x, w, b: [x[0], x[1], (x[2] - 1) // stride + 1, (x[3] - 1) // stride + 1],
        lambda x, w, b: x,
    )


def upsample_bilinear2x_op():
    """Exact bilinear x2 upsampling (half-pixel centres, clamped borders), differentiable.

    Returns:
        ops.Custom: ``op(x)`` mapping (N, C, H, W) float32 to (N, C, 2H, 2W).
    """
    grad = _aot(
        'shm_upsample_bilinear2x_grad',
        lambda dy: [dy[0], dy[1], dy[2] // 2, dy[3] // 2],
        lambda dy: dy,
    )

    def bprop(x: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor]:
        return (grad(dout),)

    return _aot(
        'shm_upsample_bilinear2x', lambda x: [x[0], x[1], 2 * x[2], 2 * x[3]], lambda x: x, bprop
    )


def maxpool3x3s2_op():
    """Max pooling, kernel 3, stride 2, padding 1 (padding never selected), differentiable.

    Returns:
        ops.Custom: ``op(x)`` mapping (N, C, H, W) float32 to (N, C, ceil(H/2), ceil(W/2)); the
        gradient goes to the first maximum of each window in row-major order.
    """
    grad = _aot('shm_maxpool3x3s2_grad', lambda x, y, dy: x, lambda x, y, dy: x)

    def bprop(x: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor]:
        return (grad(x, out, dout),)

    return _aot(
        'shm_maxpool3x3s2',
        lambda x: [x[0], x[1], (x[2] - 1) // 2 + 1, (x[3] - 1) // 2 + 1],
        lambda x: x,
        bprop,
    )


def softmax_channels_op() -> ops.Custom:
    """Softmax over the channel axis, differentiable (its backward reads the output).

    Returns:
        ops.Custom: ``op(x)`` mapping (N, C, H, W) float32 to the same shape.
    """
    grad = _aot('shm_softmax_channels_grad', lambda y, dy: y, lambda y, dy: y)

    def bprop(x: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor]:
        return (grad(out, dout),)

    return _aot('shm_softmax_channels', lambda x: x, lambda x: x, bprop)


def softmax_nll_op() -> ops.Custom:
    """Per pixel, the negative log of the softmax (over the channels) at the pixel's class:
    cross-entropy before its reduction; differentiable in the logits.

    Returns:
        ops.Custom: ``op(logits, label)`` with logits (N, C, H, W) float32 and label (N, H, W)
        int32 class indices; output (N, H, W). A label outside [0, C) gives 0 and no gradient.
    """
    grad = _aot('shm_softmax_nll_grad', lambda x, t, g: x, lambda x, t, g: x)

    def bprop(logits: Tensor, label: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, Tensor]:
        return grad(logits, label, dout), ops.zeros_like(label)

    return _aot('shm_softmax_nll', lambda x, t: [x[0], x[2], x[3]], lambda x, t: x, bprop)


_BN_ACTS = {None: '', 'relu': '_relu', 'relu6': '_relu6'}


def _act_suffix(act: Optional[str]) -> str:
    """The kernel name suffix of a fused activation; a one-line error for any other."""
    if act not in _BN_ACTS:
        raise ValueError(f"act must be None, 'relu' or 'relu6', got {act!r}")
    return _BN_ACTS[act]


def batch_norm_act_ops(act=None):
    """BatchNorm followed by an optional ReLU/ReLU6, fused, for training and for inference.

    Args:
        act (str | None): ``None``, ``'relu'`` or ``'relu6'``.

    Returns:
        tuple: ``(train_op, add_train_op, infer_op)``. ``train_op(x, gamma, beta, consts,
        moving_mean, moving_var)`` with ``consts`` = (eps, momentum, 1 - momentum) float32
        returns ``(y, batch_mean, batch_invstd, new_moving_mean, new_moving_var)``: batch
        statistics over (N, H, W), the moving ones updated as ``moving * momentum + batch * (1 -
        momentum)`` (the unbiased batch variance for the variance); differentiable in x, gamma
        and beta. ``add_train_op(x, gamma, beta, consts, moving_mean, moving_var, r)`` is the
        same with ``y = act(BN(x)) + r`` (a residual of x's shape, added in the same pass).
        ``infer_op(x, gamma, beta, mean, var, eps)`` returns y from the moving statistics;
        ``eps`` is a (1,) float32 tensor.
    """
    name = f'shm_bn{_act_suffix(act)}'
    return _bn_train_op(name), _bn_train_op(name, residual=True), _bn_infer_op(name, act)


def _untrained(consts: Tensor, moving_mean: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Zero gradients for a training BatchNorm's constants and its two moving statistics (they
    are updated, not trained)."""
    no_moving = ops.zeros_like(moving_mean)
    return ops.zeros_like(consts), no_moving, no_moving


def _bn_train_grad(name: str) -> ops.Custom:
    """``grad(x, gamma, beta, mean, invstd, dy) -> (dx, dgamma, dbeta)`` of the BatchNorm
    ``name``."""
    return _aot(
        f'{name}_train_grad',
        lambda x, g, b, m, s, dy: (x, g, g),
        lambda x, g, b, m, s, dy: (x, g, g),
    )


def _bn_grads(
    grad: ops.Custom,
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    consts: Tensor,
    moving_mean: Tensor,
    out: Tuple[Tensor, ...],
    dout: Tuple[Tensor, ...],
) -> Tuple[Tensor, ...]:
    """A training BatchNorm's gradients from ``grad`` (:func:`_bn_train_grad`): dx, dgamma,
    dbeta, and zeros for the constants and the moving statistics."""
    # the activation's mask is recomputed from x: the backward never holds the output.
    # (Constant zeros made once per layer would save PyNative two launches, but a GRAPH
    # compile shares one bprop among the layers and mixed their shapes.)
    _, mean, invstd, _, _ = out
    dx, dgamma, dbeta = grad(x, gamma, beta, mean, invstd, dout[0])
    return (dx, dgamma, dbeta) + _untrained(consts, moving_mean)


def _bn_train_op(name: str, residual: bool = False) -> ops.Custom:
    """The training operator of :func:`batch_norm_act_ops` for the library entry ``name``;
    with ``residual``, the one that adds a residual (whose gradient is the output's)."""
    grad = _bn_train_grad(name)

    if residual:

        def bprop_residual(
            x: Tensor,
            gamma: Tensor,
            beta: Tensor,
            consts: Tensor,
            moving_mean: Tensor,
            moving_var: Tensor,
            residual: Tensor,
            out: Tuple[Tensor, ...],
            dout: Tuple[Tensor, ...],
        ) -> Tuple[Tensor, ...]:
            return _bn_grads(grad, x, gamma, beta, consts, moving_mean, out, dout) + (dout[0],)

        return _aot(
            f'{name}_add_train',
            lambda x, g, b, k, m, v, r: (x, g, g, g, g),
            lambda x, g, b, k, m, v, r: (x, g, g, g, g),
            bprop_residual,
        )

    def bprop(
        x: Tensor,
        gamma: Tensor,
        beta: Tensor,
        consts: Tensor,
        moving_mean: Tensor,
        moving_var: Tensor,
        out: Tuple[Tensor, ...],
        dout: Tuple[Tensor, ...],
    ) -> Tuple[Tensor, ...]:
        return _bn_grads(grad, x, gamma, beta, consts, moving_mean, out, dout)

    return _aot(
        f'{name}_train',
        lambda x, g, b, k, m, v: (x, g, g, g, g),
        lambda x, g, b, k, m, v: (x, g, g, g, g),
        bprop,
    )


def batch_norm_act_depthwise_op(stride: int, act: Optional[str] = None) -> ops.Custom:
    """Training only: BatchNorm (batch statistics) with an optional ReLU/ReLU6, then a depthwise
    3x3 convolution, in one operator that never materialises the normalised map: the backward
    normalises each plane again from x (which the BatchNorm's gradient reads anyway), so a step
    holds x alone where the two layers held x and y.

    Args:
        stride (int): the convolution's stride, 1 or 2.
        act (str | None): ``None``, ``'relu'`` or ``'relu6'``.

    Returns:
        ops.Custom: ``op(x, gamma, beta, consts, moving_mean, moving_var, w)`` with ``consts``
        and the outputs after the first as :func:`batch_norm_act_ops`' training operator's, and
        ``w`` the (C, 9) depthwise weight; returns ``(out, batch_mean, batch_invstd,
        new_moving_mean, new_moving_var)``; differentiable in x, gamma, beta and w.
    """
    if stride not in (1, 2):
        raise ValueError(f'batch_norm_act_depthwise_op supports stride 1 or 2, got {stride}')
    name = f'shm_bn{_act_suffix(act)}_depthwise3x3_s{stride}_train'

    def out_shape(x: list, g: list, b: list, k: list, m: list, v: list, w: list) -> tuple:
        conv = [x[0], x[1], (x[2] - 1) // stride + 1, (x[3] - 1) // stride + 1]
        return conv, g, g, g, g

    return _aot(
        name, out_shape, lambda x, g, b, k, m, v, w: (x, g, g, g, g), _norm_consumer_bprop(name)
    )


def batch_norm_act_conv1x1_op(act: Optional[str] = None) -> ops.Custom:
    """Training only: BatchNorm (batch statistics) with an optional ReLU/ReLU6, then a 1x1
    convolution without bias, in one operator of the ``dnnl`` library that never stores the
    normalised map (one image of it at a time is made for that image's GEMMs, in the forward
    and again for the weight gradient).

    Args:
        act (str | None): ``None``, ``'relu'`` or ``'relu6'``.

    Returns:
        ops.Custom: ``op(x, gamma, beta, consts, moving_mean, moving_var, w)`` with ``w`` the
        (O, C) weight and the rest as :func:`batch_norm_act_depthwise_op`'s; returns ``(y,
        batch_mean, batch_invstd, new_moving_mean, new_moving_var)`` with y (N, O, H, W);
        differentiable in x, gamma, beta and w.
    """
    name = f'shm_bn{_act_suffix(act)}_conv1x1_train'
    return _aot(
        name,
        lambda x, g, b, k, m, v, w: ([x[0], w[0], x[2], x[3]], g, g, g, g),
        lambda x, g, b, k, m, v, w: (x, g, g, g, g),
        _norm_consumer_bprop(name, 'dnnl'),
        lib='dnnl',
    )


def _norm_consumer_bprop(name: str, lib: str = 'core') -> Callable:
    """The backward of a BatchNorm fused with the layer that reads it: the library's
    ``name_grad(x, gamma, beta, mean, invstd, w, dout)`` gives dx, dgamma, dbeta and dw; the
    constants and the moving statistics get zeros."""
    grad = _aot(
        f'{name}_grad',
        lambda x, g, b, m, s, w, dy: (x, g, g, w),
        lambda x, g, b, m, s, w, dy: (x, g, g, w),
        lib=lib,
    )

    def bprop(
        x: Tensor,
        gamma: Tensor,
        beta: Tensor,
        consts: Tensor,
        moving_mean: Tensor,
        moving_var: Tensor,
        w: Tensor,
        out: Tuple[Tensor, ...],
        dout: Tuple[Tensor, ...],
    ) -> Tuple[Tensor, ...]:
        _, mean, invstd, _, _ = out
        dx, dgamma, dbeta, dw = grad(x, gamma, beta, mean, invstd, w, dout[0])
        return (dx, dgamma, dbeta) + _untrained(consts, moving_mean) + (dw,)

    return bprop


def _bn_infer_op(name: str, act: Optional[str]) -> ops.Custom:
    """The inference operator of :func:`batch_norm_act_ops` for the library entry ``name``."""

    def infer_bprop(
        x: Tensor,
        gamma: Tensor,
        beta: Tensor,
        mean: Tensor,
        var: Tensor,
        eps: Tensor,
        out: Tensor,
        dout: Tensor,
    ) -> Tuple[Tensor, ...]:
        # rarely needed (gradients through a network in eval mode): plain MindSpore ops
        g = dout if act is None else dout * (out > 0).astype(dout.dtype)
        if act == 'relu6':
            g = g * (out < 6).astype(dout.dtype)
        invstd = ops.rsqrt(var + eps)
        xhat = (x - mean.reshape(1, -1, 1, 1)) * invstd.reshape(1, -1, 1, 1)
        dx = g * (gamma * invstd).reshape(1, -1, 1, 1)
        return (
            dx,
            (g * xhat).sum((0, 2, 3)),
            g.sum((0, 2, 3)),
            ops.zeros_like(mean),
            ops.zeros_like(var),
            ops.zeros_like(eps),
        )

    return _aot(
        f'{name}_infer', lambda x, g, b, m, v, e: x, lambda x, g, b, m, v, e: x, infer_bprop
    )


def _differentiable(name: str, out_shape: Callable, lib: str = 'core') -> ops.Custom:
    """``op(x, w)`` of the library's entry ``name`` whose backward is ``name_grad`` (input and
    weight gradients from one call)."""
    grad = _aot(f'{name}_grad', lambda x, w, dy: (x, w), lambda x, w, dy: (x, w), lib=lib)

    def bprop(x: Tensor, w: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, Tensor]:
        dx, dw = grad(x, w, dout)
        return dx, dw

    return _aot(name, out_shape, lambda x, w: x, bprop, lib=lib)


def conv_same_op(bias: bool = False, input_grad: bool = True) -> ops.Custom:
    """Dense convolution, stride 1, zero padding ``k // 2``, on oneDNN's blocked kernels,
    differentiable.

    Args:
        bias (bool): add a bias inside the convolution (and take its gradient in the weight
            gradient's pass) instead of a ``BiasAdd`` and a ``BiasAddGrad`` over the output.
        input_grad (bool): compute the input gradient. Without it the backward gives zeros for
            ``x``: only for a layer whose input is data (the image), where that gradient is
            never used but would cost a full backward-data pass (a 3->32 layer at 8x320x320:
            about 50 ms).

    Returns:
        ops.Custom: ``op(x, w)`` (``op(x, w, b)`` with a bias of shape (O,)) with ``x`` (N, C, H,
        W) and ``w`` (O, C, k, k) float32, odd k; output (N, O, H, W).
    """
    if not input_grad:
        return _conv_same_weights_only_grad(bias)
    if not bias:
        return _differentiable('shm_conv_same', _conv_same_shape, 'dnnl')
    grad = _aot(
        'shm_conv_same_biased_grad',
        lambda x, w, dy: (x, w, [w[0]]),
        lambda x, w, dy: (x, w, w),
        lib='dnnl',
    )

    def bprop(x: Tensor, w: Tensor, b: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, ...]:
        dx, dw, db = grad(x, w, dout)
        return dx, dw, db

    return _aot('shm_conv_same_biased', _conv_same_shape, _first, bprop, lib='dnnl')


def _conv_same_shape(x: list, w: list, *bias: list) -> list:
    """The output shape of a stride-1 'same' convolution: (N, O, H, W)."""
    return [x[0], w[0], x[2], x[3]]


def _first(x: Any, *rest: Any) -> Any:
    """The first input's dtype: what most kernels' outputs take."""
    return x


def _conv_same_weights_only_grad(bias: bool) -> ops.Custom:
    """:func:`conv_same_op` whose backward skips the input gradient (zeros for ``x``). Its
    forward has a function name of its own: MindSpore keeps one backward per function."""
    if not bias:
        grad = _aot('shm_conv_same_wgrad', lambda x, w, dy: w, lambda x, w, dy: w, lib='dnnl')

        def bprop(x: Tensor, w: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, Tensor]:
            return ops.zeros_like(x), grad(x, w, dout)

        return _aot('shm_conv_same_on_data', _conv_same_shape, _first, bprop, lib='dnnl')
    grad = _aot(
        'shm_conv_same_biased_wgrad',
        lambda x, w, dy: (w, [w[0]]),
        lambda x, w, dy: (w, w),
        lib='dnnl',
    )

    def bprop(x: Tensor, w: Tensor, b: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, ...]:
        dw, db = grad(x, w, dout)
        return ops.zeros_like(x), dw, db

    return _aot('shm_conv_same_biased_on_data', _conv_same_shape, _first, bprop, lib='dnnl')


def deconv_s2_op():
    """Transposed convolution as torch's ``ConvTranspose2d(k, stride=2, padding=k // 2,
    output_padding=1)`` (the output is exactly twice the input), on oneDNN, differentiable.

    Returns:
        ops.Custom: ``op(x, w)`` with ``x`` (N, C, H, W) and ``w`` (C, O, k, k) float32 (torch's
        layout); output (N, O, 2H, 2W).
    """
    return _differentiable('shm_deconv_s2', lambda x, w: [x[0], w[1], 2 * x[2], 2 * x[3]], 'dnnl')


def conv_same_bias_act_op(act=None):
    """Inference only: the convolution of :func:`conv_same_op` with a bias and a ReLU/ReLU6 in
    one oneDNN primitive (what a BatchNorm folded into the convolution leaves).

    Args:
        act (str | None): ``None``, ``'relu'`` or ``'relu6'``.

    Returns:
        ops.Custom: ``op(x, w, b)`` with ``b`` of shape (O,); output (N, O, H, W).
    """
    return _aot(
        f'shm_conv_same_bias{_act_suffix(act)}',
        lambda x, w, b: [x[0], w[0], x[2], x[3]],
        lambda x, w, b: x,
        lib='dnnl',
    )


def inverted_residual_op(stride: int, residual: bool, act: Optional[str] = 'relu6') -> ops.Custom:
    """Inference only: a MobileNetV2 inverted-residual block with its BatchNorms folded, as one
    operator that never writes the expanded map (``csrc/inverted_residual.h``).

    Args:
        stride (int): the depthwise layer's stride, 1 or 2.
        residual (bool): add the input to the output (stride 1, as many outputs as inputs).
        act (str | None): the activation after the expansion and after the depthwise layer.

    Returns:
        ops.Custom: ``op(x, we, be, wd, bd, wp, bp)`` (or ``op(x, wd, bd, wp, bp)`` for a block
        without expansion) with ``we`` (E, C[, 1, 1]), ``wd`` (E, 9) or (E, 1, 3, 3), ``wp`` (O,
        E[, 1, 1]) and the biases (E,), (E,), (O,); output (N, O, ceil(H / stride), ceil(W /
        stride)).
    """
    if stride not in (1, 2) or (residual and stride != 1):
        raise ValueError(f'no inverted-residual kernel for stride {stride}, residual={residual}')

    def out_shape(x: list, *weights: list) -> list:
        return [x[0], weights[-2][0], (x[2] - 1) // stride + 1, (x[3] - 1) // stride + 1]

    res = '_res' if residual else ''
    return _aot(
        f'shm_inverted_residual_s{stride}{res}{_act_suffix(act)}',
        out_shape,
        lambda x, *weights: x,
        lib='dnnl',
    )


def parse_kernel_kinds(spec):
    """``'all'``, ``'none'`` or a comma list of :data:`KERNEL_KINDS` -> a set of kinds.

    Args:
        spec (str): the list, e.g. ``'depthwise,norm'``.

    Returns:
        set[str]: the kinds.
    """
    spec = spec.strip().lower()
    if spec == 'all':
        return set(KERNEL_KINDS)
    if spec in ('none', ''):
        return set()
    kinds = {k.strip() for k in spec.split(',') if k.strip()}
    unknown = sorted(kinds - set(KERNEL_KINDS))
    if unknown:
        raise ValueError(
            f'unknown CPU kernel kind(s) {", ".join(unknown)}; choose from '
            f'{", ".join(KERNEL_KINDS)}, all or none'
        )
    return kinds


def set_cpu_kernels(network, enabled, kinds=None):
    """Switch the kernel-capable layers of ``network`` to the kernels or to MindSpore operators.

    Call it before the network's first forward (a compiled graph keeps the choice it was compiled
    with); export tools call it with ``enabled=False``.

    Args:
        network (nn.Cell): the model.
        enabled (bool): True for the kernels (only where ``cpu_kernels_enabled()``), False for
            MindSpore operators.
        kinds (Iterable[str], optional): only layers of these :data:`KERNEL_KINDS` are switched
            to ``enabled``, the others to ``not enabled``; all layers when None.

    Returns:
        int: the number of layers switched to ``enabled``.
    """
    count = 0
    for _, cell in network.cells_and_names():
        if hasattr(cell, 'use_cpu_kernel'):
            selected = kinds is None or cell.cpu_kernel_kind in kinds
            cell.set_cpu_kernel(enabled if selected else not enabled)
            count += selected
    return count
