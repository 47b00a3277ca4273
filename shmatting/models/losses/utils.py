"""Reduction helpers shared by the losses."""

from mindspore import ops

__all__ = ['reduce_loss', 'check_reduction']

REDUCTIONS = ('mean', 'sum')


def check_reduction(reduction):
    """Raise a one-line error for an unknown reduction name."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def reduce_loss(loss, reduction='mean', weight=None):
    """Reduce an element-wise loss.

    Args:
        loss (Tensor): element-wise values.
        reduction (str): ``'mean'`` or ``'sum'``.
        weight (Tensor, optional): a mask/weight broadcastable to ``loss``; ``'mean'`` then divides
            by the weight's sum over the broadcast shape.

    Returns:
        Tensor: a scalar.
    """
    if weight is None:
        return loss.mean() if reduction == 'mean' else loss.sum()
    weighted = loss * weight
    if reduction == 'sum':
        return weighted.sum()
    denom = ops.broadcast_to(weight, loss.shape).sum()
    return weighted.sum() / ops.maximum(denom, 1e-8)
