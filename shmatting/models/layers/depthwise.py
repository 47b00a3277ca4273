"""Depthwise 3x3 convolution (MobileNetV2's) that runs on the project's CPU kernel when it can."""

from mindspore import nn

from ...ops import depthwise3x3_op
from .cpu_kernel import CpuKernelMixin

__all__ = ['DepthwiseConv3x3']


class DepthwiseConv3x3(CpuKernelMixin, nn.Conv2d):
    """``nn.Conv2d(C, C, 3, stride, pad 1, group=C, no bias)`` with the same parameter and name.

    On the CPU target the forward and backward run on ``shmatting.ops``' depthwise kernel
    (5-10x faster than MindSpore 2.10's grouped convolution there, same result to float
    rounding); elsewhere, with ``SHMATTING_CPU_KERNELS=0`` or after ``set_cpu_kernel(False)``
    it is the plain ``nn.Conv2d``.

    Args:
        channels (int): input = output channels.
        stride (int): 1 or 2.
    """

    cpu_kernel_kind = 'depthwise'

    def __init__(self, channels, stride=1):
        super().__init__(
            channels,
            channels,
            3,
            stride=stride,
            pad_mode='pad',
            padding=1,
            group=channels,
            has_bias=False,
        )
        self.channels = channels
        self.dw_stride = stride
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self):
        self.depthwise_op = depthwise3x3_op(self.dw_stride)

    def construct(self, x):
        if self.use_cpu_kernel:
            return self.depthwise_op(x, self.weight.reshape(self.channels, 9))
        return self.conv2d(x, self.weight)
