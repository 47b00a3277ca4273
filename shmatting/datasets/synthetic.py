"""Synthetic "portraits" in the raw AISegment layout, for tests and the quick start.

``clip_img/<date>/clip_<n>/<date>-<id>.jpg`` holds the composite image and
``matting/<date>/matting_<n>/<date>-<id>.png`` the RGBA cut-out (alpha in channel 3), exactly as the
"Matting Human Datasets" archive; ``backgrounds/`` holds extra background images for compositing.
Each person has a head, neck and shoulders with hard edges, a hair-like soft boundary of thin
strands, and a semi-transparent scarf.
"""

import os
import os.path as osp

import cv2
import numpy as np

from .image_io import write_image
from .transforms.matting import random_background

__all__ = ['make_portrait', 'write_synthetic_dataset', 'raw_paths']

GROUP_SIZE = 25
DATES_BASE = 1803151818


def raw_paths(root, index):
    """The clip and matting paths of sample ``index`` in the raw layout."""
    date = str(DATES_BASE + index // (GROUP_SIZE * 2))
    group = (index // GROUP_SIZE) % 2
    stem = f'{date}-{index:08d}'
    clip = osp.join(root, 'clip_img', date, f'clip_{group:08d}', stem + '.jpg')
    matting = osp.join(root, 'matting', date, f'matting_{group:08d}', stem + '.png')
    return clip, matting


class _Painter:
    """Paints colours into the foreground where masks are set (each colour slightly noisy)."""

    def __init__(self, rng, height, width):
        self.rng = rng
        self.fg = np.zeros((height, width, 3), np.float32)

    def paint(self, mask, color, noise=8.0):
        m = mask[..., None]
        col = np.asarray(color, np.float32) + self.rng.normal(0, noise, 3)
        self.fg[:] = self.fg * (1 - m) + col * m


def _ellipse_mask(h, w, center, axes, angle=0.0, start=0, end=360):
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, center, axes, angle, start, end, 1.0, -1)
    return mask


def _body(rng, painter, h, w, cx, head_cy, head_ax):
    """Torso (striped cloth), neck and head; returns their union."""
    torso = _ellipse_mask(
        h, w, (int(cx), int(h * 1.02)), (int(w * rng.uniform(0.32, 0.45)), int(h * 0.42))
    )
    neck = np.zeros((h, w), np.float32)
    nw = int(head_ax[0] * 0.45)
    cv2.rectangle(neck, (int(cx) - nw, int(head_cy)), (int(cx) + nw, int(h * 0.7)), 1.0, -1)
    head = _ellipse_mask(h, w, (int(cx), int(head_cy)), head_ax, float(rng.uniform(-8, 8)))
    skin = rng.uniform([60, 90, 130], [140, 170, 230])
    cloth = rng.uniform(0, 255, 3)
    painter.paint(torso, cloth, 4)
    wave = np.arange(h)[:, None] / (6 + 10 * rng.random()) + np.arange(w)[None] * 0.02
    painter.paint(torso * (np.sin(wave) > 0.6), np.clip(cloth * 0.6, 0, 255), 4)
    painter.paint(neck, skin)
    painter.paint(head, skin)
    return np.maximum(torso, np.maximum(neck, head))


def _hair(rng, painter, h, w, s, cx, head_cy, head_ax):
    """A cap plus thin strands leaving the head boundary (a soft, hair-like edge)."""
    hair_color = rng.uniform([10, 10, 10], [90, 80, 120])
    cap = _ellipse_mask(
        h,
        w,
        (int(cx), int(head_cy - head_ax[1] * 0.25)),
        (int(head_ax[0] * 1.12), int(head_ax[1] * 1.0)),
        0,
        180,
        360,
    )
    strands = np.zeros((h, w), np.float32)
    for _ in range(int(160 * max(s, 0.2))):
        t = rng.uniform(np.pi * 0.95, np.pi * 2.05)
        x0 = cx + head_ax[0] * 1.05 * np.cos(t)
        y0 = head_cy - head_ax[1] * 0.25 + head_ax[1] * 0.95 * np.sin(t)
        length = rng.uniform(0.05, 0.22) * h
        ang = t + rng.normal(0, 0.35)
        x1, y1 = x0 + length * np.cos(ang) * 0.5, y0 + length * np.sin(ang) * 0.6 + 0.3 * length
        value = float(rng.uniform(0.3, 0.9))
        thickness = max(1, int(round(s * rng.uniform(0.6, 1.8))))
        cv2.line(strands, (int(x0), int(y0)), (int(x1), int(y1)), value, thickness, cv2.LINE_AA)
    strands = cv2.GaussianBlur(strands, (0, 0), max(0.6, 0.9 * s))
    hair = np.clip(np.maximum(cap, strands), 0, 1)
    painter.paint(hair, hair_color, 6)
    return hair


def _scarf(rng, painter, h, w, s, cx):
    """A semi-transparent scarf over one shoulder."""
    side = rng.choice([-1, 1])
    scarf = _ellipse_mask(
        h,
        w,
        (int(cx + side * w * 0.22), int(h * 0.78)),
        (int(w * 0.2), int(h * 0.1)),
        float(rng.uniform(-30, 30)),
    )
    scarf = cv2.GaussianBlur(scarf, (0, 0), 3 * s + 0.5) * rng.uniform(0.35, 0.6)
    painter.paint(np.clip(scarf * 1.6, 0, 1), rng.uniform(0, 255, 3), 2)
    return scarf


def make_portrait(rng: np.random.Generator, width: int, height: int) -> tuple:
    """One synthetic portrait: a body, hair with strands and a semi-transparent scarf, soft
    edges, on a random background.

    Args:
        rng (np.random.Generator): the random source.
        width (int): image width.
        height (int): image height.

    Returns:
        tuple: ``(image BGR uint8, fg BGR uint8, alpha uint8)``.
    """
    w, h = width, height
    s = min(w / 600.0, h / 800.0)
    cx = w * rng.uniform(0.4, 0.6)
    head_cy = h * rng.uniform(0.3, 0.42)
    head_ax = (max(2, int(w * rng.uniform(0.12, 0.17))), max(2, int(h * rng.uniform(0.11, 0.15))))
    painter = _Painter(rng, h, w)
    alpha = _body(rng, painter, h, w, cx, head_cy, head_ax)
    alpha = np.maximum(alpha, _hair(rng, painter, h, w, s, cx, head_cy, head_ax))
    alpha = np.maximum(alpha, _scarf(rng, painter, h, w, s, cx))
    alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), max(0.5, 1.2 * s)), 0, 1)  # soft edges
    fg = np.clip(painter.fg, 0, 255)
    bg = random_background(rng, h, w).astype(np.float32)
    a = alpha[..., None]
    image = np.clip(np.rint(fg * a + bg * (1 - a)), 0, 255).astype(np.uint8)
    return image, np.rint(fg).astype(np.uint8), np.rint(alpha * 255).astype(np.uint8)


