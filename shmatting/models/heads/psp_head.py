"""PSPNet's pyramid pooling head for 3-class trimaps (the paper's T-Net)."""

from typing import Sequence

from mindspore import nn, ops

from ...registry import HEADS
from ..layers import conv_bn_act, upsample_chain

__all__ = ['PSPTrimapHead']


@HEADS.register_module()
class PSPTrimapHead(nn.Cell):
    """Pyramid pooling over the deepest feature, then logits upsampled to the input size.

    Each bin size ``b`` average-pools the feature to b x b, reduces it with a 1x1 conv, and resizes
    it back (bilinear); the concatenation with the feature goes through a 3x3 conv and a 1x1
    classifier; the logits are brought to the input resolution with exact bilinear x2 steps.

    Args:
        in_channels (tuple[int]): backbone channels (the last is used).
        in_strides (tuple[int]): backbone strides (the last is the output stride).
        num_classes (int): 3.
        bins (tuple[int]): pyramid bin sizes.
        channels (int): width after fusion.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_classes: int = 3,
        bins: Sequence[int] = (1, 2, 3, 6),
        channels: int = 512,
    ):
        super().__init__()
        c = tuple(in_channels)[-1]
        stride = tuple(in_strides)[-1]
        reduced = max(1, c // len(bins))
        self.bins = tuple(bins)
        self.stages = nn.CellList([conv_bn_act(c, reduced, 1) for _ in self.bins])
        self.bottleneck = conv_bn_act(c + reduced * len(self.bins), channels, 3)
        self.classifier = nn.Conv2d(channels, num_classes, 1, has_bias=True)
        self.final_up = upsample_chain(num_classes, stride, 'pixel_shuffle')

    def construct(self, feats):
        x = feats[len(feats) - 1]
        h, w = x.shape[2], x.shape[3]
        pyramid = (x,)
        for i, b in enumerate(self.bins):
            y = self.stages[i](ops.adaptive_avg_pool2d(x, (b, b)))
            pyramid = pyramid + (
                ops.interpolate(y, size=(h, w), mode='bilinear', align_corners=False),
            )
        y = self.bottleneck(ops.concat(pyramid, axis=1))
        return self.final_up(self.classifier(y))
