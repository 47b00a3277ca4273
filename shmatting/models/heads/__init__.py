"""Heads: T-Net decoder, M-Net decoder and the fusion module."""

from .fusion_head import FusionHead
from .mnet_decoder import MNetDecoder
from .psp_head import PSPTrimapHead
from .tnet_unet_head import TNetUNetHead
from .vgg_decoder import VGGUnpoolDecoder

__all__ = ['TNetUNetHead', 'MNetDecoder', 'FusionHead', 'PSPTrimapHead', 'VGGUnpoolDecoder']
