"""Exact ``torch.nn.ConvTranspose2d(k, stride=2, padding=k//2, output_padding=1)`` on MindSpore."""

import math

from mindspore import Parameter, Tensor, nn, ops
from mindspore.common.initializer import Uniform, initializer

from ...ops import deconv_s2_op
from .cpu_kernel import CpuKernelMixin

__all__ = ['ConvTranspose2dK5S2']


class ConvTranspose2dK5S2(CpuKernelMixin, nn.Cell):
    """Transposed convolution that exactly doubles H and W (torch ``output_padding=1`` semantics).

    ``nn.Conv2dTranspose(..., output_padding=1)`` is *not* equivalent: it computes 2H-1 rows and
    pads a zero row/column. This cell calls the ``Conv2DTranspose`` primitive with the explicit
    output shape instead (pad top/left ``k//2``, bottom/right ``k//2 - 1``), which computes every
    output pixel, avoids the slow Pad/StridedSlice emulation of the model zoo, and exports to ONNX.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): odd kernel size (5 in SHM's M-Net).

    The parameter is ``weight`` with shape ``(in_channels, out_channels, k, k)``, as in PyTorch
    and the model zoo (``m_net.deconv_1.weight``). On the CPU target forward and backward run on
    oneDNN's blocked deconvolution kernels (``shmatting.ops.deconv_s2_op``) when they build.
    """

    cpu_kernel_kind = 'conv'

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        bound = 1.0 / math.sqrt(out_channels * kernel_size * kernel_size)
        self.weight = Parameter(
            initializer(Uniform(bound), (in_channels, out_channels, kernel_size, kernel_size)),
            name='weight',
        )
        p = kernel_size // 2
        self.deconv = ops.Conv2DTranspose(
            out_channel=out_channels,
            kernel_size=kernel_size,
            pad_mode='pad',
            pad=(p, p - 1, p, p - 1),
            stride=2,
        )
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.deconv_op = deconv_s2_op()

    def construct(self, x: Tensor) -> Tensor:
        if self.use_cpu_kernel:
            return self.deconv_op(x, self.weight)
        n, _, h, w = x.shape
        return self.deconv(x, self.weight, (n, self.out_channels, 2 * h, 2 * w))

    def extend_repr(self):
        return f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride=2'
