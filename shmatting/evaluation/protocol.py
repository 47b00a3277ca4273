"""The test-time protocol: how an image of any size goes through the network and back.

``test_cfg.resize``:

* ``'pad'`` (default): pad bottom/right to the size divisor (replicate), full resolution, crop back.
* ``'squash'``: resize to ``size`` x ``size`` (or ``size=(H, W)``; bicubic), the model zoo's and
  the exported model's protocol, then resize the alpha back (bicubic).
* ``'long_side'``: scale down so the long side is at most ``long_side`` (the paper used 1500), pad,
  then resize back.

``test_cfg.clamp`` (default True) clips alpha to [0, 1] *after* resizing back.

Test-time augmentation (``pad`` and ``long_side``): ``flip=True`` averages the prediction with the
horizontally flipped image's, flipped back; ``scales=[0.75, 1.0, 1.25]`` runs the network at
those multiples of the protocol's size and averages the results at the image's size (alpha
bicubic, trimap probabilities bilinear, classes their argmax). Reports name both.

Memory: the network needs about :data:`BYTES_PER_PIXEL` bytes per input pixel at inference. An
image whose run would not fit in ``test_cfg.max_pixels`` (default: what 80% of the available
memory holds) is run smaller, at the largest size that fits, with a warning naming the option,
instead of driving the machine out of memory.
"""

import logging
import math
from typing import Any, Optional, Tuple

import cv2
import numpy as np

__all__ = ['PROTOCOLS', 'protocol_name', 'predict_image', 'BYTES_PER_PIXEL', 'pixel_budget']

PROTOCOLS = ('pad', 'squash', 'long_side')
# peak inference memory per input pixel of the zoo network: 2.0-2.2 KB measured at 640-1280 px
# (GRAPH and PyNative, `ru_maxrss` growth / pixels), plus margin
BYTES_PER_PIXEL = 2400
logger = logging.getLogger('shmatting')


def _tta(test_cfg: dict) -> Tuple[bool, tuple]:
    flip = bool(test_cfg.get('flip', False))
    scales = tuple(float(s) for s in (test_cfg.get('scales') or (1.0,)))
    if any(s <= 0 for s in scales):
        raise ValueError(f'test_cfg.scales must be positive, got {scales}')
    if test_cfg.get('resize', 'pad') == 'squash' and scales != (1.0,):
        raise ValueError(
            'test_cfg.scales applies to the pad and long_side protocols, not squash '
            '(the exported model has one input size)'
        )
    return flip, scales


def protocol_name(test_cfg: Optional[dict]) -> str:
    """A short description of the protocol for reports, e.g. ``'squash 320, clamp'`` or
    ``'pad, clamp, flip, scales 0.75/1/1.25'``."""
    test_cfg = test_cfg or {}
    mode = test_cfg.get('resize', 'pad')
    if mode not in PROTOCOLS:
        raise ValueError(f'test_cfg.resize must be one of {PROTOCOLS}, got {mode!r}')
    size = test_cfg.get('size', 320)
    squash = f'{size[0]}x{size[1]}' if isinstance(size, (list, tuple)) else str(size)
    detail = {
        'pad': '',
        'squash': f' {squash}',
        'long_side': f' {test_cfg.get("long_side", 1500)}',
    }[mode]
    name = f'{mode}{detail}, {"clamp" if test_cfg.get("clamp", True) else "no clamp"}'
    flip, scales = _tta(test_cfg)
    if flip:
        name += ', flip'
    if scales != (1.0,):
        name += ', scales ' + '/'.join(f'{s:g}' for s in scales)
    return name


