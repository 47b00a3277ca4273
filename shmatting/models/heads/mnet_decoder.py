"""M-Net decoder: conv-BN-ReLU + exact x2 transposed conv per level, 5x5 conv to alpha."""

import math
from typing import Sequence

from mindspore import nn

from ...registry import HEADS
from ..layers.conv import conv_bn_act
from ..layers.deconv import ConvTranspose2dK5S2
from ..layers.same_conv import same_conv2d

__all__ = ['MNetDecoder']


@HEADS.register_module()
class MNetDecoder(nn.Cell):
    """Decoder of the light M-Net: per level ``de_conv_bn_relu_i`` then ``deconv_i`` (x2).

    ``deconv_i`` is a 5x5 / stride-2 / pad-2 transposed conv with output padding 1 and no bias,
    with nothing after it (as in the original). ``conv`` is the final 5x5 conv to one channel (no
    bias); its output is the raw ``alpha_r`` (no sigmoid, no clamp).

    Args:
        in_channels (tuple[int]): the encoder's ``out_channels`` (the last is used).
        in_strides (tuple[int]): the encoder's ``out_strides``; the number of levels is
            ``log2(in_strides[-1])``.
        channels (tuple[int]): output channels per level (128, 64, 32, 16).
        out_channels (int): 1 (alpha).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int] = (16,),
        channels: Sequence[int] = (128, 64, 32, 16),
        out_channels: int = 1,
    ):
        super().__init__()
        c_in = tuple(in_channels)[-1]
        stride = tuple(in_strides)[-1]
        levels = int(round(math.log2(stride)))
        if 2**levels != stride or levels != len(channels):
            raise ValueError(
                f'MNetDecoder needs one level per x2 of the encoder stride: stride '
                f'{stride} needs {levels} levels, got channels={tuple(channels)}'
            )
        self.num_levels = levels
        for i, c in enumerate(channels, start=1):
            setattr(self, f'de_conv_bn_relu_{i}', conv_bn_act(c_in, c, 3))
            setattr(self, f'deconv_{i}', ConvTranspose2dK5S2(c, c, 5))
            c_in = c
        self.conv = same_conv2d(c_in, out_channels, 5, has_bias=False)

    def construct(self, feats):
        x = feats[len(feats) - 1]
        for i in range(1, self.num_levels + 1):
            x = getattr(self, 'de_conv_bn_relu_' + str(i))(x)
            x = getattr(self, 'deconv_' + str(i))(x)
        return self.conv(x)
