"""A small residual backbone with ordinary strides (stem /2, features at 4, 8, 16, 32).

Registering it is all a plugin needs: the stock T-Net head wires itself from ``out_channels`` and
``out_strides``, and SHM derives the test-time size divisor (32) from the largest stride.
"""

from mindspore import nn

from shmatting.registry import BACKBONES


def conv_bn_relu(cin, cout, stride):
    return nn.SequentialCell(
        [
            nn.Conv2d(cin, cout, 3, stride=stride, pad_mode='pad', padding=1, has_bias=False),
            nn.BatchNorm2d(cout, momentum=0.9),
            nn.ReLU(),
        ]
    )


class BasicBlock(nn.Cell):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn_relu(cin, cout, stride)
        self.conv2 = nn.SequentialCell(
            [
                nn.Conv2d(cout, cout, 3, pad_mode='pad', padding=1, has_bias=False),
                nn.BatchNorm2d(cout, momentum=0.9),
            ]
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.SequentialCell(
                [
                    nn.Conv2d(cin, cout, 1, stride=stride, has_bias=False),
                    nn.BatchNorm2d(cout, momentum=0.9),
                ]
            )
        )
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


@BACKBONES.register_module()
class TinyResNet(nn.Cell):
    """Stem (stride 2) + four stages of one BasicBlock each, strides 4, 8, 16, 32.

    Args:
        in_channels (int): input channels (3 for T-Net).
        widths (tuple[int]): channels of the four stages.
    """

    def __init__(self, in_channels=3, widths=(16, 24, 32, 64)):
        super().__init__()
        self.stem = conv_bn_relu(in_channels, widths[0], 2)
        self.layer1 = BasicBlock(widths[0], widths[0], 2)
        self.layer2 = BasicBlock(widths[0], widths[1], 2)
        self.layer3 = BasicBlock(widths[1], widths[2], 2)
        self.layer4 = BasicBlock(widths[2], widths[3], 2)
        self.out_channels = tuple(widths)
        self.out_strides = (4, 8, 16, 32)

    def construct(self, x):
        c1 = self.layer1(self.stem(x))
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return c1, c2, c3, c4