def pixel_budget(test_cfg: Optional[dict] = None) -> int:
    """How many input pixels one network run may have: ``test_cfg.max_pixels``, else what 80%
    of the memory available now holds (``MemAvailable``), else no limit."""
    test_cfg = test_cfg or {}
    if test_cfg.get('max_pixels'):
        return int(test_cfg['max_pixels'])
    try:
        with open('/proc/meminfo', encoding='utf-8') as f:
            info = dict(line.split(':', 1) for line in f)
        available = int(info['MemAvailable'].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return 2**62
    return int(0.8 * available / BYTES_PER_PIXEL)


def _network_size(h: int, w: int, test_cfg: dict) -> Tuple[int, int]:
    mode = test_cfg.get('resize', 'pad')
    if mode not in PROTOCOLS:
        raise ValueError(f'test_cfg.resize must be one of {PROTOCOLS}, got {mode!r}')
    if mode == 'squash':  # size: S (square) or (H, W), the exported model's input
        size = test_cfg.get('size', 320)
        return (int(size[0]), int(size[1])) if isinstance(size, (list, tuple)) else (int(size),) * 2
    if mode == 'long_side':
        s = min(1.0, int(test_cfg.get('long_side', 1500)) / max(h, w))
        return max(1, int(round(h * s))), max(1, int(round(w * s)))
    return h, w


def _fit_memory(h: int, w: int, net: Tuple[int, int], scale: float, test_cfg: dict) -> tuple:
    """The network size, scaled down (with a warning) when its run would not fit in memory."""
    budget = pixel_budget(test_cfg)
    pixels = net[0] * net[1] * scale * scale
    if pixels <= budget:
        return net
    s = math.sqrt(budget / pixels)
    fit = max(1, int(net[0] * s)), max(1, int(net[1] * s))
    logger.warning(
        f'a {h}x{w} image under the {test_cfg.get("resize", "pad")!r} protocol needs about '
        f'{pixels * BYTES_PER_PIXEL / 2**30:.1f} GB: running it at {fit[0]}x{fit[1]} instead '
        f'(as long_side {max(fit)}); set model.test_cfg.resize=long_side (long_side=...) or '
        'test_cfg.max_pixels to choose'
    )
    return fit


def _resize_chw(arr: np.ndarray, width: int, height: int, interp: int) -> np.ndarray:
    """Resize a C x H x W float array."""
    hwc = np.ascontiguousarray(arr.transpose(1, 2, 0))
    out = cv2.resize(hwc, (width, height), interpolation=interp)
    if out.ndim == 2:
        out = out[..., None]
    return out.transpose(2, 0, 1)


def _run(model: Any, x: np.ndarray, t: Optional[np.ndarray], size: tuple, divisor: int) -> tuple:
    """The network on ``x`` (and ``t``) resized to ``size`` and edge-padded to the divisor:
    ``(alpha, logits)`` at ``size``."""
    import mindspore as ms

    net_h, net_w = size
    _, h, w = x.shape
    if (net_h, net_w) != (h, w):
        x = _resize_chw(x, net_w, net_h, cv2.INTER_CUBIC)
        t = None if t is None else _resize_chw(t, net_w, net_h, cv2.INTER_NEAREST)
    pad = ((0, 0), (0, (-net_h) % divisor), (0, (-net_w) % divisor))
    x = np.pad(x, pad, mode='edge')
    t = None if t is None else np.pad(t, pad, mode='edge')
    args = (ms.Tensor(x[None]),) if t is None else (ms.Tensor(x[None]), ms.Tensor(t[None]))
    logits, alpha = (_numpy(t) for t in model(*args))
    return alpha[0, 0, :net_h, :net_w], logits[0, :, :net_h, :net_w]


def _numpy(t: Any) -> np.ndarray:
    return t.asnumpy() if hasattr(t, 'asnumpy') else np.asarray(t)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


def _augmented(
    model: Any,
    x: np.ndarray,
    t: Optional[np.ndarray],
    net: tuple,
    divisor: int,
    flip: bool,
    scales: tuple,
) -> tuple:
    """Mean alpha and mean trimap probabilities at the image's size over scales and flips."""
    _, h, w = x.shape
    alphas, probs = [], []
    for s in scales:
        size = (max(1, int(round(net[0] * s))), max(1, int(round(net[1] * s))))
        views = [(x, t, False)] + (
            [(x[:, :, ::-1], None if t is None else t[:, :, ::-1], True)] if flip else []
        )
        for vx, vt, flipped in views:
            a, logits = _run(model, np.ascontiguousarray(vx), vt, size, divisor)
            p = _softmax(logits)
            if flipped:
                a, p = a[:, ::-1], p[:, :, ::-1]
            alphas.append(
                cv2.resize(np.ascontiguousarray(a), (w, h), interpolation=cv2.INTER_CUBIC)
            )
            probs.append(_resize_chw(np.ascontiguousarray(p), w, h, cv2.INTER_LINEAR))
    return np.mean(alphas, axis=0), np.mean(probs, axis=0)


def predict_image(
    model: Any,
    img: np.ndarray,
    test_cfg: Optional[dict] = None,
    trimap_onehot: Optional[np.ndarray] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Run ``model`` on one normalised image under the protocol.

    Args:
        model: an SHM-like cell: ``model(img[, trimap]) -> (trimap_logits, alpha)``.
        img (np.ndarray): ``3 x H x W`` (or ``1 x 3 x H x W``) normalised float32.
        test_cfg (dict): ``resize``, ``size``, ``long_side``, ``clamp``, ``size_divisor``,
            ``flip``, ``scales``, ``max_pixels``.
        trimap_onehot (np.ndarray, optional): ``3 x H x W`` one-hot trimap fed instead of T-Net's.

    Returns:
        tuple: ``(alpha H x W float32, trimap classes H x W int32)`` at the input size.
    """
    test_cfg = dict(test_cfg or {})
    img = np.asarray(img, np.float32)
    img = img[0] if img.ndim == 4 else img
    t = None if trimap_onehot is None else np.asarray(trimap_onehot, np.float32)
    t = t[0] if t is not None and t.ndim == 4 else t
    _, h, w = img.shape
    divisor = int(test_cfg.get('size_divisor') or getattr(model, 'size_divisor', 32))
    flip, scales = _tta(test_cfg)
    net = _fit_memory(h, w, _network_size(h, w, test_cfg), max(scales), test_cfg)
    if flip or scales != (1.0,):
        alpha, probs = _augmented(model, img, t, net, divisor, flip, scales)
        classes = probs.argmax(0).astype(np.int32)
    else:
        alpha, logits = _run(model, img, t, net, divisor)
        classes = logits.argmax(0).astype(np.int32)
        if net != (h, w):
            alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_CUBIC)
            classes = cv2.resize(
                classes.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST
            ).astype(np.int32)
    if test_cfg.get('clamp', True):
        alpha = np.clip(alpha, 0.0, 1.0)
    return alpha.astype(np.float32), classes
