"""Geometric transforms applied consistently to every map of a sample.

Maps: ``img``, ``fg``, ``bg`` (BGR uint8, cubic), ``alpha`` (uint8, cubic), ``trimap`` (uint8,
nearest). Randomness comes from ``results['rng']`` (a ``numpy.random.Generator`` seeded per sample
by the dataset), never from global state.
"""

from typing import Tuple, Union

import cv2
import numpy as np

from ...registry import TRANSFORMS

__all__ = ['RandomScale', 'RandomCrop', 'Resize', 'RandomFlip', 'ZooCropOrSquash', 'MAP_INTERP']

MAP_INTERP = {
    'img': cv2.INTER_CUBIC,
    'fg': cv2.INTER_CUBIC,
    'bg': cv2.INTER_CUBIC,
    'alpha': cv2.INTER_CUBIC,
    'trimap': cv2.INTER_NEAREST,
}


def _present(results):
    return [k for k in MAP_INTERP if results.get(k) is not None]


def _resize_all(results, width, height):
    for key in _present(results):
        results[key] = cv2.resize(results[key], (width, height), interpolation=MAP_INTERP[key])
    return results


def _rng(results):
    rng = results.get('rng')
    if rng is None:
        raise KeyError('random transforms need results["rng"] (set by the dataset)')
    return rng


def _pair(size):
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f'size must be an int or (width, height), got {size}')
    return int(size[0]), int(size[1])


@TRANSFORMS.register_module()
class RandomScale:
    """With probability ``prob``, resize by ``s ~ U(scale_range)`` to ``(int(w*s), int(h*s))``.

    Required keys: ``img`` (and any of alpha, trimap, fg, bg). Modified: the same maps.

    Args:
        scale_range (tuple[float]): lower and upper scale.
        prob (float): probability of scaling.
    """

    def __init__(self, scale_range: Tuple[float, float] = (0.75, 1.25), prob: float = 0.5):
        self.scale_range = tuple(scale_range)
        self.prob = prob

    def __call__(self, results):
        rng = _rng(results)
        if rng.random() >= self.prob:
            return results
        s = rng.uniform(*self.scale_range)
        h, w = results['img'].shape[:2]
        return _resize_all(results, max(1, int(w * s)), max(1, int(h * s)))

    def __repr__(self):
        return f'RandomScale(scale_range={self.scale_range}, prob={self.prob})'


