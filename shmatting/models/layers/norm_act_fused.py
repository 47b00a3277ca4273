"""A BatchNorm (+ activation) fused with the convolution that reads it, for training."""

from typing import Optional

from mindspore import Tensor, nn, ops

from ...ops import batch_norm_act_conv1x1_op, batch_norm_act_depthwise_op, cpu_kernels_enabled
from .cpu_kernel import CpuKernelMixin
from .depthwise import DepthwiseConv3x3
from .norm_act import BatchNormAct2d
from .same_conv import SameConv2d

__all__ = ['NormActConv1x1', 'NormActDepthwise']


class _NormActFused(CpuKernelMixin, nn.Cell):
    """Runs a :class:`BatchNormAct2d` and the convolution after it as one CPU kernel while
    training, on their parameters (it has none of its own).

    The normalised map between the two layers is never stored: the kernel normalises the
    BatchNorm's input piece by piece as the convolution reads it, and again in the backward for
    the weight gradient (the BatchNorm's own gradient reads that input anyway). A training step so
    holds one tensor where the two layers held two, and skips writing it and reading it back.

    A subclass builds ``self.op`` (:meth:`build_cpu_kernel`) and says by ``accepts(conv)``
    whether ``conv`` is the convolution its kernel computes.

    Args:
        act (str | None): the BatchNorm's activation (``None``, ``'relu'``, ``'relu6'``).
    """

    # mixed precision leaves this cell alone: it applies only while the two layers are the
    # plain float32 kernel layers, which the amp levels decide on (``engine.amp``)
    amp_follows_layers = True

    def __init__(self, act: Optional[str]):
        super().__init__()
        self.act_name = act

    def cpu_kernel_supported(self) -> bool:
        return cpu_kernels_enabled('norm')

    def applies(self, norm: nn.Cell, conv: nn.Cell) -> bool:
        """Whether ``norm`` then ``conv`` run fused now: training, on the CPU kernels, with this
        cell's activation and convolution.

        Args:
            norm (nn.Cell): the layer before (a BatchNormAct2d, or what replaced it).
            conv (nn.Cell): the layer after.

        Returns:
            bool: True when :meth:`construct` may replace the two layers.
        """
        return (
            self.use_cpu_kernel
            and self.training
            and isinstance(norm, BatchNormAct2d)
            and norm.use_cpu_kernel
            and norm.act_name == self.act_name
            and self.accepts(conv)
        )

    def construct(self, x: Tensor, norm: BatchNormAct2d, conv: nn.Conv2d) -> Tensor:
        weight = conv.weight.reshape(conv.weight.shape[0], -1)
        out, _, _, new_mean, new_var = self.op(
            x,
            norm.gamma,
            norm.beta,
            norm.train_consts,
            norm.moving_mean,
            norm.moving_variance,
            weight,
        )
        out = ops.depend(out, norm.assign_mean(norm.moving_mean, new_mean))
        return ops.depend(out, norm.assign_variance(norm.moving_variance, new_var))


class NormActDepthwise(_NormActFused):
    """:class:`_NormActFused` for a :class:`DepthwiseConv3x3` (MobileNetV2's expansion BatchNorm +
    ReLU6 and depthwise layer): the map is made one plane at a time; bit-identical to the two
    layers' kernels.

    Args:
        stride (int): the convolution's stride.
        act (str | None): the BatchNorm's activation.
    """

    cpu_kernel_kind = 'depthwise'

    def __init__(self, stride: int, act: Optional[str]):
        super().__init__(act)
        self.stride = stride
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.op = batch_norm_act_depthwise_op(self.stride, self.act_name)

    def accepts(self, conv: nn.Cell) -> bool:
        """Whether ``conv`` is a depthwise layer of this stride on its kernel."""
        return (
            isinstance(conv, DepthwiseConv3x3)
            and conv.use_cpu_kernel
            and conv.dw_stride == self.stride
        )


class NormActConv1x1(_NormActFused):
    """:class:`_NormActFused` for a 1x1 :class:`SameConv2d` without bias (MobileNetV2's
    projection after the depthwise BatchNorm + ReLU6): the map is made one image at a time for
    that image's GEMMs (the ``dnnl`` library's kernel, so a ``conv`` kernel); the same results as
    the BatchNorm kernel then MindSpore's convolution.

    Args:
        act (str | None): the BatchNorm's activation.
    """

    cpu_kernel_kind = 'conv'

    def __init__(self, act: Optional[str]):
        super().__init__(act)
        self.set_cpu_kernel(True)

    def build_cpu_kernel(self) -> None:
        self.op = batch_norm_act_conv1x1_op(self.act_name)

    def accepts(self, conv: nn.Cell) -> bool:
        """Whether ``conv`` is a 1x1 stride-1 convolution without bias."""
        return isinstance(conv, SameConv2d) and conv.kernel_size == (1, 1) and not conv.has_bias
