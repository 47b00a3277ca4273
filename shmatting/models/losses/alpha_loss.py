"""Alpha-prediction loss: the Charbonnier penalty between predicted and true alpha."""

from mindspore import nn, ops

from ...registry import LOSSES
from .utils import check_reduction, reduce_loss

__all__ = ['AlphaPredictionLoss', 'charbonnier']


def charbonnier(diff, eps):
    """``sqrt(diff^2 + eps^2)`` element-wise."""
    return ops.sqrt(diff * diff + eps * eps)


@LOSSES.register_module()
class AlphaPredictionLoss(nn.Cell):
    """``sqrt((alpha_p - alpha_g)^2 + eps^2)`` averaged over pixels.

    Args:
        loss_weight (float): multiplier (SHM: 0.5 of L_p).
        reduction (str): ``'mean'`` or ``'sum'``.
        eps (float): Charbonnier epsilon (DIM: 1e-6). The model zoo adds 1e-6 *inside* the square
            root, which is ``eps=1e-3`` here.

    Inputs:
        pred_alpha (Tensor): ``[N, 1, H, W]``.
        gt_alpha (Tensor): ``[N, 1, H, W]`` in [0, 1].
        weight (Tensor, optional): a mask (e.g. the unknown region) broadcastable to the inputs.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', eps: float = 1e-6):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)
        self.eps = float(eps)

    def construct(self, pred_alpha, gt_alpha, weight=None):
        loss = charbonnier(pred_alpha - gt_alpha, self.eps)
        return self.loss_weight * reduce_loss(loss, self.reduction, weight)
