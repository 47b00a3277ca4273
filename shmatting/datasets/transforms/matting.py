"""Matting-specific transforms: online trimaps and compositing onto new backgrounds."""

import os
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from ...registry import TRANSFORMS
from ..image_io import IMAGE_EXTENSIONS, read_image
from .trimap_ops import trimap_from_alpha, zoo_trimap_from_alpha

__all__ = ['GenerateTrimap', 'CompositeBackground', 'random_background']


@TRANSFORMS.register_module()
class GenerateTrimap:
    """Make ``trimap`` ({0, 128, 255}) from ``alpha`` with an elliptic kernel.

    Required keys: ``alpha``. Added: ``trimap``.

    Args:
        kernel_size (int | tuple[int]): a size, or an inclusive ``(min, max)`` range drawn per
            sample (the paper: random kernels make M-Net robust to trimap widths).
        fg_threshold (int): alpha at or above it is opaque foreground.
        zoo_compat (bool): the model zoo's soft-alpha morphology and loader quantisation.
    """

    def __init__(
        self,
        kernel_size: Union[int, Tuple[int, int]] = 10,
        fg_threshold: int = 255,
        zoo_compat: bool = False,
    ):
        if isinstance(kernel_size, (list, tuple)):
            if len(kernel_size) != 2 or kernel_size[0] > kernel_size[1] or kernel_size[0] < 1:
                raise ValueError(
                    f'kernel_size range must be (min, max) with 1 <= min <= max, got {kernel_size}'
                )
            self.kernel_size = (int(kernel_size[0]), int(kernel_size[1]))
        else:
            self.kernel_size = int(kernel_size)
        self.fg_threshold = fg_threshold
        self.zoo_compat = zoo_compat

    def __call__(self, results):
        k = self.kernel_size
        if isinstance(k, tuple):
            k = int(results['rng'].integers(k[0], k[1] + 1))
        if self.zoo_compat:
            results['trimap'] = zoo_trimap_from_alpha(results['alpha'], k)
        else:
            results['trimap'] = trimap_from_alpha(results['alpha'], k, self.fg_threshold)
        return results

    def __repr__(self):
        return (
            f'GenerateTrimap(kernel_size={self.kernel_size}, fg_threshold={self.fg_threshold}, '
            f'zoo_compat={self.zoo_compat})'
        )


def random_background(rng, height, width):
    """A procedural background: a colour gradient with soft blobs and noise (BGR uint8).

    Drawn and blurred at 1/8 resolution, then upscaled: a few milliseconds at 600 x 800.
    """
    sh, sw = max(2, height // 8), max(2, width // 8)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, sh, dtype=np.float32)[:, None, None]
    small = (c0 * (1 - t) + c1 * t) * np.ones((1, sw, 1), np.float32)
    for _ in range(int(rng.integers(2, 6))):
        center = (int(rng.integers(0, sw)), int(rng.integers(0, sh)))
        axes = (
            int(rng.integers(sw // 10 + 1, sw // 2 + 2)),
            int(rng.integers(sh // 10 + 1, sh // 2 + 2)),
        )
        cv2.ellipse(
            small,
            center,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            tuple(float(v) for v in rng.uniform(0, 255, 3)),
            -1,
        )
    small = cv2.GaussianBlur(small, (0, 0), max(0.5, sw / 60))
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    bg += 6 * rng.standard_normal(bg.shape, dtype=np.float32)
    return np.clip(bg, 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class CompositeBackground:
    """Composite the foreground onto a new background: ``img = fg * a + bg * (1 - a)``.

    The background is a random image of ``bg_dir`` (resized to cover, then cropped) or, without a
    folder, a procedural one. When the sample is not composited (probability ``1 - prob``) the true
    background is unknown, so ``fg`` and ``bg`` are both set to the image, which makes its
    composition-loss term zero.

    Required keys: ``img``, ``alpha``; ``fg`` if present (else the image is the foreground).
    Modified: ``img``. Added: ``fg``, ``bg``.

    Args:
        bg_dir (str, optional): folder of background images (searched recursively).
        prob (float): probability of compositing.
    """

    def __init__(self, bg_dir: Optional[str] = None, prob: float = 1.0):
        self.bg_dir = bg_dir
        self.prob = prob
        self._files = None
        if bg_dir is not None:
            if not os.path.isdir(bg_dir):
                raise FileNotFoundError(f'CompositeBackground: bg_dir not found: {bg_dir}')
            files = []
            for root, _, names in os.walk(bg_dir):
                files += [
                    os.path.join(root, n)
                    for n in names
                    if n.lower().endswith(IMAGE_EXTENSIONS) and not n.startswith('.')
                ]
            if not files:
                raise FileNotFoundError(f'CompositeBackground: no images in bg_dir {bg_dir}')
            self._files = sorted(files)

    def _background(self, rng, h, w):
        if self._files is None:
            return random_background(rng, h, w)
        bg = read_image(self._files[int(rng.integers(len(self._files)))])
        bh, bw = bg.shape[:2]
        s = max(h / bh, w / bw)
        bg = cv2.resize(
            bg,
            (max(w, int(np.ceil(bw * s))), max(h, int(np.ceil(bh * s)))),
            interpolation=cv2.INTER_LINEAR,
        )
        y0 = int(rng.integers(0, bg.shape[0] - h + 1))
        x0 = int(rng.integers(0, bg.shape[1] - w + 1))
        return np.ascontiguousarray(bg[y0 : y0 + h, x0 : x0 + w])

    def __call__(self, results):
        rng = results['rng']
        img = results['img']
        fg = results.get('fg')
        if fg is None:
            fg = img
        if rng.random() >= self.prob:
            results['fg'] = img
            results['bg'] = img
            return results
        h, w = img.shape[:2]
        bg = self._background(rng, h, w)
        a = results['alpha'].astype(np.float32)[..., None] / 255.0
        results['img'] = np.clip(np.rint(fg * a + bg * (1 - a)), 0, 255).astype(np.uint8)
        results['fg'] = fg
        results['bg'] = bg
        return results

    def __repr__(self):
        return f'CompositeBackground(bg_dir={self.bg_dir!r}, prob={self.prob})'
