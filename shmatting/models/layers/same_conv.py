"""Stride-1 'same' convolutions (padding ``k // 2``), with the CPU's two fast paths.

1. **oneDNN's blocked kernels** (``shmatting.ops.conv_same_op``): MindSpore 2.10's CPU Conv2D
   hands oneDNN plain NCHW tensors, for which oneDNN has only im2col + GEMM; given any layout it
   picks direct kernels on blocked ones. Reordering there and back costs less than the GEMM path
   loses on k x k kernels (a 24->16 3x3 layer at 8x320x320: forward 85 -> 60 ms, input gradient
   205 -> 49 ms, weight gradient 239 -> 52 ms) but not on 1x1 kernels, whose reorders would
   dominate: 1x1 layers without a bias run as one GEMM per image on NCHW instead, where the
   kernels' GEMMs run on AVX-512 (MindSpore's are capped at AVX2), and on MindSpore's operator
   elsewhere (``pointwise_convs_on_kernels``; docs/performance.md has the tables per shape).
2. **Input gradient as a forward convolution** when the kernels are off on the CPU: MindSpore's
   ``Conv2DBackpropInput`` is several times slower than a forward convolution of the same size
   when the layer has few output channels (16->1 5x5 at 8x16x320x320: 339 vs 15 ms). For stride 1
   and padding ``k // 2`` the input gradient *is* a forward convolution of the output gradient
   with the weight transposed in its channel axes and flipped in space.

3. **Inference as a transposed convolution** when the kernels are off and the layer has at most
   a fifth as many outputs as inputs (:mod:`.transposed_form`): MindSpore's ``Conv2DBackpropInput``
   with the flipped weight, whose column buffer is that much smaller than ``Conv2D``'s im2col
   (16->1 5x5 at 320x320: 15.0 -> 4.1 ms per image).

All compute the same function as ``nn.Conv2d`` (different rounding) with the same parameters.
"""

from typing import Optional, Tuple

from mindspore import Tensor, nn, ops
from mindspore.ops.operations import _grad_ops

from ...ops import conv_same_op, pointwise_convs_on_kernels
from .cpu_kernel import CpuKernelMixin
from .operator_forms import on_cpu_target
from .transposed_form import attach_transposed_form, flipped_transposed_weight

__all__ = ['SameConv2d', 'prefers_forward_dx', 'same_conv2d', 'KERNEL_MIN_SIZE']

# the smallest kernel always run on the kernels (1x1: see pointwise_convs_on_kernels)
KERNEL_MIN_SIZE = 3


def prefers_forward_dx(in_channels: int, out_channels: int, kernel_size: int) -> bool:
    """Whether a stride-1 'same' convolution gains from the forward-convolution input gradient
    (without the oneDNN kernels): an odd kernel and no more output than input channels
    (measured: 32->16 183 -> 96 ms, 6->16 54 -> 62 ms).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.

    Returns:
        bool: True where it is faster.
    """
    return kernel_size % 2 == 1 and kernel_size > 1 and out_channels <= in_channels


class _ConvForwardDx(nn.Cell):
    """``conv(x, w)`` with a custom backward: dx by a forward convolution, dw by MindSpore."""

    def __init__(self, in_channels, out_channels, kernel_size, padding):
        super().__init__()
        kernel = (kernel_size, kernel_size)  # a tuple: the ONNX exporter cannot convert an int
        self.conv = ops.Conv2D(out_channels, kernel, pad_mode='pad', pad=padding)
        self.conv_dx = ops.Conv2D(in_channels, kernel, pad_mode='pad', pad=padding)
        self.filter_grad = _grad_ops.Conv2DBackpropFilter(
            out_channels, kernel, pad_mode='pad', pad=padding, pad_list=(padding,) * 4
        )

    def construct(self, x: Tensor, w: Tensor) -> Tensor:
        return self.conv(x, w)

    def bprop(self, x: Tensor, w: Tensor, out: Tensor, dout: Tensor) -> Tuple[Tensor, Tensor]:
        # mixed precision may hand the two in different dtypes (PyNative gives bprop the inputs
        # before the cell's cast): compute in x's dtype, return each gradient in its input's
        dout = ops.cast(dout, x.dtype)
        w_t = ops.cast(ops.flip(ops.transpose(w, (1, 0, 2, 3)), (2, 3)), x.dtype)
        dw = self.filter_grad(dout, x, ops.shape(w))
        return self.conv_dx(dout, w_t), ops.cast(dw, w.dtype)


