"""High-level APIs."""

from .inference import get_norm_cfg, inference_mattor, init_mattor, load_mattor, load_split

__all__ = ['init_mattor', 'load_mattor', 'inference_mattor', 'get_norm_cfg', 'load_split']
