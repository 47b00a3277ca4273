"""The compiled training step.

``MattorWithLoss`` turns the model's ``forward_train`` into one vector ``[total, term_1, ...]``; the
step differentiates ``total`` only (its sensitivity is the constant ``[1, 0, ...]``), so the loss
terms come back for logging at no extra cost. In GRAPH mode this is one compiled graph for forward
and backward plus the optimizer (``nn.TrainOneStepCell``), which is 2x faster on CPU than putting
the whole step under ``ms.jit``. In data parallel the cell's gradient reducer averages gradients.
A non-finite total loss increments ``nonfinite_steps`` (read by the NaN guard at log intervals).
"""
import numpy as np
from mindspore import Parameter, Tensor, amp, nn, ops

__all__ = ['MattorWithLoss', 'TrainStep', 'TrainStepWithLossScale']


class MattorWithLoss(nn.Cell):
    """``(img, trimap, alpha, fg, bg) -> [total, *terms]`` for the model's active phase."""

    def __init__(self, model):
        super().__init__(auto_prefix=False)  # keep the model's parameter names (tnet.*, mnet.*)
        self.model = model

    def construct(self, img, trimap, alpha=None, fg=None, bg=None):
        total, terms = self.model.forward_train(img, trimap, alpha, fg, bg)
        return ops.stack((total, ) + terms)


def _loss_vector_parts(cell, num_terms):
    """Give a step cell the constant sensitivity ``[1, 0, ...]`` and the non-finite counter."""
    cell.grad = ops.GradOperation(get_by_list=True, sens_param=True)
    sens = np.zeros(num_terms + 1, np.float32)
    sens[0] = 1.0
    cell.sens_vector = Tensor(sens)
    cell.nonfinite_steps = Parameter(Tensor(np.zeros(1, np.float32)), name='nonfinite_steps',
                                     requires_grad=False)


class TrainStep(nn.TrainOneStepCell):
    """One optimisation step; returns the loss vector ``[total, *terms]``.

    Args:
        network (MattorWithLoss): the loss network.
        optimizer (nn.Optimizer): over the phase's trainable parameters.
        num_terms (int): number of loss terms after the total.
    """

    def __init__(self, network, optimizer, num_terms):
        super().__init__(network, optimizer)
        _loss_vector_parts(self, num_terms)

    def construct(self, *inputs):
        losses = self.network(*inputs)
        grads = self.grad(self.network, self.weights)(*inputs, self.sens_vector)
        grads = self.grad_reducer(grads)
        bad = ops.logical_not(ops.isfinite(losses[0])).astype('float32').reshape((1, ))
        losses = ops.depend(losses, ops.assign_add(self.nonfinite_steps, bad))
        losses = ops.depend(losses, self.optimizer(grads))
        return losses


class TrainStepWithLossScale(nn.TrainOneStepWithLossScaleCell):
    """A step with dynamic loss scaling and overflow skip that also works on CPU.

    MindSpore's cell only knows the GPU/Ascend overflow status ops; here the check is
    ``amp.all_finite`` on the unscaled gradients. Returns ``(losses, overflow, scale)``.

    Args:
        network (MattorWithLoss): the loss network.
        optimizer (nn.Optimizer): the optimizer.
        num_terms (int): number of loss terms.
        scale_sense (nn.Cell | Tensor): e.g. ``amp.DynamicLossScaleManager(2**16, 2, 1000)
            .get_update_cell()``.
    """

    def __init__(self, network, optimizer, num_terms, scale_sense):
        super().__init__(network, optimizer, scale_sense)
        _loss_vector_parts(self, num_terms)

    def get_overflow_status(self, status, compute_output):
        return ops.logical_not(amp.all_finite(compute_output))

    def construct(self, *inputs):
        losses = self.network(*inputs)
        scale = self.scale_sense
        grads = self.grad(self.network, self.weights)(*inputs, self.sens_vector * scale.astype('float32'))
        grads = self.hyper_map(ops.partial(_unscale, scale), grads)
        grads = self.grad_reducer(grads)
        overflow = self.get_overflow_status(None, grads)
        overflow = self.process_loss_scale(overflow)
        if not overflow:
            self.optimizer(grads)
        bad = ops.logical_not(ops.isfinite(losses[0])).astype('float32').reshape((1, ))
        losses = ops.depend(losses, ops.assign_add(self.nonfinite_steps, bad))
        return losses, overflow, scale


def _unscale(scale, grad):
    return grad * ops.reciprocal(scale).astype(grad.dtype)
