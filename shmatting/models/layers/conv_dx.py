"""Stride-1 'same' convolution whose input gradient runs as a forward convolution.

MindSpore 2.10's CPU ``Conv2DBackpropInput`` (oneDNN backward-data on im2col + col2im) is several
times slower than a forward convolution of the same size when the layer has few output channels:
at 8x16x320x320, a 16->1 5x5 layer took 339 ms for the input gradient and 15 ms for the
equivalent forward convolution, a 16->3 3x3 layer 121 vs 19 ms. For stride 1 with padding
``k // 2`` the input gradient *is* a forward convolution: of the output gradient with the weight
transposed in its channel axes and flipped in space. This layer computes it that way (the same
function, different rounding) and leaves the weight gradient to ``Conv2DBackpropFilter``.
"""

import mindspore as ms
from mindspore import nn, ops
from mindspore.ops.operations import _grad_ops

__all__ = ['ForwardDxConv2d', 'prefers_forward_dx', 'same_conv2d']


def prefers_forward_dx(in_channels, out_channels, kernel_size):
    """Whether a stride-1 'same' convolution gains: an odd kernel and no more output than input
    channels (measured: 32->16 183 -> 96 ms, 6->16 54 -> 62 ms)."""
    return kernel_size % 2 == 1 and out_channels <= in_channels


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

    def construct(self, x, w):
        return self.conv(x, w)

    def bprop(self, x, w, out, dout):
        # mixed precision may hand the two in different dtypes (PyNative gives bprop the inputs
        # before the cell's cast): compute in x's dtype, return each gradient in its input's
        dout = ops.cast(dout, x.dtype)
        w_t = ops.cast(ops.flip(ops.transpose(w, (1, 0, 2, 3)), (2, 3)), x.dtype)
        dw = self.filter_grad(dout, x, ops.shape(w))
        return self.conv_dx(dout, w_t), ops.cast(dw, w.dtype)


class ForwardDxConv2d(nn.Conv2d):
    """``nn.Conv2d(in, out, k, pad_mode='pad', padding=k // 2)`` (stride 1, bias optional) whose
    input gradient is computed as a forward convolution; same parameters and names.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): odd square kernel size.
        has_bias (bool): add a bias.
    """

    def __init__(self, in_channels, out_channels, kernel_size, has_bias=False):
        if kernel_size % 2 != 1:
            raise ValueError(f'ForwardDxConv2d needs an odd kernel size, got {kernel_size}')
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            pad_mode='pad',
            padding=kernel_size // 2,
            has_bias=has_bias,
        )
        self.conv_forward_dx = _ConvForwardDx(
            in_channels, out_channels, kernel_size, kernel_size // 2
        )

    def construct(self, x):
        out = self.conv_forward_dx(x, self.weight)
        if self.has_bias:
            out = self.bias_add(out, self.bias)
        return out


def same_conv2d(in_channels, out_channels, kernel_size, has_bias=False):
    """A stride-1 convolution with padding ``kernel_size // 2``: :class:`ForwardDxConv2d` on the
    CPU target where that is faster (see :func:`prefers_forward_dx`; measured on CPU only),
    ``nn.Conv2d`` otherwise.

    Returns:
        nn.Conv2d: the layer (parameters ``weight`` and optionally ``bias``).
    """
    if ms.get_context('device_target') == 'CPU' and prefers_forward_dx(
        in_channels, out_channels, kernel_size
    ):
        return ForwardDxConv2d(in_channels, out_channels, kernel_size, has_bias)
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        pad_mode='pad',
        padding=kernel_size // 2,
        has_bias=has_bias,
    )
