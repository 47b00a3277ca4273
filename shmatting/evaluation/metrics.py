"""Matting metrics with an all-reducible state, in the ``'p3m'`` or ``'dim'`` convention.

``'p3m'`` (default; trimap-free portrait matting): whole image, at the original resolution, per
image ``SAD = sum|d| / 1000``, ``MSE``/``MAD`` means over all pixels, ``Grad`` (true Gaussian
derivative) / 10, ``Conn`` / 1000. This is also the model zoo's "SAD" (per-image sum / 1000 at
the original size, averaged over images). ``'dim'``: the unknown region of a trimap (the data's, or
one made from the ground truth with ``trimap_kernel``), DIM's normalised Grad, /1000 scalings. The
formulas are in :mod:`shmatting.evaluation.functional`.

Each metric is registered under its class name and under its key where they differ (``Grad``,
``Conn``, ``mIoU``), so configs and ``tools/test.py --metrics`` use either.

Every metric keeps a float64 state vector (``[sum, count]``) that is summed over ranks, so N-rank
numbers equal 1-rank numbers. Inputs are never modified.
"""

import numpy as np

from ..registry import METRICS
from . import functional as F

__all__ = [
    'BaseMetric',
    'SAD',
    'MSE',
    'MAD',
    'GradientError',
    'ConnectivityError',
    'TrimapIoU',
    'to_unit_alpha',
]


def to_unit_alpha(alpha):
    """A float64 copy of ``alpha`` in [0, 1] (uint8 input is divided by 255), H x W."""
    alpha = np.asarray(alpha)
    while alpha.ndim > 2:
        alpha = alpha[0] if alpha.shape[0] == 1 else alpha[..., 0]
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float64) / 255.0
    return alpha.astype(np.float64)


class BaseMetric:
    """A per-image metric averaged over images.

    Args:
        convention (str): ``'p3m'`` (whole image) or ``'dim'`` (unknown region of a trimap).
        trimap_kernel (int): ellipse size for the evaluation trimap made from the ground truth in
            the ``'dim'`` convention when the data has no trimap (stated in reports).

    Attributes:
        key (str): the name in reports and in ``save_best``.
        rule (str): ``'less'`` or ``'greater'`` is better.
        needs (tuple[str]): ``'alpha'`` and/or ``'trimap'`` predictions.
    """

    key = ''
    rule = 'less'
    needs = ('alpha',)
    unit = ''
    func = None

    def __init__(self, convention: str = 'p3m', trimap_kernel: int = 25):
        if convention not in F.CONVENTIONS:
            raise ValueError(
                f'{type(self).__name__}: convention must be one of {F.CONVENTIONS}, '
                f'got {convention!r}'
            )
        self.convention = convention
        self.trimap_kernel = trimap_kernel
        self.reset()

    def reset(self):
        """Clear the state."""
        self.state = np.zeros(self.state_size(), np.float64)

    def state_size(self):
        return 2

    def _eval_trimap(self, gt, gt_trimap):
        if self.convention != 'dim':
            return None
        if gt_trimap is not None:
            t = np.asarray(gt_trimap)
            while t.ndim > 2:
                t = t[0]
            return t
        from ..datasets.transforms.trimap_ops import trimap_from_alpha

        return trimap_from_alpha(np.rint(gt * 255).astype(np.uint8), self.trimap_kernel)

    def process(self, pred_alpha=None, gt_alpha=None, pred_trimap=None, gt_trimap=None):
        """Add one image and return its value.

        Args:
            pred_alpha (np.ndarray): H x W prediction, float in [0, 1] or uint8.
            gt_alpha (np.ndarray): H x W ground truth, same conventions.
            pred_trimap (np.ndarray): H x W predicted classes (``TrimapIoU``).
            gt_trimap (np.ndarray): H x W trimap, classes {0, 1, 2} or {0, 128, 255} (the region of
                the ``'dim'`` convention; ``TrimapIoU``'s target).

        Returns:
            float: this image's value.
        """
        pred, gt = to_unit_alpha(pred_alpha), to_unit_alpha(gt_alpha)
        if pred.shape != gt.shape:
            raise ValueError(
                f'prediction {pred.shape} and ground truth {gt.shape} differ in size; '
                'metrics are computed at the original resolution'
            )
        value = type(self).func(pred, gt, self.convention, self._eval_trimap(gt, gt_trimap))
        self.state += (value, 1.0)
        return value

    def compute(self, state=None):
        """The mean over images from a (possibly all-reduced) state."""
        s = self.state if state is None else np.asarray(state, np.float64)
        return float(s[0] / s[1]) if s[1] > 0 else float('nan')

    @property
    def description(self):
        region = (
            'whole image'
            if self.convention == 'p3m'
            else f'unknown region (data trimap, else kernel {self.trimap_kernel})'
        )
        return f'{self.unit}, {region}'

    def __repr__(self):
        return f'{type(self).__name__}(convention={self.convention!r})'


