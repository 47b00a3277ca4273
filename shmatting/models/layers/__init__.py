"""Small building blocks shared by backbones and heads."""
from .conv import conv_bn_act, make_divisible
from .deconv import ConvTranspose2dK5S2
from .pooling import MaxPool3x3S2
from .upsample import BilinearUpsample2x, build_upsample

__all__ = ['conv_bn_act', 'make_divisible', 'ConvTranspose2dK5S2', 'MaxPool3x3S2',
           'BilinearUpsample2x', 'build_upsample']
