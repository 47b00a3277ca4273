"""3x3 / stride-2 / pad-1 max pooling (torch ``MaxPool2d(3, 2, 1)``) in two exact forms."""

from mindspore import nn, ops

from ...ops import maxpool3x3s2_op
from .cpu_kernel import CpuKernelMixin

__all__ = ['MaxPool3x3S2']


class MaxPool3x3S2(CpuKernelMixin, nn.Cell):
    """Max pooling with kernel 3, stride 2 and padding 1.

    Args:
        impl (str): ``'pad'`` uses ``nn.MaxPool2d(pad_mode='pad')`` (-inf padding, exact for any
            input, fast gradient); ``'zero_pad'`` pads zeros then pools ``valid`` (what the model
            zoo did; equal to ``'pad'`` only for non-negative inputs, which M-Net guarantees
            because every pool follows a ReLU). ``'zero_pad'`` exports to ONNX.

    With ``impl='pad'`` on the CPU target the pooling runs on ``shmatting.ops``' kernel (the same
    function; MindSpore's ``MaxPool3DWithArgmax`` took 4% of a training step there). Without the
    kernel (exports, machines without a compiler) inference pools as a one-deep ``MaxPool3D``, the
    same function without the argmax that ``nn.MaxPool2d``'s padded mode computes: the M-Net's four
    pools at batch 1 take 2.7 instead of 23.3 ms on the CPU. Training keeps ``nn.MaxPool2d``,
    whose gradient is the faster of the two there.
    """

    cpu_kernel_kind = 'pool'

    def __init__(self, impl='pad'):
        super().__init__()
        if impl not in ('pad', 'zero_pad'):
            raise ValueError(f"impl must be 'pad' or 'zero_pad', got {impl!r}")
        self.impl = impl
        if impl == 'pad':
            self.pool = nn.MaxPool2d(3, 2, pad_mode='pad', padding=1)
            self.pool_3d = ops.MaxPool3D(
                (1, 3, 3), (1, 2, 2), pad_mode='pad', pad_list=(0, 0) + (1,) * 4
            )
        else:
            self.pool = nn.MaxPool2d(3, 2, pad_mode='valid')
            self.zero_pad = ops.Pad(((0, 0), (0, 0), (1, 1), (1, 1)))  # the Pad primitive exports
        self.set_cpu_kernel(True)

    def cpu_kernel_supported(self):
        return self.impl == 'pad'  # the kernel's -inf padding; 'zero_pad' is for export

    def build_cpu_kernel(self):
        self.pool_op = maxpool3x3s2_op()

    def construct(self, x):
        if self.use_cpu_kernel:
            return self.pool_op(x)
        if self.impl == 'zero_pad':
            return self.pool(self.zero_pad(x))
        if not self.training:
            return self.pool_3d(x.expand_dims(2)).squeeze(2)
        return self.pool(x)

    def extend_repr(self):
        return f'kernel_size=3, stride=2, padding=1, impl={self.impl}'