def _write_one(args):
    root, index, seed, width, height = args
    rng = np.random.default_rng([seed, index])
    image, fg, alpha = make_portrait(rng, width, height)
    clip, matting = raw_paths(root, index)
    write_image(clip, image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    write_image(matting, np.dstack([fg, alpha]))
    return index


def _write_background(args):
    root, index, seed, width, height = args
    rng = np.random.default_rng([seed, 10**6 + index])
    path = osp.join(root, 'backgrounds', f'bg_{index:05d}.jpg')
    write_image(path, random_background(rng, height, width), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return index


def write_synthetic_dataset(
    root, num=200, size=(600, 800), seed=0, num_backgrounds=None, workers=None, progress=None
):
    """Write ``num`` synthetic portraits and background images under ``root``.

    Args:
        root (str): output folder (raw AISegment layout).
        num (int): number of portraits.
        size (tuple[int]): ``(width, height)``.
        seed (int): the same seed gives the same files.
        num_backgrounds (int, optional): default ``max(8, num // 4)``.
        workers (int, optional): processes (default: the CPU count).
        progress (callable, optional): called once per finished item.

    Returns:
        dict: counts of written portraits and backgrounds.
    """
    from multiprocessing import get_context

    width, height = int(size[0]), int(size[1])
    os.makedirs(osp.join(root, 'backgrounds'), exist_ok=True)
    num_backgrounds = max(8, num // 4) if num_backgrounds is None else num_backgrounds
    jobs = [(root, i, seed, width, height) for i in range(num)]
    bg_jobs = [(root, i, seed, width, height) for i in range(num_backgrounds)]
    workers = workers or os.cpu_count() or 1
    if workers > 1 and num > 4:
        with get_context('fork').Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_one, jobs, chunksize=4):
                if progress:
                    progress()
            list(pool.imap_unordered(_write_background, bg_jobs, chunksize=4))
    else:
        for job in jobs:
            _write_one(job)
            if progress:
                progress()
        for job in bg_jobs:
            _write_background(job)
    return dict(portraits=num, backgrounds=num_backgrounds)
