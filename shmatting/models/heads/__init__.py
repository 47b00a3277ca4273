"""Heads: T-Net decoder, M-Net decoder and the fusion module."""
from .fusion_head import FusionHead
from .mnet_decoder import MNetDecoder
from .tnet_unet_head import TNetUNetHead

__all__ = ['TNetUNetHead', 'MNetDecoder', 'FusionHead']
