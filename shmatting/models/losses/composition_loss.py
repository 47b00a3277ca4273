"""Composition loss: compare images composited with the predicted and the true alpha."""

from mindspore import nn

from ...registry import LOSSES
from .alpha_loss import charbonnier
from .utils import check_reduction, reduce_loss

__all__ = ['CompositionLoss']


@LOSSES.register_module()
class CompositionLoss(nn.Cell):
    """Charbonnier distance between composites (DIM / SHM paper).

    ``mode='composite'`` (default, the paper's definition): ``c_p = alpha_p * F + (1 - alpha_p) *
    B`` against ``c_g = alpha_g * F + (1 - alpha_g) * B``, the real composite of the sample, with
    ``fg`` and ``bg`` in [0, 1]. ``mode='zoo'``: the public ports' variant ``alpha_p * I`` against
    ``alpha_g * I`` with ``I`` the normalised network input (an alpha loss weighted by |I|).

    Args:
        loss_weight (float): multiplier (SHM: 0.5 of L_p).
        reduction (str): ``'mean'`` or ``'sum'``.
        eps (float): Charbonnier epsilon.
        mode (str): ``'composite'`` or ``'zoo'``.

    Inputs:
        pred_alpha (Tensor): ``[N, 1, H, W]``.
        gt_alpha (Tensor): ``[N, 1, H, W]``.
        image (Tensor, optional): ``[N, 3, H, W]`` network input (``mode='zoo'``).
        fg (Tensor, optional): ``[N, 3, H, W]`` foreground colours (``mode='composite'``).
        bg (Tensor, optional): ``[N, 3, H, W]`` background colours (``mode='composite'``).
        weight (Tensor, optional): mask broadcastable to ``[N, 3, H, W]``.
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        reduction: str = 'mean',
        eps: float = 1e-6,
        mode: str = 'composite',
    ):
        super().__init__()
        if mode not in ('composite', 'zoo'):
            raise ValueError(f"mode must be 'composite' or 'zoo', got {mode!r}")
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)
        self.eps = float(eps)
        self.mode = mode

    def construct(self, pred_alpha, gt_alpha, image=None, fg=None, bg=None, weight=None):
        if self.mode == 'zoo':
            if image is None:
                raise ValueError("CompositionLoss(mode='zoo') needs the network input image")
            diff = gt_alpha * image - pred_alpha * image
        else:
            if fg is None or bg is None:
                raise ValueError(
                    "CompositionLoss(mode='composite') needs fg and bg in the batch "
                    "(the data pipeline must keep them); use mode='zoo' without them"
                )
            diff = (pred_alpha - gt_alpha) * (fg - bg)  # c_p - c_g
        loss = charbonnier(diff, self.eps)
        return self.loss_weight * reduce_loss(loss, self.reduction, weight)
