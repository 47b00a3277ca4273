"""A BatchNorm (+ activation) fused with the depthwise convolution that reads it, for training."""

from typing import Optional

from mindspore import Tensor, nn, ops

from ...ops import batch_norm_act_depthwise_op, cpu_kernels_enabled
from .depthwise import DepthwiseConv3x3
from .norm_act import BatchNormAct2d

__all__ = ['NormActDepthwise']


class NormActDepthwise(nn.Cell):
    """Runs a :class:`BatchNormAct2d` and the :class:`DepthwiseConv3x3` after it as one CPU
    kernel while training, on their parameters (it has none of its own).

    The normalised map between the two layers is never stored: the kernel convolves each plane
    as it normalises it, and its backward normalises the plane again from the BatchNorm's input,
    which the BatchNorm's gradient reads anyway. A training step so holds one tensor where the two
    layers held two (MobileNetV2's depthwise inputs, about 1 GB at batch 8, 320x320), and skips
    writing and reading it back. Same function and gradients as the two layers on their kernels
    (bit for bit: the same arithmetic in the same order).

    Args:
        stride (int): the convolution's stride.
        act (str | None): the BatchNorm's activation (``None``, ``'relu'``, ``'relu6'``).
    """

    def __init__(self, stride: int, act: Optional[str]):
        super().__init__()
        available = cpu_kernels_enabled('norm') and cpu_kernels_enabled('depthwise')
        self.op = batch_norm_act_depthwise_op(stride, act) if available else None
        self.act_name = act
        self.stride = stride

    def applies(self, norm: nn.Cell, conv: nn.Cell) -> bool:
        """Whether ``norm`` then ``conv`` run fused now: both training on their CPU kernels,
        with this cell's activation and stride.

        Args:
            norm (nn.Cell): the layer before (a BatchNormAct2d, or what replaced it).
            conv (nn.Cell): the layer after.

        Returns:
            bool: True when :meth:`construct` may replace the two layers.
        """
        return (
            self.op is not None
            and self.training
            and isinstance(norm, BatchNormAct2d)
            and isinstance(conv, DepthwiseConv3x3)
            and norm.use_cpu_kernel
            and conv.use_cpu_kernel
            and norm.act_name == self.act_name
            and conv.dw_stride == self.stride
        )

    def construct(self, x: Tensor, norm: BatchNormAct2d, conv: DepthwiseConv3x3) -> Tensor:
        out, _, _, new_mean, new_var = self.op(
            x,
            norm.gamma,
            norm.beta,
            norm.train_consts,
            norm.moving_mean,
            norm.moving_variance,
            conv.weight.reshape(conv.channels, 9),
        )
        out = ops.depend(out, norm.assign_mean(norm.moving_mean, new_mean))
        return ops.depend(out, norm.assign_variance(norm.moving_variance, new_var))
