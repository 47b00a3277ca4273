"""Cross-entropy of the trimap logits against class indices {0 bg, 1 unknown, 2 fg}."""

from mindspore import nn

from ...registry import LOSSES
from ..layers.softmax import SoftmaxNLL
from .utils import check_reduction, reduce_loss

__all__ = ['TrimapCrossEntropyLoss']


@LOSSES.register_module()
class TrimapCrossEntropyLoss(nn.Cell):
    """Softmax cross-entropy over the class axis, averaged over pixels (``reduction='mean'``).

    Equal to ``torch.nn.CrossEntropyLoss()`` and to the zoo's
    ``SoftmaxCrossEntropyLossFromPytorch``; the per-pixel term is
    :class:`~shmatting.models.layers.SoftmaxNLL` (a CPU kernel, or element-wise ops).

    Args:
        loss_weight (float): multiplier of the loss.
        reduction (str): ``'mean'`` or ``'sum'`` over pixels.
        num_classes (int): number of trimap classes.

    Inputs:
        logits (Tensor): ``[N, C, H, W]`` float.
        label (Tensor): ``[N, H, W]`` or ``[N, 1, H, W]`` integer class indices.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean', num_classes: int = 3):
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)
        self.num_classes = num_classes
        self.nll = SoftmaxNLL(num_classes)

    def construct(self, logits, label):
        if label.ndim == 4:
            label = label.squeeze(1)
        return self.loss_weight * reduce_loss(self.nll(logits, label), self.reduction)
