"""The paper's M-Net decoder: 6 convs and 4 unpooling steps (SHM §4.2, after DIM)."""

from typing import Sequence

from mindspore import nn, ops

from ...registry import HEADS
from ..layers.conv import conv_bn_act

__all__ = ['VGGUnpoolDecoder']


class Unpool2x(nn.Cell):
    """Max-unpooling without stored indices: the switch of each 2x2 window is where the encoder's
    pre-pool feature equals its window maximum (cheap to differentiate on CPU, unlike
    ``MaxPoolWithArgmaxV2``'s gradient)."""

    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2, 2)

    def construct(self, x, skip):
        h, w = skip.shape[2], skip.shape[3]
        window_max = ops.ResizeNearestNeighbor((h, w))(self.pool(skip))
        switch = ops.cast(ops.equal(skip, window_max), x.dtype)
        return ops.ResizeNearestNeighbor((h, w))(x) * switch


@HEADS.register_module()
class VGGUnpoolDecoder(nn.Cell):
    """``conv5`` (5x5), then per level unpool + conv (5x5) down to the input size, then the alpha
    prediction conv; BatchNorm after every conv but the last.

    Args:
        in_channels (tuple[int]): the encoder's channels (5 outputs: four skips and the bottom).
        in_strides (tuple[int]): (1, 2, 4, 8, 16).

    The paper (after DIM) calls these layers "deconv"; they are plain convolutions, so they are
    ``conv5``..``conv1`` here. Checkpoints written with the former ``deconv<i>`` names still load
    (:attr:`renamed_params`).
    """

    # former parameter-name prefix -> current one (read by engine.checkpoint.load_weights)
    renamed_params = {f'deconv{i}.': f'conv{i}.' for i in range(1, 6)}

    def __init__(self, in_channels: Sequence[int], in_strides: Sequence[int] = (1, 2, 4, 8, 16)):
        super().__init__()
        chans = tuple(in_channels)
        if len(chans) != 5 or tuple(in_strides) != (1, 2, 4, 8, 16):
            raise ValueError(
                'VGGUnpoolDecoder needs the VGG16Encoder outputs (strides 1, 2, 4, 8, 16), '
                f'got channels {chans}, strides {tuple(in_strides)}'
            )
        self.conv5 = conv_bn_act(chans[4], chans[3], 5)
        self.unpool = Unpool2x()
        self.conv4 = conv_bn_act(chans[3], chans[2], 5)
        self.conv3 = conv_bn_act(chans[2], chans[1], 5)
        self.conv2 = conv_bn_act(chans[1], chans[0], 5)
        self.conv1 = conv_bn_act(chans[0], chans[0], 5)
        self.pred = nn.Conv2d(chans[0], 1, 5, pad_mode='pad', padding=2, has_bias=True)

    def construct(self, feats):
        f1, f2, f3, f4, x = feats
        x = self.conv5(x)
        x = self.conv4(self.unpool(x, f4))
        x = self.conv3(self.unpool(x, f3))
        x = self.conv2(self.unpool(x, f2))
        x = self.conv1(self.unpool(x, f1))
        return self.pred(x)
