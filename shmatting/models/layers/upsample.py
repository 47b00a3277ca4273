"""Bilinear x2 upsampling with half-pixel centres (torch ``align_corners=False``), exportable.

For an output row ``2i`` the half-pixel source coordinate is ``i - 0.25`` and for ``2i + 1`` it is
``i + 0.25``, so (with the border clamp that replicate padding provides)

    out[2i]     = 0.25 * x[i-1] + 0.75 * x[i]
    out[2i + 1] = 0.75 * x[i]   + 0.25 * x[i+1]

in each axis. The four sub-pixel outputs of every input pixel are a fixed depthwise 3x3
convolution from C to 4C channels over the replicate-padded input, and a pixel shuffle puts them in
place. Only Slice, Concat, Conv2D and DepthToSpace-style ops are used, so the module exports to
MINDIR and ONNX (``ResizeBilinearV2`` and replicate ``Pad`` do not export to ONNX).

On the CPU target the same function runs on ``shmatting.ops``' upsampling kernel (forward and
backward) unless the kernels are switched off. Without the kernels, inference there runs as
MindSpore's ``ResizeBilinearV2`` with half-pixel centres (the layer's operator form,
:mod:`.operator_forms`: the exported MINDIR keeps it), which took 2-2.5x less time than the
exportable form at the T-Net's shapes (batch 1, GRAPH, AMD Zen 4: 16 channels 160 -> 320 6.9 ->
2.7 ms, 24 channels 80 -> 160 3.1 -> 1.6 ms); ONNX exports keep the exportable form.
"""

import math

import numpy as np
from mindspore import Tensor, nn, ops

from ...ops import upsample_bilinear2x_op
from .cpu_kernel import CpuKernelMixin
from .operator_forms import declare_operator_form

__all__ = ['BilinearUpsample2x', 'InterpolateUpsample2x', 'build_upsample', 'upsample_chain']

_TAPS = np.array([[0.25, 0.75, 0.0], [0.0, 0.75, 0.25]], np.float32)  # even / odd output rows


def bilinear_kernel(channels):
    """The fixed depthwise weight of shape ``(4 * channels, 1, 3, 3)`` in pixel-shuffle order."""
    kernel = np.zeros((channels * 4, 1, 3, 3), np.float32)
    for di in range(2):
        for dj in range(2):
            kernel[di * 2 + dj :: 4, 0] = np.outer(_TAPS[di], _TAPS[dj])
    return kernel


class BilinearUpsample2x(CpuKernelMixin, nn.Cell):
    """Exact bilinear x2 upsampling (half-pixel centres) from exportable ops.

    Args:
        channels (int): number of channels of the input (the fixed kernel is per channel).

    The kernel is a constant tensor, not a parameter: it never appears in checkpoints.
    """

    cpu_kernel_kind = 'upsample'

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.kernel = Tensor(bilinear_kernel(channels))
        # a tuple kernel_size: the ONNX exporter cannot convert an int one
        self.conv = ops.Conv2D(out_channel=4 * channels, kernel_size=(3, 3), group=channels)
        self.resize = ops.ResizeBilinearV2(align_corners=False, half_pixel_centers=True)
        declare_operator_form(self, True)
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self):
        self.upsample_op = upsample_bilinear2x_op()

    def construct(self, x):
        if self.use_cpu_kernel:
            return self.upsample_op(x)
        if self.operator_form and not self.training:
            return self.resize(x, (x.shape[2] * 2, x.shape[3] * 2))
        # replicate padding from slices and concats: exportable to ONNX (PadV3 is not)
        x = ops.concat((x[:, :, :1], x, x[:, :, -1:]), axis=2)
        x = ops.concat((x[:, :, :, :1], x, x[:, :, :, -1:]), axis=3)
        return ops.pixel_shuffle(self.conv(x, self.kernel), 2)

    def extend_repr(self):
        return f'channels={self.channels}, scale_factor=2, mode=bilinear, align_corners=False'


class InterpolateUpsample2x(nn.Cell):
    """``ops.interpolate`` bilinear x2 (half-pixel centres); not exportable to ONNX."""

    def __init__(self, channels=None):
        super().__init__()
        self.channels = channels

    def construct(self, x):
        return ops.interpolate(
            x, size=(x.shape[2] * 2, x.shape[3] * 2), mode='bilinear', align_corners=False
        )


def build_upsample(channels, impl='pixel_shuffle'):
    """Build the x2 upsampling every head uses.

    Args:
        channels (int): input channels.
        impl (str): ``'pixel_shuffle'`` (exact, exportable, default) or ``'interpolate'``.

    Returns:
        nn.Cell: the module.
    """
    if impl == 'pixel_shuffle':
        return BilinearUpsample2x(channels)
    if impl == 'interpolate':
        return InterpolateUpsample2x(channels)
    raise ValueError(f"upsample impl must be 'pixel_shuffle' or 'interpolate', got {impl!r}")


def upsample_chain(channels, ratio, impl='pixel_shuffle'):
    """Upsampling by a power-of-two ``ratio`` as repeated exact x2 steps (``nn.Identity`` for 1).

    Args:
        channels (int): input channels.
        ratio (int): 1, 2, 4, 8...
        impl (str): see :func:`build_upsample`.

    Returns:
        nn.Cell: the module.
    """
    if ratio == 1:
        return nn.Identity()
    steps = int(round(math.log2(ratio)))
    if 2**steps != ratio:
        raise ValueError(f'stride ratios between decoder levels must be powers of two, got {ratio}')
    if steps == 1:
        return build_upsample(channels, impl)
    return nn.SequentialCell([build_upsample(channels, impl) for _ in range(steps)])
