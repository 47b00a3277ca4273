"""Build datasets from configs, with the run's top-level ``data_root``."""

from ..registry import DATASETS

__all__ = ['build_dataset']


def build_dataset(cfg, data_root=None, seed=None):
    """Build a dataset; ``data_root`` fills the split's ``data_root`` when it does not set one.

    Split dicts normally omit ``data_root``: the top-level ``data_root`` of the config is passed
    here, so ``--cfg-options data_root=...`` moves every split at once.

    Args:
        cfg (dict): DATASETS config.
        data_root (str, optional): the config's top-level ``data_root``.
        seed (int, optional): the run's seed.

    Returns:
        The dataset.
    """
    defaults = {}
    if data_root is not None:
        defaults['data_root'] = data_root
    if seed is not None:
        defaults['seed'] = seed
    return DATASETS.build(cfg, default_args=defaults)