class SameConv2d(CpuKernelMixin, nn.Conv2d):
    """``nn.Conv2d(in, out, k, pad_mode='pad', padding=k // 2)`` (stride 1, no groups, bias
    optional) on the CPU's fast paths; same parameters and names.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): odd square kernel size.
        has_bias (bool): add a bias.
        forward_dx (bool, optional): use the forward-convolution input gradient when the oneDNN
            kernels are off (default: on the CPU target where :func:`prefers_forward_dx`).
        input_grad (bool): whether the input's gradient is used; see :meth:`set_input_grad`.

    In eval mode without the kernels, a layer where :func:`prefers_transposed_form` holds runs as
    a transposed convolution on the CPU target (its operator form: :mod:`.operator_forms`).
    """

    cpu_kernel_kind = 'conv'

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        has_bias: bool = False,
        forward_dx: Optional[bool] = None,
        input_grad: bool = True,
    ):
        if kernel_size % 2 != 1:
            raise ValueError(f'SameConv2d needs an odd kernel size, got {kernel_size}')
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            pad_mode='pad',
            padding=kernel_size // 2,
            has_bias=has_bias,
        )
        if forward_dx is None:
            forward_dx = on_cpu_target() and prefers_forward_dx(
                in_channels, out_channels, kernel_size
            )
        self.forward_dx = bool(forward_dx)
        self.kernel_min_size = None  # benchmarks set 1 to time 1x1 layers on the kernels
        self.input_grad = bool(input_grad)
        if self.forward_dx:
            self.conv_forward_dx = _ConvForwardDx(
                in_channels, out_channels, kernel_size, kernel_size // 2
            )
        attach_transposed_form(self, in_channels, out_channels, kernel_size)
        self.set_cpu_kernel(True)

    def cpu_kernel_supported(self) -> bool:
        k = self.kernel_size[0]
        if self.kernel_min_size is not None:
            return k >= self.kernel_min_size
        if k == 1:
            return not self.has_bias and pointwise_convs_on_kernels()
        return k >= KERNEL_MIN_SIZE

    def build_cpu_kernel(self) -> None:
        self.conv_op = conv_same_op(bias=self.has_bias, input_grad=self.input_grad)

    def set_input_grad(self, enabled: bool) -> None:
        """Declare whether anything uses the gradient with respect to this layer's input; call
        before the first forward. A layer reading the image (no parameter before it) skips its
        input gradient's pass with the oneDNN kernels, and gives zeros there instead.
        MindSpore's own operators drop the unused pass by themselves, so this changes nothing
        without the kernels.

        Args:
            enabled (bool): False only when the input is data.
        """
        self.input_grad = bool(enabled)
        if getattr(self, 'cpu_kernel_built', False):
            self.build_cpu_kernel()

    def construct(self, x: Tensor) -> Tensor:
        if self.use_cpu_kernel:
            if self.has_bias:  # the bias and its gradient inside oneDNN's passes
                return self.conv_op(x, self.weight, self.bias)
            out = self.conv_op(x, self.weight)
        elif self.operator_form and not self.training:
            out = self.as_transposed(x, flipped_transposed_weight(self.weight))
        elif self.forward_dx:
            out = self.conv_forward_dx(x, self.weight)
        else:
            out = self.conv2d(x, self.weight)
        if self.has_bias:
            out = self.bias_add(out, self.bias)
        return out


def same_conv2d(
    in_channels: int, out_channels: int, kernel_size: int, has_bias: bool = False
) -> SameConv2d:
    """A stride-1 convolution with padding ``kernel_size // 2`` (:class:`SameConv2d`).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): odd square kernel size.
        has_bias (bool): add a bias.

    Returns:
        SameConv2d: the layer (parameters ``weight`` and optionally ``bias``).
    """
    return SameConv2d(in_channels, out_channels, kernel_size, has_bias)
