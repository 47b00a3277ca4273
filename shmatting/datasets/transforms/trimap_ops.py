"""Trimap generation from an alpha matte (uint8 {0 bg, 128 unknown, 255 fg})."""

import cv2
import numpy as np

__all__ = [
    'ellipse_kernel',
    'trimap_from_alpha',
    'zoo_trimap_from_alpha',
    'trimap_to_index',
    'TRIMAP_BG',
    'TRIMAP_UNKNOWN',
    'TRIMAP_FG',
]

TRIMAP_BG, TRIMAP_UNKNOWN, TRIMAP_FG = 0, 128, 255


def ellipse_kernel(size):
    """An elliptic structuring element of ``size`` x ``size`` (``size >= 1``)."""
    size = int(size)
    if size < 1:
        raise ValueError(f'kernel size must be >= 1, got {size}')
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def trimap_from_alpha(alpha, kernel_size=10, fg_threshold=255):
    """The fixed trimap: eroded certain foreground, dilated support, unknown in between.

    ``fg = erode(alpha >= fg_threshold)``, ``unknown = dilate(alpha > 0) - fg``, background
    elsewhere, both with an elliptic kernel of ``kernel_size``. Faint background noise is not "fg",
    semi-transparent regions are "unknown" (the model zoo's soft-alpha morphology mislabelled
    both).

    Args:
        alpha (np.ndarray): ``H x W`` uint8 alpha.
        kernel_size (int): ellipse size in pixels.
        fg_threshold (int): alpha at or above it counts as opaque foreground.

    Returns:
        np.ndarray: ``H x W`` uint8 trimap in {0, 128, 255}.
    """
    if alpha.ndim == 3:
        alpha = alpha[..., 0]
    kernel = ellipse_kernel(kernel_size)
    fg = cv2.erode((alpha >= fg_threshold).astype(np.uint8), kernel)
    support = cv2.dilate((alpha > 0).astype(np.uint8), kernel)
    trimap = np.zeros(alpha.shape, np.uint8)
    trimap[support > 0] = TRIMAP_UNKNOWN
    trimap[fg > 0] = TRIMAP_FG
    return trimap


def zoo_trimap_from_alpha(alpha, kernel_size=10):
    """The model zoo's trimap, bit for bit, quantised by its loader's rule.

    ``generate_datasets.py`` dilates and erodes the *soft* alpha (as float64 in [0, 1]), marks
    ``(dil == 255) & (ero == 0)`` as 128 and writes ``dil`` elsewhere (rounded to uint8); the loader
    then maps 0 -> background, >= 250 -> foreground and everything else -> unknown.

    Args:
        alpha (np.ndarray): ``H x W`` uint8 alpha.
        kernel_size (int): the zoo's ``ksize`` (10).

    Returns:
        np.ndarray: ``H x W`` uint8 trimap in {0, 128, 255}.
    """
    if alpha.ndim == 3:
        alpha = alpha[..., 0]
    kernel = ellipse_kernel(kernel_size)
    m = alpha.astype(np.float64) / 255.0
    dil = cv2.dilate(m, kernel) * 255
    ero = cv2.erode(m, kernel) * 255
    res = dil.copy()
    res[(dil == 255) & (ero == 0)] = 128
    written = np.clip(np.rint(res), 0, 255).astype(np.uint8)  # cv2.imwrite's saturate_cast
    trimap = np.full(alpha.shape, TRIMAP_UNKNOWN, np.uint8)
    trimap[written == 0] = TRIMAP_BG
    trimap[written >= 250] = TRIMAP_FG
    return trimap


def trimap_to_index(trimap):
    """{0, 128, 255} (any uint8: 0 -> bg, >= 250 -> fg, else unknown) -> {0, 1, 2} int32."""
    index = np.ones(trimap.shape, np.int32)
    index[trimap == 0] = 0
    index[trimap >= 250] = 2
    return index
