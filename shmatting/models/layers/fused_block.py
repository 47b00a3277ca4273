"""Inference: a whole MobileNetV2 inverted-residual block, its BatchNorms folded, as one kernel."""

from typing import Optional

from mindspore import Tensor, nn

from ...ops import inverted_residual_op
from .cpu_kernel import CpuKernelMixin
from .fused_conv import FusedConvAct

__all__ = ['FusedInvertedResidual']


class FusedInvertedResidual(CpuKernelMixin, nn.Cell):
    """Runs the folded layers of an inverted-residual block (1x1 expansion, depthwise 3x3, 1x1
    projection, the identity) as one CPU kernel that keeps the expanded map in cache a few rows at
    a time instead of writing it to memory and reading it back (``csrc/inverted_residual.h``).

    It has no parameters: it reads the :class:`FusedConvAct` layers that
    :func:`~shmatting.models.layers.fuse_conv_bn` left in the block. It applies only to those
    (inference, BatchNorms folded, every layer on its CPU kernel); exports and training run the
    layers themselves.

    Args:
        stride (int): the depthwise stride.
        residual (bool): the block adds its input.
        expands (bool): the block has a 1x1 expansion (its layers start at index 0, the depthwise
            one at 3; otherwise the depthwise layer is at 0).
        act (str | None): the activation of the expansion and depthwise layers.
    """

    cpu_kernel_kind = 'conv'
    # mixed precision leaves this cell alone: it applies only to the folded float32 layers
    amp_follows_layers = True

    def __init__(self, stride: int, residual: bool, expands: bool, act: Optional[str] = 'relu6'):
        super().__init__()
        self.stride, self.residual, self.expands, self.act_name = stride, residual, expands, act
        self.dw_index = 3 if expands else 0
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.op = inverted_residual_op(self.stride, self.residual, self.act_name)

    def _folded(self, cell: nn.Cell, kind: str, act: Optional[str]) -> bool:
        return (
            isinstance(cell, FusedConvAct)
            and cell.use_cpu_kernel
            and cell.cpu_kernel_kind == kind
            and cell.act_name == act
            and cell.extra_activation is None
            and (kind == 'depthwise' or cell.geometry['k'] == 1)
        )

    def applies(self, layers: nn.SequentialCell) -> bool:
        """Whether the block's ``conv`` layers run as this kernel now.

        Args:
            layers (nn.SequentialCell): the block's ``conv`` cell.

        Returns:
            bool: True when the expansion (if any), depthwise and projection layers are folded
            layers on their CPU kernels with this block's activations, outside training.
        """
        d = self.dw_index
        return (
            self.use_cpu_kernel
            and not self.training
            and (not self.expands or self._folded(layers[0], 'conv', self.act_name))
            and self._folded(layers[d], 'depthwise', self.act_name)
            and self._folded(layers[d + 3], 'conv', None)
        )

    def construct(self, x: Tensor, layers: nn.SequentialCell) -> Tensor:
        # the weights go in their layers' 4-D shapes (the kernel reads them as (E, C), (E, 9),
        # (O, E)): a Reshape of each in the graph cost 44 us, 2.2 ms per image for the network
        d = self.dw_index
        dw, proj = layers[d], layers[d + 3]
        if self.expands:
            ex = layers[0]
            return self.op(x, ex.weight, ex.bias, dw.weight, dw.bias, proj.weight, proj.bias)
        return self.op(x, dw.weight, dw.bias, proj.weight, proj.bias)
