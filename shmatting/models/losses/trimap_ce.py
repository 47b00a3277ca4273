"""Cross-entropy of the trimap logits against class indices {0 bg, 1 unknown, 2 fg}."""

from mindspore import nn, ops

from ...registry import LOSSES
from .utils import check_reduction, reduce_loss

__all__ = ['TrimapCrossEntropyLoss']


@LOSSES.register_module()
class TrimapCrossEntropyLoss(nn.Cell):
    """Softmax cross-entropy over the class axis, averaged over pixels (``reduction='mean'``).

    Equal to ``torch.nn.CrossEntropyLoss()`` and to the zoo's
    ``SoftmaxCrossEntropyLossFromPytorch``. The log-softmax is written with element-wise ops (max,
    exp, log): MindSpore's CPU ``LogSoftmaxGrad`` runs a oneDNN reference kernel.

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

    def construct(self, logits, label):
        if label.ndim == 4:
            label = label.squeeze(1)
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_prob = shifted - ops.log(ops.exp(shifted).sum(axis=1, keepdims=True))
        onehot = ops.one_hot(label.astype('int32'), self.num_classes, 1.0, 0.0, axis=1)
        nll = -(log_prob * onehot.astype(logits.dtype)).sum(axis=1)
        return self.loss_weight * reduce_loss(nll, self.reduction)
