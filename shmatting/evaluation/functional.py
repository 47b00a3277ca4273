"""Matting error measures in two published conventions, as pure NumPy/OpenCV functions.

``'p3m'`` (trimap-free portrait matting: P3M, GFM, AIM): whole image, mattes in [0, 1];
``SAD = sum|d| / 1000``, ``MSE = mean d^2``, ``MAD = mean|d|``, ``Grad = sum (|grad_s pred| -
|grad_s gt|)^2 / 10`` with a true Gaussian-derivative filter (sigma 1.4, 13 taps, reflect border, as
``scipy.ndimage.gaussian_filter(order=1)``), ``Conn = sum|phi_pred - phi_gt| / 1000``.

``'dim'`` (Adobe DIM MATLAB code, Comp-1k): the unknown region of a trimap only; ``SAD = sum_U|d| /
1000``, ``MSE = sum_U d^2 / |U|``, ``MAD = sum_U|d| / |U|``, ``Grad``: each matte min-max
normalised, the L2-normalised 9x9 derivative-of-Gaussian kernel (sigma 1.4, replicate border),
``sum_U (...)^2 / 1000``; ``Conn = sum_U |phi_pred - phi_gt| / 1000``.

Connectivity (both): thresholds 0, 0.1, ..., 1 as exact decimals (``k / 10``, so 153/255 counts as
>= 0.6 as in MATLAB), the largest 4-connected component where both mattes pass the threshold,
theta 0.15 (``phi = 1 - d * [d >= 0.15]``).
"""

import math

import cv2
import numpy as np

__all__ = [
    'CONVENTIONS',
    'sad',
    'mse',
    'mad',
    'gradient_error',
    'connectivity_error',
    'unknown_mask',
    'p3m_gradient_magnitude',
    'dim_gradient_magnitude',
]

CONVENTIONS = ('p3m', 'dim')
SIGMA = 1.4


def unknown_mask(trimap):
    """Boolean unknown region of a trimap given as {0, 128, 255} or as class indices {0, 1, 2}."""
    trimap = np.asarray(trimap)
    if trimap.size and trimap.max() <= 2:
        return trimap == 1
    return trimap == 128


def _region(convention, trimap, shape):
    if convention == 'p3m':
        return np.ones(shape, bool)
    if trimap is None:
        raise ValueError(
            "the 'dim' convention needs a trimap (the metric makes one from the "
            'ground truth when the data has none)'
        )
    mask = unknown_mask(trimap)
    if mask.shape != shape:
        raise ValueError(f'trimap {mask.shape} and matte {shape} differ in size')
    return mask


def sad(pred, gt, convention='p3m', trimap=None):
    """Sum of absolute differences / 1000 (whole image, or the unknown region for 'dim')."""
    region = _region(convention, trimap, gt.shape)
    return float(np.abs(pred - gt)[region].sum() / 1000.0)


def mse(pred, gt, convention='p3m', trimap=None):
    """Mean squared difference over the region (0 for an empty 'dim' region)."""
    region = _region(convention, trimap, gt.shape)
    n = region.sum()
    return float(((pred - gt) ** 2)[region].sum() / n) if n else 0.0


def mad(pred, gt, convention='p3m', trimap=None):
    """Mean absolute difference over the region (0 for an empty 'dim' region)."""
    region = _region(convention, trimap, gt.shape)
    n = region.sum()
    return float(np.abs(pred - gt)[region].sum() / n) if n else 0.0


def _gaussian_derivative_kernel(sigma=SIGMA, truncate=4.0):
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * x * x / sigma**2)
    phi /= phi.sum()
    return phi, -x / sigma**2 * phi  # smoothing and first-derivative taps


def p3m_gradient_magnitude(alpha, sigma=SIGMA):
    """|grad| with true Gaussian derivatives (``gaussian_filter(order=1)``, reflect border)."""
    smooth, deriv = _gaussian_derivative_kernel(sigma)
    a = np.asarray(alpha, np.float64)
    # filter2D correlates; flipping the taps makes it the convolution scipy computes
    kx, ks = deriv[::-1].copy(), smooth[::-1].copy()
    gx = cv2.sepFilter2D(a, cv2.CV_64F, kx, ks, borderType=cv2.BORDER_REFLECT)
    gy = cv2.sepFilter2D(a, cv2.CV_64F, ks, kx, borderType=cv2.BORDER_REFLECT)
    return np.sqrt(gx * gx + gy * gy)


def _dim_kernel(sigma=SIGMA, epsilon=1e-2):
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    u = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-(u**2) / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    dgauss = -u * gauss / sigma**2
    hx = np.outer(gauss, dgauss)  # rows: Gaussian, columns: derivative
    return hx / np.sqrt((hx * hx).sum())


def _mat2gray(a):
    lo, hi = a.min(), a.max()
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def dim_gradient_magnitude(alpha, sigma=SIGMA):
    """|grad| as the DIM MATLAB code: mat2gray, L2-normalised 9x9 kernel, replicate border."""
    a = _mat2gray(np.asarray(alpha, np.float64))
    hx = _dim_kernel(sigma)
    # imfilter(..., 'conv') == filter2D with the flipped kernel
    gx = cv2.filter2D(a, cv2.CV_64F, hx[::-1, ::-1].copy(), borderType=cv2.BORDER_REPLICATE)
    gy = cv2.filter2D(a, cv2.CV_64F, hx.T[::-1, ::-1].copy(), borderType=cv2.BORDER_REPLICATE)
    return np.sqrt(gx * gx + gy * gy)


def gradient_error(pred, gt, convention='p3m', trimap=None):
    """Gradient error in the given convention (see the module docstring)."""
    if convention == 'p3m':
        diff = p3m_gradient_magnitude(pred) - p3m_gradient_magnitude(gt)
        return float((diff * diff).sum() / 10.0)
    region = _region(convention, trimap, gt.shape)
    diff = dim_gradient_magnitude(pred) - dim_gradient_magnitude(gt)
    return float((diff * diff)[region].sum() / 1000.0)


def _largest_component(mask):
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=4
    )
    if count <= 1:
        return np.zeros(mask.shape, bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def connectivity_error(pred, gt, convention='p3m', trimap=None, step=0.1, theta=0.15):
    """Connectivity error (see the module docstring)."""
    region = _region(convention, trimap, gt.shape)
    levels = int(round(1 / step))
    thresholds = np.arange(levels + 1) / levels  # exact decimals: k / 10
    l_map = np.full(gt.shape, -1.0)
    for i in range(1, len(thresholds)):
        omega = _largest_component((pred >= thresholds[i]) & (gt >= thresholds[i]))
        l_map[(l_map == -1) & ~omega] = thresholds[i - 1]
    l_map[l_map == -1] = 1.0
    pred_d, gt_d = pred - l_map, gt - l_map
    pred_phi = 1 - pred_d * (pred_d >= theta)
    gt_phi = 1 - gt_d * (gt_d >= theta)
    return float(np.abs(pred_phi - gt_phi)[region].sum() / 1000.0)
