"""Softmax over the channel axis, and the cross-entropy of class indices before its reduction.

MindSpore's CPU ``Softmax``/``LogSoftmax`` gradients run a oneDNN reference kernel, so the
operator form here is written with element-wise ops (max, exp, sum); on the CPU target both layers
run on ``shmatting.ops``' softmax kernels instead (one pass over the logits each way, where the
element-wise form takes a dozen operators, its channel-axis sums among the slowest). Exports use
the operator form.
"""

from mindspore import Tensor, nn, ops

from ...ops import softmax_channels_op, softmax_nll_op
from .cpu_kernel import CpuKernelMixin

__all__ = ['ChannelSoftmax', 'SoftmaxNLL']


class ChannelSoftmax(CpuKernelMixin, nn.Cell):
    """``softmax(x, axis=1)`` of an (N, C, H, W) map."""

    cpu_kernel_kind = 'softmax'

    def __init__(self):
        super().__init__()
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.softmax_op = softmax_channels_op()

    def construct(self, x: Tensor) -> Tensor:
        if self.use_cpu_kernel:
            return self.softmax_op(x)
        e = ops.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


class SoftmaxNLL(CpuKernelMixin, nn.Cell):
    """Per pixel, ``-log softmax(logits, axis=1)[label]``: the cross-entropy of class indices
    before its reduction (``torch.nn.functional.cross_entropy(..., reduction='none')``).

    Args:
        num_classes (int): the channels of the logits.

    Inputs:
        logits (Tensor): (N, C, H, W) float.
        label (Tensor): (N, H, W) integer class indices; one outside [0, C) contributes 0.

    Outputs:
        Tensor: (N, H, W).
    """

    cpu_kernel_kind = 'softmax'

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.nll_op = softmax_nll_op()

    def construct(self, logits: Tensor, label: Tensor) -> Tensor:
        label = label.astype('int32')
        if self.use_cpu_kernel:
            return self.nll_op(logits, label)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_prob = shifted - ops.log(ops.exp(shifted).sum(axis=1, keepdims=True))
        onehot = ops.one_hot(label, self.num_classes, 1.0, 0.0, axis=1)
        return -(log_prob * onehot.astype(logits.dtype)).sum(axis=1)
