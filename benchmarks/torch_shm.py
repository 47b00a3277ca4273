"""The SHM network of the PyTorch original, written from the reference spec (benchmark fixture).

Module names follow the original (``t_net.feature.block_2.0.conv.3.weight`` ...), so its
``state_dict()`` is what ``tools/model_converters/torch2shmatting.py`` converts. Only used for
parity tests and speed comparisons; torch is never a runtime dependency of shmatting.
"""

import torch
from torch import nn

SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = inp * t
        self.use_res = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2Feature(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_conv = nn.Sequential(
            nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True)
        )
        c_in = 32
        for i, (t, c, n, s) in enumerate(SETTINGS, start=1):
            blocks = [
                InvertedResidual(c_in if j == 0 else c, c, s if j == 0 else 1, t) for j in range(n)
            ]
            c_in = c
            setattr(self, f'block_{i}', blocks[0] if n == 1 else nn.Sequential(*blocks))

    def forward(self, x):
        x = self.head_conv(x)
        s1 = self.block_1(x)
        s2 = self.block_2(s1)
        s3 = self.block_3(s2)
        s4 = self.block_5(self.block_4(s3))
        s5 = self.block_7(self.block_6(s4))
        return s1, s2, s3, s4, s5


def up_conv(cin, cout):
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode='bilinear'),
        nn.Conv2d(cin, cout, 3, 1, 1),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def fusion(c):
    return nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c))


class TNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.feature = MobileNetV2Feature()
        self.s5_up_conv, self.s4_fusion = up_conv(320, 96), fusion(96)
        self.s4_up_conv, self.s3_fusion = up_conv(96, 32), fusion(32)
        self.s3_up_conv, self.s2_fusion = up_conv(32, 24), fusion(24)
        self.s2_up_conv, self.s1_fusion = up_conv(24, 16), fusion(16)
        self.last_conv = nn.Conv2d(16, 3, 3, 1, 1)

    def forward(self, x):
        s1, s2, s3, s4, s5 = self.feature(x)
        x = self.s4_fusion(self.s5_up_conv(s5) + s4)
        x = self.s3_fusion(self.s4_up_conv(x) + s3)
        x = self.s2_fusion(self.s3_up_conv(x) + s2)
        x = self.s1_fusion(self.s2_up_conv(x) + s1)
        return self.last_conv(x)


def cbr(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class MNet(nn.Module):
    def __init__(self):
        super().__init__()
        chans = (6, 16, 32, 64, 128)
        for i in range(1, 5):
            setattr(self, f'en_conv_bn_relu_{i}', cbr(chans[i - 1], chans[i]))
            setattr(self, f'max_pooling_{i}', nn.MaxPool2d(3, 2, 1))
        self.en_conv_bn_relu_5 = nn.Sequential(
            nn.Conv2d(128, 128, 3, 1, 1, bias=False), nn.BatchNorm2d(128)
        )  # defined, never used
        dec = (128, 128, 64, 32, 16)
        for i in range(1, 5):
            setattr(self, f'de_conv_bn_relu_{i}', cbr(dec[i - 1], dec[i]))
            setattr(self, f'deconv_{i}', nn.ConvTranspose2d(dec[i], dec[i], 5, 2, 2, 1, bias=False))
        self.conv = nn.Conv2d(16, 1, 5, 1, 2, bias=False)

    def forward(self, x):
        for i in range(1, 5):
            x = getattr(self, f'max_pooling_{i}')(getattr(self, f'en_conv_bn_relu_{i}')(x))
        for i in range(1, 5):
            x = getattr(self, f'deconv_{i}')(getattr(self, f'de_conv_bn_relu_{i}')(x))
        return self.conv(x)


class SHMNet(nn.Module):
    """network.net(): (trimap logits, alpha_p) with the original's channel use in the fusion."""

    def __init__(self):
        super().__init__()
        self.t_net = TNet()
        self.m_net = MNet()

    def forward(self, x):
        trimap = self.t_net(x)
        prob = torch.softmax(trimap, 1)
        _, fg, unsure = torch.split(prob, 1, dim=1)
        alpha_r = self.m_net(torch.cat((x, prob), 1))
        return trimap, fg + unsure * alpha_r
