"""Data transforms: ``__call__(results: dict) -> dict``, randomness from ``results['rng']``."""

from .compose import Compose
from .formatting import Normalize, PackInputs, TrimapToIndex
from .geometric import RandomCrop, RandomFlip, RandomScale, Resize, ZooCropOrSquash
from .loading import (
    CorruptSampleError,
    LoadAlphaFromFile,
    LoadFgFromFile,
    LoadImageFromFile,
    LoadTrimapFromFile,
)
from .matting import CompositeBackground, GenerateTrimap, random_background
from .trimap_ops import trimap_from_alpha, trimap_to_index, zoo_trimap_from_alpha

__all__ = [
    'Compose',
    'Normalize',
    'PackInputs',
    'TrimapToIndex',
    'RandomCrop',
    'RandomFlip',
    'RandomScale',
    'Resize',
    'ZooCropOrSquash',
    'LoadImageFromFile',
    'LoadAlphaFromFile',
    'LoadTrimapFromFile',
    'LoadFgFromFile',
    'CorruptSampleError',
    'CompositeBackground',
    'GenerateTrimap',
    'random_background',
    'trimap_from_alpha',
    'trimap_to_index',
    'zoo_trimap_from_alpha',
]