@METRICS.register_module()
class SAD(BaseMetric):
    """Sum of absolute differences / 1000 per image, averaged over images."""

    key, rule, unit, func = 'SAD', 'less', 'sum|d|/1000', F.sad


@METRICS.register_module()
class MSE(BaseMetric):
    """Mean squared error per image, averaged over images."""

    key, rule, unit, func = 'MSE', 'less', 'mean d^2', F.mse


@METRICS.register_module()
class MAD(BaseMetric):
    """Mean absolute difference per image, averaged over images."""

    key, rule, unit, func = 'MAD', 'less', 'mean|d|', F.mad


@METRICS.register_module(name=['GradientError', 'Grad'])
class GradientError(BaseMetric):
    """Gradient error (sigma 1.4): p3m /10 with true Gaussian derivatives; dim /1000, DIM kernel."""

    key, rule, func = 'Grad', 'less', F.gradient_error

    @property
    def unit(self):
        return 'sum(d|grad|)^2/10' if self.convention == 'p3m' else 'sum(d|grad|)^2/1000'


@METRICS.register_module(name=['ConnectivityError', 'Conn'])
class ConnectivityError(BaseMetric):
    """Connectivity error (step 0.1, theta 0.15, 4-connectivity) / 1000."""

    key, rule, unit, func = 'Conn', 'less', 'sum|d phi|/1000', F.connectivity_error


@METRICS.register_module(name=['TrimapIoU', 'mIoU'])
class TrimapIoU(BaseMetric):
    """Mean intersection over union of the three trimap classes, over all pixels of the set.

    State: per-class intersections then unions (summed over images and ranks).
    """

    key, rule, unit = 'mIoU', 'greater', 'mean IoU of bg/unknown/fg'
    needs = ('trimap',)

    def __init__(self, num_classes: int = 3, convention: str = 'p3m'):
        self.num_classes = num_classes
        super().__init__(convention)

    def state_size(self):
        return 2 * self.num_classes

    def process(self, pred_alpha=None, gt_alpha=None, pred_trimap=None, gt_trimap=None):
        pred, gt = np.asarray(pred_trimap), np.asarray(gt_trimap)
        while gt.ndim > 2:
            gt = gt[0]
        while pred.ndim > 2:
            pred = pred[0]
        if gt.max(initial=0) > 2:  # {0, 128, 255} -> {0, 1, 2}
            from ..datasets.transforms.trimap_ops import trimap_to_index

            gt = trimap_to_index(gt)
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred.shape} and ground truth {gt.shape} differ in size')
        inter = np.array([np.sum((pred == c) & (gt == c)) for c in range(self.num_classes)], float)
        union = np.array([np.sum((pred == c) | (gt == c)) for c in range(self.num_classes)], float)
        self.state += np.concatenate([inter, union])
        valid = union > 0
        return float(np.mean(inter[valid] / union[valid])) if valid.any() else float('nan')

    def compute(self, state=None):
        s = self.state if state is None else np.asarray(state, np.float64)
        inter, union = s[: self.num_classes], s[self.num_classes :]
        valid = union > 0
        return float(np.mean(inter[valid] / union[valid])) if valid.any() else float('nan')

    @property
    def description(self):
        return self.unit
