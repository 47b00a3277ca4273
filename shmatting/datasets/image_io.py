"""Reading images safely: the one list of image extensions, and corrupt files named, never
decoded half.

OpenCV decodes a truncated JPEG with a grey lower half (libjpeg only prints an unnamed warning)
and a truncated PNG sometimes too, so :func:`read_image` first checks that the file ends as its
format says it must: a JPEG with its end-of-image marker, a PNG with its ``IEND`` chunk.
"""

import os
import uuid
from typing import Optional, Sequence

import cv2
import numpy as np

__all__ = [
    'IMAGE_EXTENSIONS',
    'CorruptSampleError',
    'read_image',
    'write_image',
    'check_complete',
    'as_uint8_bgr',
]

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
_PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'
_JPEG_TAIL = 4096  # bytes searched for the end-of-image marker (some writers pad after it)


class CorruptSampleError(RuntimeError):
    """A sample's file is missing, empty, truncated or unreadable (training replaces and counts
    it; evaluation names it and leaves it out)."""


def check_complete(path: str) -> None:
    """Raise :class:`CorruptSampleError` when ``path`` is empty or a truncated JPEG/PNG.

    Args:
        path (str): an image file.
    """
    size = os.path.getsize(path)
    if size == 0:
        raise CorruptSampleError(f'empty file: {path}')
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, size - _JPEG_TAIL))
        tail = f.read()
    if head.startswith(b'\xff\xd8') and b'\xff\xd9' not in tail:
        raise CorruptSampleError(f'truncated JPEG (no end-of-image marker): {path}')
    if head.startswith(b'\x89PNG\r\n\x1a\n') and not tail.endswith(_PNG_END):
        raise CorruptSampleError(f'truncated PNG (no IEND chunk at the end): {path}')


def read_image(path: Optional[str], flag: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Read an image or raise :class:`CorruptSampleError` naming the file.

    Args:
        path (str): the file.
        flag (int): ``cv2.IMREAD_COLOR`` (BGR uint8) or ``cv2.IMREAD_GRAYSCALE``.

    Returns:
        np.ndarray: the image.
    """
    if path is None or not os.path.isfile(path):
        raise CorruptSampleError(f'missing file: {path}')
    check_complete(path)
    img = cv2.imread(path, flag)
    if img is None or img.size == 0:
        raise CorruptSampleError(f'unreadable image: {path}')
    return img


def write_image(path: str, image: np.ndarray, params: Sequence[int] = ()) -> str:
    """Write an image whole or not at all, creating its folder.

    ``cv2.imwrite`` returns False (and writes nothing, or a part) for a missing folder, an unknown
    extension or a full disk; here each of those raises, and the file appears only complete (a
    temp file renamed over it).

    Args:
        path (str): destination; the extension picks the format.
        image (np.ndarray): what ``cv2.imencode`` accepts (uint8 BGR, grey, BGRA).
        params (Sequence[int]): ``cv2.IMWRITE_*`` flags, e.g. JPEG quality.

    Returns:
        str: ``path``.
    """
    ext = os.path.splitext(path)[1]
    if ext.lower() not in IMAGE_EXTENSIONS:
        raise ValueError(f'cannot write {path}: the extension must be one of {IMAGE_EXTENSIONS}')
    ok, buf = cv2.imencode(ext, image, list(params))
    if not ok:
        raise OSError(f'cannot encode {path} (shape {np.shape(image)}, dtype {image.dtype})')
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f'.{os.path.basename(path)}.{uuid.uuid4().hex[:6]}.tmp')
    try:
        with open(tmp, 'wb') as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def as_uint8_bgr(image: np.ndarray, what: str = 'image') -> np.ndarray:
    """A BGR uint8 copy of an image given as uint8, uint16 or float.

    The rule: uint8 is taken as is; uint16 is divided by 257 (65535 -> 255); float images must
    lie in [0, 1] and are multiplied by 255; NaN or Inf values, an empty image or another dtype
    are refused. Grey (H x W or H x W x 1) images are repeated to three channels; a fourth
    (alpha) channel is dropped.

    Args:
        image (np.ndarray): H x W, H x W x 1, 3 or 4.
        what (str): how messages name it.

    Returns:
        np.ndarray: H x W x 3 uint8.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f'{what} must be a numpy array, got {type(image).__name__}')
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f'{what} must be H x W, H x W x 1, 3 or 4, got shape {image.shape}')
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{what} is empty (shape {image.shape})')
    image = image[..., :3] if image.shape[2] == 4 else image
    image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image)
    if image.dtype == np.uint16:
        return (image.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if image.dtype.kind == 'f':
        if not np.isfinite(image).all():
            raise ValueError(f'{what} holds NaN or Inf values')
        if image.min() < 0 or image.max() > 1:
            raise ValueError(
                f'a float {what} must lie in [0, 1] (got {image.min():.3g} to '
                f'{image.max():.3g}); pass uint8 for 0-255 values'
            )
        return (image * 255.0 + 0.5).astype(np.uint8)
    raise TypeError(f'{what} must be uint8, uint16 or float, got {image.dtype}')
