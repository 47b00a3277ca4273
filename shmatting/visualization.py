"""Saving mattes for people to look at: alpha PNG, trimap and composite on a plain background."""

import os
import os.path as osp

import cv2
import numpy as np

from .datasets.image_io import write_image

__all__ = [
    'composite',
    'parse_background',
    'save_visualization',
    'gray',
    'trimap_image',
    'error_map',
    'labelled_row',
]

COLORS = {
    'green': (0, 255, 0),
    'blue': (255, 0, 0),
    'red': (0, 0, 255),
    'white': (255, 255, 255),
    'black': (0, 0, 0),
    'gray': (128, 128, 128),
}


def parse_background(spec, shape):
    """A background image of ``shape`` (H, W) from a colour name, ``B,G,R`` or an image path."""
    h, w = shape
    if spec in COLORS or (isinstance(spec, str) and spec.count(',') == 2):
        bgr = COLORS.get(spec) or tuple(int(v) for v in spec.split(','))
        return np.full((h, w, 3), bgr, np.uint8)
    img = cv2.imread(spec, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(
            f'background must be a colour ({", ".join(COLORS)} or B,G,R) or a '
            f'readable image, got {spec!r}'
        )
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)


def composite(image, alpha, background):
    """``alpha * image + (1 - alpha) * background`` as uint8."""
    a = np.clip(alpha, 0, 1)[..., None]
    return np.clip(np.rint(a * image + (1 - a) * background), 0, 255).astype(np.uint8)


def save_visualization(out_dir, rel, img_path, alpha, classes=None, background='green'):
    """Write ``<rel>_alpha.png``, ``<rel>_trimap.png`` and ``<rel>_composite.jpg`` under out_dir."""
    base = osp.join(out_dir, rel)
    os.makedirs(osp.dirname(base), exist_ok=True)
    write_image(base + '_alpha.png', np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8))
    if classes is not None:
        write_image(base + '_trimap.png', (np.asarray(classes) * 127.5).round().astype(np.uint8))
    image = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if image is not None:
        write_image(
            base + '_composite.jpg',
            composite(image, alpha, parse_background(background, image.shape[:2])),
        )


def gray(values: np.ndarray) -> np.ndarray:
    """An H x W map in [0, 1] (alpha) as a BGR uint8 image."""
    g = np.rint(np.clip(values, 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)


def trimap_image(classes: np.ndarray) -> np.ndarray:
    """Trimap classes (0 background, 1 unknown, 2 foreground) as black / grey / white BGR."""
    return gray(np.asarray(classes, np.float32) / 2.0)


def error_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``|pred - gt|`` in a JET colour map (blue 0, red 1) as BGR uint8."""
    diff = np.rint(np.clip(np.abs(pred - gt), 0, 1) * 255).astype(np.uint8)
    return cv2.applyColorMap(diff, cv2.COLORMAP_JET)


def labelled_row(tiles: list, labels: list, height: int = 240) -> np.ndarray:
    """Tiles side by side, each scaled to ``height`` with its label written at the top."""
    row = []
    for tile, label in zip(tiles, labels):
        h, w = tile.shape[:2]
        tile = cv2.resize(
            tile,
            (max(1, round(w * height / h)), height),
            interpolation=cv2.INTER_AREA if h > height else cv2.INTER_LINEAR,
        )
        cv2.rectangle(tile, (0, 0), (tile.shape[1], 18), (0, 0, 0), -1)
        cv2.putText(
            tile, label, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA
        )
        row.append(tile)
    return np.concatenate(row, axis=1)
