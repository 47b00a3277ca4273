"""The test-time protocol: how an image of any size goes through the network and back.

``test_cfg.resize``:

* ``'pad'`` (default): pad bottom/right to the size divisor (replicate), full resolution, crop back.
* ``'squash'``: resize to ``size`` x ``size`` (bicubic), the model zoo's and the exported model's
  protocol, then resize the alpha back (bicubic).
* ``'long_side'``: scale down so the long side is at most ``long_side`` (the paper used 1500), pad,
  then resize back.

``test_cfg.clamp`` (default True) clips alpha to [0, 1] *after* resizing back.
"""

import cv2
import numpy as np

__all__ = ['PROTOCOLS', 'protocol_name', 'predict_image']

PROTOCOLS = ('pad', 'squash', 'long_side')


def protocol_name(test_cfg):
    """A short description of the protocol for reports, e.g. ``'squash 320, clamp'``."""
    test_cfg = test_cfg or {}
    mode = test_cfg.get('resize', 'pad')
    if mode not in PROTOCOLS:
        raise ValueError(f'test_cfg.resize must be one of {PROTOCOLS}, got {mode!r}')
    detail = {
        'pad': '',
        'squash': f' {test_cfg.get("size", 320)}',
        'long_side': f' {test_cfg.get("long_side", 1500)}',
    }[mode]
    return f'{mode}{detail}, {"clamp" if test_cfg.get("clamp", True) else "no clamp"}'


def _resize_chw(arr, width, height, interp):
    """Resize a C x H x W float array."""
    hwc = np.ascontiguousarray(arr.transpose(1, 2, 0))
    out = cv2.resize(hwc, (width, height), interpolation=interp)
    if out.ndim == 2:
        out = out[..., None]
    return out.transpose(2, 0, 1)


def predict_image(model, img, test_cfg=None, trimap_onehot=None):
    """Run ``model`` on one normalised image under the protocol.

    Args:
        model: an SHM-like cell: ``model(img[, trimap]) -> (trimap_logits, alpha)``.
        img (np.ndarray): ``3 x H x W`` (or ``1 x 3 x H x W``) normalised float32.
        test_cfg (dict): ``resize``, ``size``, ``long_side``, ``clamp``, ``size_divisor``.
        trimap_onehot (np.ndarray, optional): ``3 x H x W`` one-hot trimap fed instead of T-Net's.

    Returns:
        tuple: ``(alpha H x W float32, trimap classes H x W int32)`` at the input size.
    """
    import mindspore as ms

    test_cfg = dict(test_cfg or {})
    mode = test_cfg.get('resize', 'pad')
    if mode not in PROTOCOLS:
        raise ValueError(f'test_cfg.resize must be one of {PROTOCOLS}, got {mode!r}')
    img = np.asarray(img, np.float32)
    img = img[0] if img.ndim == 4 else img
    extra = None if trimap_onehot is None else np.asarray(trimap_onehot, np.float32)
    extra = extra[0] if extra is not None and extra.ndim == 4 else extra
    _, h, w = img.shape
    divisor = int(test_cfg.get('size_divisor') or getattr(model, 'size_divisor', 32))

    if mode == 'squash':
        size = int(test_cfg.get('size', 320))
        net_h = net_w = size
    elif mode == 'long_side':
        limit = int(test_cfg.get('long_side', 1500))
        s = min(1.0, limit / max(h, w))
        net_h, net_w = max(1, int(round(h * s))), max(1, int(round(w * s)))
    else:
        net_h, net_w = h, w
    x = img if (net_h, net_w) == (h, w) else _resize_chw(img, net_w, net_h, cv2.INTER_CUBIC)
    t = None
    if extra is not None:
        t = (
            extra
            if (net_h, net_w) == (h, w)
            else _resize_chw(extra, net_w, net_h, cv2.INTER_NEAREST)
        )
    pad_h, pad_w = (-net_h) % divisor, (-net_w) % divisor
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w)), mode='edge')
        if t is not None:
            t = np.pad(t, ((0, 0), (0, pad_h), (0, pad_w)), mode='edge')
    args = (ms.Tensor(x[None]),) if t is None else (ms.Tensor(x[None]), ms.Tensor(t[None]))
    logits, alpha = model(*args)
    alpha = alpha.asnumpy()[0, 0, :net_h, :net_w]
    classes = logits.asnumpy()[0, :, :net_h, :net_w].argmax(0).astype(np.int32)
    if (net_h, net_w) != (h, w):
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_CUBIC)
        classes = cv2.resize(
            classes.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST
        ).astype(np.int32)
    if test_cfg.get('clamp', True):
        alpha = np.clip(alpha, 0.0, 1.0)
    return alpha.astype(np.float32), classes
