"""Matting metrics with an all-reducible state.

Convention ``'p3m'`` (trimap-free portrait matting, the default): whole image, at the original
resolution, alpha in [0, 1]; per image ``SAD = sum|d| / 1000``, ``MSE = mean(d^2)``,
``MAD = mean|d|``; reported values are means over images. This is also the model zoo's "SAD"
(per-image sum / 1000 at the original size, averaged over images).

Every metric keeps a float64 state vector (``[sum, count]`` for the per-image metrics) that is summed
over ranks, so N-rank numbers equal 1-rank numbers. Inputs are never modified.
"""
import numpy as np

from ..registry import METRICS

__all__ = ['BaseMetric', 'SAD', 'MSE', 'MAD', 'TrimapIoU', 'to_unit_alpha']


def to_unit_alpha(alpha):
    """A float64 copy of ``alpha`` in [0, 1] (uint8 input is divided by 255)."""
    alpha = np.asarray(alpha)
    if alpha.ndim == 3:
        alpha = alpha[..., 0] if alpha.shape[-1] in (1, 3) else alpha[0]
    if alpha.dtype == np.uint8:
        return alpha.astype(np.float64) / 255.0
    return alpha.astype(np.float64)


class BaseMetric:
    """A metric accumulated over images.

    Attributes:
        key (str): the name in reports and in ``save_best``.
        rule (str): ``'less'`` or ``'greater'`` is better.
        needs (tuple[str]): what :meth:`process` uses: ``'alpha'`` and/or ``'trimap'``.
    """

    key = ''
    rule = 'less'
    needs = ('alpha', )
    unit = ''

    def __init__(self, convention='p3m'):
        if convention != 'p3m':
            raise ValueError(f"{type(self).__name__}: convention {convention!r} is not available "
                             "yet; use 'p3m'")
        self.convention = convention
        self.reset()

    def reset(self):
        """Clear the state."""
        self.state = np.zeros(self.state_size(), np.float64)

    def state_size(self):
        return 2

    def process_alpha(self, pred, gt, trimap=None):  # pragma: no cover - interface
        raise NotImplementedError

    def process(self, pred_alpha=None, gt_alpha=None, pred_trimap=None, gt_trimap=None):
        """Add one image.

        Args:
            pred_alpha (np.ndarray): H x W predicted alpha, float in [0, 1] or uint8.
            gt_alpha (np.ndarray): H x W ground truth, same conventions.
            pred_trimap (np.ndarray): H x W predicted classes (``TrimapIoU``).
            gt_trimap (np.ndarray): H x W true classes {0, 1, 2} (``TrimapIoU``).

        Returns:
            float: this image's value.
        """
        value = self.process_alpha(to_unit_alpha(pred_alpha), to_unit_alpha(gt_alpha))
        self.state += (value, 1.0)
        return value

    def compute(self, state=None):
        """The metric from a (possibly all-reduced) state."""
        s = self.state if state is None else np.asarray(state, np.float64)
        return float(s[0] / s[1]) if s[1] > 0 else float('nan')

    def __repr__(self):
        return f'{type(self).__name__}(convention={self.convention!r})'


def _check(pred, gt):
    if pred.shape != gt.shape:
        raise ValueError(f'prediction {pred.shape} and ground truth {gt.shape} differ in size; '
                         'metrics are computed at the original resolution')


@METRICS.register_module()
class SAD(BaseMetric):
    """Sum of absolute differences / 1000 per image (whole image), averaged over images."""
    key, rule, unit = 'SAD', 'less', 'sum|d|/1000'

    def process_alpha(self, pred, gt, trimap=None):
        _check(pred, gt)
        return float(np.abs(pred - gt).sum() / 1000.0)


@METRICS.register_module()
class MSE(BaseMetric):
    """Mean squared error over all pixels per image, averaged over images."""
    key, rule, unit = 'MSE', 'less', 'mean d^2'

    def process_alpha(self, pred, gt, trimap=None):
        _check(pred, gt)
        return float(np.mean((pred - gt)**2))


@METRICS.register_module()
class MAD(BaseMetric):
    """Mean absolute difference over all pixels per image, averaged over images."""
    key, rule, unit = 'MAD', 'less', 'mean|d|'

    def process_alpha(self, pred, gt, trimap=None):
        _check(pred, gt)
        return float(np.mean(np.abs(pred - gt)))


@METRICS.register_module()
class TrimapIoU(BaseMetric):
    """Mean intersection over union of the three trimap classes, over all pixels of the set.

    State: per-class intersections then unions (summed over images and ranks).
    """
    key, rule, unit = 'mIoU', 'greater', 'mean IoU of bg/unknown/fg'
    needs = ('trimap', )

    def __init__(self, num_classes=3, convention='p3m'):
        self.num_classes = num_classes
        super().__init__(convention)

    def state_size(self):
        return 2 * self.num_classes

    def process(self, pred_alpha=None, gt_alpha=None, pred_trimap=None, gt_trimap=None):
        pred, gt = np.asarray(pred_trimap), np.asarray(gt_trimap)
        gt = gt.reshape(gt.shape[-2:]) if gt.ndim > 2 else gt
        pred = pred.reshape(pred.shape[-2:]) if pred.ndim > 2 else pred
        _check(pred, gt)
        inter = np.array([np.sum((pred == c) & (gt == c)) for c in range(self.num_classes)], float)
        union = np.array([np.sum((pred == c) | (gt == c)) for c in range(self.num_classes)], float)
        self.state += np.concatenate([inter, union])
        valid = union > 0
        return float(np.mean(inter[valid] / union[valid])) if valid.any() else float('nan')

    def compute(self, state=None):
        s = self.state if state is None else np.asarray(state, np.float64)
        inter, union = s[:self.num_classes], s[self.num_classes:]
        valid = union > 0
        return float(np.mean(inter[valid] / union[valid])) if valid.any() else float('nan')
