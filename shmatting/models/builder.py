"""Build a model from a config."""

from ..registry import MODELS

__all__ = ['build_model']


def build_model(cfg, default_args=None):
    """Build a model from ``cfg`` (a dict, or a Config/ConfigDict with ``type``).

    Args:
        cfg (dict): e.g. ``Config.fromfile('configs/shm/e2e_8x8.py').model``.
        default_args (dict, optional): defaults for missing arguments.

    Returns:
        nn.Cell: the model.
    """
    return MODELS.build(cfg, default_args)
