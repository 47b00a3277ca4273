"""The light M-Net encoder of SHM's public implementations."""

from typing import Sequence

from mindspore import nn

from ...registry import BACKBONES
from ..layers.conv import conv_bn_act, set_block_input_grad
from ..layers.pooling import MaxPool3x3S2

__all__ = ['MNetEncoder']


@BACKBONES.register_module()
class MNetEncoder(nn.Cell):
    """Four conv3x3-BN-ReLU layers, each followed by a 3x3 / stride-2 / pad-1 max-pool.

    Args:
        in_channels (int): 6 in SHM (BGR image + 3 trimap probabilities).
        channels (tuple[int]): output channels of the four convs (16, 32, 64, 128).
        pool_impl (str): ``'pad'`` (exact for any input) or ``'zero_pad'`` (the zoo's form, exact
            here because each pool follows a ReLU; exports to ONNX).

    Attributes:
        out_channels (tuple[int]): ``(channels[-1],)``.
        out_strides (tuple[int]): ``(2 ** len(channels),)``.
    """

    def __init__(
        self,
        in_channels: int = 6,
        channels: Sequence[int] = (16, 32, 64, 128),
        pool_impl: str = 'pad',
    ):
        super().__init__()
        if len(channels) != 4:
            raise ValueError(f'MNetEncoder has four stages, got channels={channels}')
        c1, c2, c3, c4 = channels
        # names as in the original: m_net.en_conv_bn_relu_1.0.weight ...
        self.en_conv_bn_relu_1 = conv_bn_act(in_channels, c1, 3)
        self.max_pooling_1 = MaxPool3x3S2(pool_impl)
        self.en_conv_bn_relu_2 = conv_bn_act(c1, c2, 3)
        self.max_pooling_2 = MaxPool3x3S2(pool_impl)
        self.en_conv_bn_relu_3 = conv_bn_act(c2, c3, 3)
        self.max_pooling_3 = MaxPool3x3S2(pool_impl)
        self.en_conv_bn_relu_4 = conv_bn_act(c3, c4, 3)
        self.max_pooling_4 = MaxPool3x3S2(pool_impl)
        self.out_channels = (c4,)
        self.out_strides = (16,)

    def set_input_grad(self, enabled: bool) -> None:
        """Declare whether the gradient with respect to the input is used (in SHM: only end to
        end, where the trimap probabilities come from the T-Net); the first layer then skips
        that pass. Optional for backbones.

        Args:
            enabled (bool): False when the input is data.
        """
        set_block_input_grad(self.en_conv_bn_relu_1, enabled)

    def construct(self, x):
        x = self.max_pooling_1(self.en_conv_bn_relu_1(x))
        x = self.max_pooling_2(self.en_conv_bn_relu_2(x))
        x = self.max_pooling_3(self.en_conv_bn_relu_3(x))
        x = self.max_pooling_4(self.en_conv_bn_relu_4(x))
        return (x,)
