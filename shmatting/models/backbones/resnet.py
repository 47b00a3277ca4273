"""ResNet-18/34/50 (He et al. 2016), optionally dilated: the paper's T-Net encoder (PSPNet-50).

Registered like any plugin backbone: it declares ``out_channels`` and ``out_strides`` and the stock
heads wire themselves from them. ``dilated=True`` keeps stages 3 and 4 at stride 8 with dilation
2 and 4 (PSPNet's setting).
"""

from typing import Sequence

from mindspore import nn

from ...registry import BACKBONES
from ..layers.conv import batch_norm

__all__ = ['ResNet', 'BasicBlock', 'Bottleneck']


def _conv(cin, cout, k, stride=1, dilation=1):
    pad = dilation * (k // 2)
    return nn.Conv2d(
        cin, cout, k, stride=stride, pad_mode='pad', padding=pad, dilation=dilation, has_bias=False
    )


def _shortcut(cin, out, stride):
    """None for an identity shortcut, else a strided 1x1 projection with BatchNorm."""
    if stride == 1 and cin == out:
        return None
    return nn.SequentialCell([_conv(cin, out, 1, stride), batch_norm(out)])


class BasicBlock(nn.Cell):
    expansion = 1

    def __init__(self, cin, planes, stride=1, dilation=1):
        super().__init__()
        out = planes * self.expansion
        self.conv1, self.bn1 = _conv(cin, planes, 3, stride, dilation), batch_norm(planes)
        self.conv2, self.bn2 = _conv(planes, planes, 3, 1, dilation), batch_norm(planes)
        self.relu = nn.ReLU()
        self.downsample = _shortcut(cin, out, stride)

    def construct(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + identity)


class Bottleneck(nn.Cell):
    expansion = 4

    def __init__(self, cin, planes, stride=1, dilation=1):
        super().__init__()
        out = planes * self.expansion
        self.conv1, self.bn1 = _conv(cin, planes, 1), batch_norm(planes)
        self.conv2, self.bn2 = _conv(planes, planes, 3, stride, dilation), batch_norm(planes)
        self.conv3, self.bn3 = _conv(planes, out, 1), batch_norm(out)
        self.relu = nn.ReLU()
        self.downsample = _shortcut(cin, out, stride)

    def construct(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


DEPTHS = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
}


@BACKBONES.register_module()
class ResNet(nn.Cell):
    """ResNet returning the outputs of ``out_indices`` among its four stages.

    Args:
        depth (int): 18, 34 or 50.
        in_channels (int): input channels.
        out_indices (tuple[int]): stages to return (0..3).
        dilated (bool): stages 3 and 4 at stride 8 with dilation 2 and 4 (output stride 8).
        base_width (int): channels of the stem and first stage (64).
    """

    def __init__(
        self,
        depth: int = 50,
        in_channels: int = 3,
        out_indices: Sequence[int] = (0, 1, 2, 3),
        dilated: bool = False,
        base_width: int = 64,
    ):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f'depth must be one of {sorted(DEPTHS)}, got {depth}')
        block, layers = DEPTHS[depth]
        if not out_indices or any(not 0 <= i < 4 for i in out_indices):
            raise ValueError(f'out_indices must be in 0..3, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.stem = nn.SequentialCell(
            [
                nn.Conv2d(
                    in_channels, base_width, 7, stride=2, pad_mode='pad', padding=3, has_bias=False
                ),
                batch_norm(base_width, 'relu'),
                nn.Identity(),
                nn.MaxPool2d(3, 2, pad_mode='pad', padding=1),
            ]
        )
        strides = (1, 2, 1, 1) if dilated else (1, 2, 2, 2)
        dilations = (1, 1, 2, 4) if dilated else (1, 1, 1, 1)
        cin, stride = base_width, 4
        channels, out_strides = [], []
        for i, (n, s, d) in enumerate(zip(layers, strides, dilations)):
            planes = base_width * 2**i
            blocks = [block(cin, planes, s, d)] + [
                block(planes * block.expansion, planes, 1, d) for _ in range(n - 1)
            ]
            cin = planes * block.expansion
            stride *= s
            setattr(self, f'layer{i + 1}', nn.SequentialCell(blocks))
            channels.append(cin)
            out_strides.append(stride)
        self.out_channels = tuple(channels[i] for i in self.out_indices)
        self.out_strides = tuple(out_strides[i] for i in self.out_indices)

    def construct(self, x):
        x = self.stem(x)
        outs = ()
        x = self.layer1(x)
        if 0 in self.out_indices:
            outs = outs + (x,)
        x = self.layer2(x)
        if 1 in self.out_indices:
            outs = outs + (x,)
        x = self.layer3(x)
        if 2 in self.out_indices:
            outs = outs + (x,)
        x = self.layer4(x)
        if 3 in self.out_indices:
            outs = outs + (x,)
        return outs
