"""The paper's M-Net encoder: VGG16-style, 13 conv-BN-ReLU layers and 4 max-pools (SHM §4.2).

Outputs are the pre-pool features of the first four blocks (strides 1, 2, 4, 8: the decoder's
unpooling switches) and the last block's output (stride 16).
"""

from mindspore import nn

from ...registry import BACKBONES
from ..layers.conv import conv_bn_act

__all__ = ['VGG16Encoder']

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


@BACKBONES.register_module()
class VGG16Encoder(nn.Cell):
    """VGG16 convolutions with BatchNorm after every conv; conv6 (and the fifth pool) removed.

    Args:
        in_channels (int): 6 for M-Net (image + trimap probabilities).
        width_divisor (int): divide every width (1 = the paper; larger for small CPU tests).
    """

    def __init__(self, in_channels: int = 6, width_divisor: int = 1):
        super().__init__()
        cin = in_channels
        channels = []
        for i, (width, n) in enumerate(VGG16_BLOCKS, start=1):
            width = max(4, width // width_divisor)
            layers = []
            for _ in range(n):
                layers.append(conv_bn_act(cin, width, 3))
                cin = width
            setattr(self, f'block{i}', nn.SequentialCell(layers))
            channels.append(width)
        self.pool = nn.MaxPool2d(2, 2)
        self.out_channels = tuple(channels)
        self.out_strides = (1, 2, 4, 8, 16)

    def construct(self, x):
        f1 = self.block1(x)
        f2 = self.block2(self.pool(f1))
        f3 = self.block3(self.pool(f2))
        f4 = self.block4(self.pool(f3))
        f5 = self.block5(self.pool(f4))
        return f1, f2, f3, f4, f5
