"""High-level APIs."""

from .inference import get_norm_cfg, inference_mattor, init_mattor, load_mattor

__all__ = ['init_mattor', 'load_mattor', 'inference_mattor', 'get_norm_cfg']
