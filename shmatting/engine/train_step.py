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

__all__ = ['MattorWithLoss', 'TrainStep', 'TrainStepWithLossScale', 'build_train_step']


class MattorWithLoss(nn.Cell):
    """``(img, trimap, alpha, fg, bg) -> [total, *terms]`` for the model's active phase."""

    def __init__(self, model):
        super().__init__(auto_prefix=False)  # keep the model's parameter names (tnet.*, mnet.*)
        self.model = model

    def construct(self, img, trimap_index, alpha=None, fg=None, bg=None):
        total, terms = self.model.forward_train(img, trimap_index, alpha, fg, bg)
        return ops.stack((total,) + terms)


def _loss_vector_parts(cell, num_terms):
    """Give a step cell the constant sensitivity ``[1, 0, ...]`` and the non-finite counter."""
    cell.grad = ops.GradOperation(get_by_list=True, sens_param=True)
    sens = np.zeros(num_terms + 1, np.float32)
    sens[0] = 1.0
    cell.sens_vector = Tensor(sens)
    cell.nonfinite_steps = Parameter(
        Tensor(np.zeros(1, np.float32)), name='nonfinite_steps', requires_grad=False
    )


class _StepOutputs:
    """How a step's raw return value becomes the hooks' ``outputs`` dict."""

    def outputs(self, raw, loss_names):
        """dict: ``losses`` (device tensor ``[total, *terms]``) and ``loss_names``."""
        return dict(losses=raw, loss_names=('loss',) + tuple(loss_names))

    def describe(self):
        """str: one line for the log."""
        return 'fp32, no loss scaling'


class TrainStep(_StepOutputs, nn.TrainOneStepCell):
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
        bad = ops.logical_not(ops.isfinite(losses[0])).astype('float32').reshape((1,))
        losses = ops.depend(losses, ops.assign_add(self.nonfinite_steps, bad))
        losses = ops.depend(losses, self.optimizer(grads))
        return losses


class TrainStepWithLossScale(nn.TrainOneStepWithLossScaleCell):
    """A step with loss scaling and overflow skip that also works on CPU (mixed precision).

    The loss vector's sensitivity is multiplied by the scale; gradients are unscaled, cast to
    their parameters' dtype (float32 master weights), all-reduced, and checked with
    ``amp.all_finite``: a step whose gradients overflow is skipped and a dynamic scale lowered
    (MindSpore's cell only knows the GPU/Ascend overflow status ops). Returns ``(losses,
    overflow, scale)``.

    Args:
        network (MattorWithLoss): the loss network.
        optimizer (nn.Optimizer): the optimizer.
        num_terms (int): number of loss terms.
        scale_sense (nn.Cell | Tensor): a ``DynamicLossScaleUpdateCell`` (dynamic) or a float32
            scalar tensor (fixed scale).
        description (str): what the log says about the step.
    """

    def __init__(self, network, optimizer, num_terms, scale_sense, description='loss scaling'):
        super().__init__(network, optimizer, scale_sense)
        _loss_vector_parts(self, num_terms)
        self.description = description

    def outputs(self, raw, loss_names):
        """dict: ``losses``, ``loss_names``, ``overflow`` and ``loss_scale``."""
        losses, overflow, scale = raw
        names = ('loss',) + tuple(loss_names)
        return dict(losses=losses, loss_names=names, overflow=overflow, loss_scale=scale)

    def describe(self):
        """str: one line for the log."""
        return self.description

    def get_overflow_status(self, status, compute_output):
        return ops.logical_not(amp.all_finite(compute_output))

    def construct(self, *inputs):
        losses = self.network(*inputs)
        scale = self.scale_sense
        grads = self.grad(self.network, self.weights)(
            *inputs, self.sens_vector * scale.astype('float32')
        )
        grads = self.hyper_map(ops.partial(_unscale, scale), grads)
        grads = self.hyper_map(_cast_like, grads, self.weights)
        grads = self.grad_reducer(grads)
        overflow = self.get_overflow_status(None, grads)
        overflow = self.process_loss_scale(overflow)
        if not overflow:
            self.optimizer(grads)
        bad = ops.logical_not(ops.isfinite(losses[0])).astype('float32').reshape((1,))
        losses = ops.depend(losses, ops.assign_add(self.nonfinite_steps, bad))
        return losses, overflow, scale


def _unscale(scale, grad):
    return grad * ops.reciprocal(scale).astype(grad.dtype)


_cast_like = ops.MultitypeFuncGraph('cast_like')


@_cast_like.register('Tensor', 'Tensor')
def _cast_to_param_dtype(grad, param):
    return ops.cast(grad, ops.dtype(param))


def build_train_step(model, optimizer, num_terms, amp_cfg=None):
    """The train step of a run: plain, or with mixed precision and loss scaling.

    Args:
        model (nn.Cell): the mattor (its active phase decides the losses); converted in place
            to the amp level (see :mod:`shmatting.engine.amp`).
        optimizer (nn.Optimizer): over the phase's parameters.
        num_terms (int): loss terms after the total.
        amp_cfg (dict, optional): ``dict(enabled, level, loss_scale)``.

    Returns:
        nn.Cell: the step in training mode.
    """
    from .amp import apply_amp, parse_amp

    cfg = parse_amp(amp_cfg)
    if not cfg['enabled']:
        step = TrainStep(MattorWithLoss(model), optimizer, num_terms)
    else:
        apply_amp(model, cfg['level'])
        scale = cfg['loss_scale']
        if scale['type'] == 'dynamic':
            sense = nn.DynamicLossScaleUpdateCell(
                float(scale['init_scale']), scale['scale_factor'], scale['scale_window']
            )
        else:
            sense = Tensor(np.array(scale['init_scale'], np.float32))
        what = (
            f'mixed precision {cfg["level"]}, {scale["type"]} loss scale '
            f'{float(scale["init_scale"]):g}'
        )
        step = TrainStepWithLossScale(MattorWithLoss(model), optimizer, num_terms, sense, what)
    step.set_train()
    return step
