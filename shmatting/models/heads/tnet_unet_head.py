"""T-Net decoder: a UNet with additive skips producing 3-class trimap logits."""

from typing import Sequence

from mindspore import nn

from ...registry import HEADS
from ..layers import BatchNormAct2d, batch_norm, same_conv2d, upsample_chain

__all__ = ['TNetUNetHead']


@HEADS.register_module()
class TNetUNetHead(nn.Cell):
    """UNet decoder over the backbone's outputs, deepest first, with element-wise added skips.

    For levels ``k = N..2`` (``N = len(in_channels)``)::

        x = ReLU(BN(Conv3x3(Up(x)))) + feat[k-1]     # s{k}_up_conv = [Up, Conv, BN, ReLU]
        x = BN(Conv3x3(x))                           # s{k-1}_fusion = [Conv, BN]

    then ``last_conv`` (3x3) gives the class logits, upsampled to the input size when the
    shallowest feature is not at stride 1. With the zoo encoder (strides 1, 2, 4, 8, 16) this is
    exactly the original T-Net decoder, with its parameter names.

    Args:
        in_channels (tuple[int]): channels of the backbone outputs, shallowest first.
        in_strides (tuple[int]): their strides (powers of two, increasing).
        num_classes (int): 3 trimap classes (background, unknown, foreground).
        upsample (str): ``'pixel_shuffle'`` (exact, exportable) or ``'interpolate'``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_classes: int = 3,
        upsample: str = 'pixel_shuffle',
    ):
        super().__init__()
        in_channels, in_strides = tuple(in_channels), tuple(in_strides)
        if len(in_channels) != len(in_strides) or len(in_channels) < 2:
            raise ValueError(
                'TNetUNetHead needs at least two backbone outputs with one stride '
                f'each; got in_channels={in_channels}, in_strides={in_strides}'
            )
        if any(b < a for a, b in zip(in_strides, in_strides[1:])):
            raise ValueError(
                f'in_strides must be non-decreasing (shallowest first), got {in_strides}'
            )
        self.num_levels = len(in_channels)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.in_strides = in_strides
        for k in range(self.num_levels, 1, -1):
            c_in, c_out = in_channels[k - 1], in_channels[k - 2]
            ratio = in_strides[k - 1] // in_strides[k - 2]
            setattr(
                self,
                f's{k}_up_conv',
                nn.SequentialCell(
                    [
                        upsample_chain(c_in, ratio, upsample),
                        same_conv2d(c_in, c_out, 3, has_bias=True),
                        batch_norm(c_out, 'relu'),
                    ]
                ),
            )
            setattr(
                self,
                f's{k - 1}_fusion',
                nn.SequentialCell(
                    [
                        same_conv2d(c_out, c_out, 3, has_bias=True),
                        batch_norm(c_out),
                    ]
                ),
            )
        self.last_conv = same_conv2d(in_channels[0], num_classes, 3, has_bias=True)
        self.final_up = upsample_chain(num_classes, in_strides[0], upsample)

    def construct(self, feats):
        x = feats[self.num_levels - 1]
        for k in range(self.num_levels, 1, -1):
            up = getattr(self, 's' + str(k) + '_up_conv')
            if isinstance(up[2], BatchNormAct2d):  # the skip added in the BatchNorm's own pass
                x = up[2](up[1](up[0](x)), feats[k - 2])
            else:  # folded for inference
                x = up(x) + feats[k - 2]
            x = getattr(self, 's' + str(k - 1) + '_fusion')(x)
        return self.final_up(self.last_conv(x))
