"""Formatting: normalisation, class-index trimaps and packing to CHW float32 arrays."""

from typing import Optional, Sequence

import numpy as np

from ...registry import TRANSFORMS
from ..image_io import CorruptSampleError
from .trimap_ops import trimap_to_index

__all__ = ['Normalize', 'TrimapToIndex', 'PackInputs', 'read_mean_std']


def read_mean_std(path: str) -> tuple:
    """``(mean, std)`` from a ``mean_std.json`` (BGR, 0-255), checked.

    Args:
        path (str): the JSON file.

    Returns:
        tuple: two lists of three floats.
    """
    import json
    import os.path as osp

    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mean_std_file not found: {path} (tools/dataset_converters/'
            'human_matting.py writes <out>/mean_std.json)'
        )
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    if data.get('order', 'BGR') != 'BGR' or data.get('scale', '0-255') != '0-255':
        raise ValueError(f'{path}: mean and std must be BGR on the 0-255 scale')
    return list(data['mean']), list(data['std'])


@TRANSFORMS.register_module()
class Normalize:
    """``img = (img - mean) / std`` in BGR order, float32 (one constant for train, test, export).

    Required keys: ``img``. Modified: ``img``. Added: ``img_norm_cfg``.

    Args:
        mean (list[float]): BGR means on the 0-255 scale.
        std (list[float]): BGR stds on the 0-255 scale.
        mean_std_file (str, optional): read ``mean`` and ``std`` from this JSON instead, the
            ``mean_std.json`` that tools/dataset_converters/human_matting.py writes from the
            training images (``img_norm_cfg = dict(mean_std_file='data/x/mean_std.json')``).
    """

    def __init__(
        self,
        mean: Sequence[float] = (114.0, 121.0, 134.0),
        std: Sequence[float] = (255.0, 255.0, 255.0),
        mean_std_file: Optional[str] = None,
    ):
        if mean_std_file is not None:
            mean, std = read_mean_std(mean_std_file)
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.mean_std_file = mean_std_file
        if self.mean.shape != (3,) or self.std.shape != (3,) or np.any(self.std == 0):
            raise ValueError(f'mean and std must be 3 BGR values with std != 0, got {mean}, {std}')

    def __call__(self, results):
        results['img'] = (results['img'].astype(np.float32) - self.mean) / self.std
        results['img_norm_cfg'] = dict(mean=self.mean.tolist(), std=self.std.tolist())
        return results

    def __repr__(self):
        return f'Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})'


@TRANSFORMS.register_module()
class TrimapToIndex:
    """``trimap`` {0, 128, 255} uint8 -> class indices {0 bg, 1 unknown, 2 fg} int32.

    Any other value maps as the zoo's loader did: 0 -> bg, >= 250 -> fg, else unknown.
    Required / modified keys: ``trimap``.
    """

    def __call__(self, results):
        results['trimap'] = trimap_to_index(results['trimap'])
        return results

    def __repr__(self):
        return 'TrimapToIndex()'


@TRANSFORMS.register_module()
class PackInputs:
    """Collect ``keys`` as contiguous CHW arrays into ``results['inputs']`` (an ordered dict).

    ``img`` float32 (3, H, W); ``trimap`` int32 (1, H, W); ``alpha`` float32 (1, H, W) in [0, 1];
    ``fg`` / ``bg`` float32 (3, H, W) in [0, 1]. A map with NaN or Inf values makes the sample
    corrupt (:class:`CorruptSampleError`, naming the map and the image): nothing non-finite is
    ever trained on or scored.

    Args:
        keys (tuple[str]): the columns, in order.
    """

    def __init__(self, keys: Sequence[str] = ('img', 'trimap', 'alpha', 'fg', 'bg')):
        self.keys = tuple(keys)

    def __call__(self, results):
        inputs = {}
        for key in self.keys:
            if results.get(key) is None:
                raise KeyError(
                    f'PackInputs: the sample has no {key!r} (keys: '
                    f'{sorted(k for k, v in results.items() if v is not None)})'
                )
            arr = results[key]
            if key == 'trimap':
                arr = arr.astype(np.int32)
            elif key == 'img':
                arr = arr.astype(np.float32)
            else:
                arr = (
                    arr.astype(np.float32) / 255.0
                    if arr.dtype == np.uint8
                    else arr.astype(np.float32)
                )
            if arr.dtype.kind == 'f' and not np.isfinite(arr).all():
                raise CorruptSampleError(
                    f'non-finite values in {key} of sample '
                    f'{results.get("img_path") or results.get("index")}'
                )
            arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
            inputs[key] = np.ascontiguousarray(arr)
        results['inputs'] = inputs
        return results

    def __repr__(self):
        return f'PackInputs(keys={self.keys})'
