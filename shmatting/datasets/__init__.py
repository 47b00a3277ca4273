"""Datasets, transforms and the data loader (registered on import)."""

from . import transforms  # noqa: F401  (registration)
from .builder import build_dataset
from .dataloader import DataLoader, EvalSampler, TrainSampler, build_dataloader
from .human_matting import HumanMattingDataset
from .matting_dataset import MattingDataset

__all__ = [
    'MattingDataset',
    'HumanMattingDataset',
    'build_dataset',
    'build_dataloader',
    'DataLoader',
    'TrainSampler',
    'EvalSampler',
]