@TRANSFORMS.register_module()
class RandomCrop:
    """Crop ``crop_size`` at a random position (optionally centred on an unknown pixel).

    An image smaller than the crop is first scaled up (aspect kept) so both sides fit.

    Required keys: ``img``; ``alpha`` or ``trimap`` for unknown-centred crops. Modified: all maps.

    Args:
        crop_size (int | tuple[int]): ``(width, height)``.
        unknown_prob (float): probability of centring the crop on a random unknown pixel
            (``0 < alpha < 255``, or trimap 128 when there is no alpha).
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]] = 320, unknown_prob: float = 0.0):
        self.crop_w, self.crop_h = _pair(crop_size)
        self.unknown_prob = unknown_prob

    def __call__(self, results):
        rng = _rng(results)
        h, w = results['img'].shape[:2]
        if h < self.crop_h or w < self.crop_w:
            s = max(self.crop_h / h, self.crop_w / w)
            results = _resize_all(
                results,
                max(self.crop_w, int(np.ceil(w * s))),
                max(self.crop_h, int(np.ceil(h * s))),
            )
            h, w = results['img'].shape[:2]
        x0 = y0 = None
        if self.unknown_prob > 0 and rng.random() < self.unknown_prob:
            if results.get('alpha') is not None:
                ys, xs = np.nonzero((results['alpha'] > 0) & (results['alpha'] < 255))
            elif results.get('trimap') is not None:
                ys, xs = np.nonzero(results['trimap'] == 128)
            else:
                ys = xs = np.zeros(0, int)
            if len(ys):
                k = rng.integers(len(ys))
                x0 = int(np.clip(xs[k] - self.crop_w // 2, 0, w - self.crop_w))
                y0 = int(np.clip(ys[k] - self.crop_h // 2, 0, h - self.crop_h))
        if x0 is None:
            x0 = int(rng.integers(0, w - self.crop_w + 1))
            y0 = int(rng.integers(0, h - self.crop_h + 1))
        for key in _present(results):
            results[key] = np.ascontiguousarray(
                results[key][y0 : y0 + self.crop_h, x0 : x0 + self.crop_w]
            )
        return results

    def __repr__(self):
        return (
            f'RandomCrop(crop_size=({self.crop_w}, {self.crop_h}), '
            f'unknown_prob={self.unknown_prob})'
        )


@TRANSFORMS.register_module()
class Resize:
    """Resize every map to ``size``: plain (squash) or aspect-preserving with padding.

    Required keys: ``img``. Modified: all maps; added: ``pad_shape`` (H, W before padding).

    Args:
        size (int | tuple[int]): target ``(width, height)``.
        keep_ratio (bool): scale to fit inside ``size`` and pad bottom/right (zeros: black image,
            alpha 0, trimap background).
    """

    def __init__(self, size: Union[int, Tuple[int, int]] = 320, keep_ratio: bool = False):
        self.width, self.height = _pair(size)
        self.keep_ratio = keep_ratio

    def __call__(self, results):
        if not self.keep_ratio:
            results = _resize_all(results, self.width, self.height)
            results['pad_shape'] = (self.height, self.width)
            return results
        h, w = results['img'].shape[:2]
        s = min(self.width / w, self.height / h)
        nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
        results = _resize_all(results, nw, nh)
        for key in _present(results):
            arr = results[key]
            pad = [(0, self.height - nh), (0, self.width - nw)] + [(0, 0)] * (arr.ndim - 2)
            results[key] = np.pad(arr, pad)
        results['pad_shape'] = (nh, nw)
        return results

    def __repr__(self):
        return f'Resize(size=({self.width}, {self.height}), keep_ratio={self.keep_ratio})'


@TRANSFORMS.register_module()
class RandomFlip:
    """Flip every map horizontally with ``prob``; vertically only when ``vertical_prob > 0``.

    Upside-down people (the model zoo's vertical flips) are off by default.

    Required keys: ``img``. Modified: all maps.

    Args:
        prob (float): horizontal flip probability.
        vertical_prob (float): vertical flip probability (the zoo used 0.5).
    """

    def __init__(self, prob: float = 0.5, vertical_prob: float = 0.0):
        self.prob = prob
        self.vertical_prob = vertical_prob

    def __call__(self, results):
        rng = _rng(results)
        vertical = self.vertical_prob > 0 and rng.random() < self.vertical_prob
        horizontal = rng.random() < self.prob
        for key in _present(results):
            if vertical:
                results[key] = np.ascontiguousarray(results[key][::-1])
            if horizontal:
                results[key] = np.ascontiguousarray(results[key][:, ::-1])
        return results

    def __repr__(self):
        return f'RandomFlip(prob={self.prob}, vertical_prob={self.vertical_prob})'


@TRANSFORMS.register_module()
class ZooCropOrSquash:
    """The model zoo's geometry: with ``crop_prob`` crop ``size`` x ``size`` (when both sides are
    larger, else squash), otherwise squash the whole image to ``size`` x ``size``.

    Positions follow Python's ``randrange(0, w - size)`` (the last offset is never drawn).

    Required keys: ``img``. Modified: all maps.

    Args:
        size (int): output side (320).
        crop_prob (float): probability of the crop branch (0.5).
    """

    def __init__(self, size: int = 320, crop_prob: float = 0.5):
        self.size = int(size)
        self.crop_prob = crop_prob

    def __call__(self, results):
        rng = _rng(results)
        h, w = results['img'].shape[:2]
        s = self.size
        if rng.random() < self.crop_prob and h > s and w > s:
            x0, y0 = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
            for key in _present(results):
                results[key] = np.ascontiguousarray(results[key][y0 : y0 + s, x0 : x0 + s])
            return results
        return _resize_all(results, s, s)

    def __repr__(self):
        return f'ZooCropOrSquash(size={self.size}, crop_prob={self.crop_prob})'
