"""Models: backbones, heads, layers, losses and mattors (registered on import)."""

from . import backbones, heads, layers, losses, mattors  # noqa: F401  (registration)
from .builder import build_model
from .init import apply_init_cfg, init_torch_default, load_pretrained

__all__ = ['build_model', 'apply_init_cfg', 'init_torch_default', 'load_pretrained']
