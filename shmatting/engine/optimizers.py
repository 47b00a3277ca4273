"""Optimizers from configs: ``dict(type='Adam', lr=1e-3, weight_decay=5e-4)``."""

from typing import Tuple, Union

from mindspore import Tensor, nn

from ..registry import OPTIMIZERS

__all__ = ['build_optimizer']


@OPTIMIZERS.register_module(name='Adam')
def adam(
    params: list,
    learning_rate: Union[float, Tensor],
    weight_decay: float = 0.0,
    betas: Tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    decay_norm: bool = False,
) -> nn.Optimizer:
    """``nn.Adam``; like the model zoo, weight decay skips BatchNorm gamma/beta unless
    ``decay_norm=True`` (PyTorch's Adam decays every parameter)."""
    if decay_norm and weight_decay:
        params = [{'params': list(params), 'weight_decay': weight_decay}]
        return nn.Adam(params, learning_rate=learning_rate, beta1=betas[0], beta2=betas[1], eps=eps)
    return nn.Adam(
        params,
        learning_rate=learning_rate,
        beta1=betas[0],
        beta2=betas[1],
        eps=eps,
        weight_decay=weight_decay,
    )


@OPTIMIZERS.register_module(name='AdamW')
def adamw(
    params: list,
    learning_rate: Union[float, Tensor],
    weight_decay: float = 0.01,
    betas: Tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> nn.Optimizer:
    """``nn.AdamWeightDecay`` (decoupled weight decay)."""
    return nn.AdamWeightDecay(
        params,
        learning_rate=learning_rate,
        beta1=betas[0],
        beta2=betas[1],
        eps=eps,
        weight_decay=weight_decay,
    )


@OPTIMIZERS.register_module(name='SGD')
def sgd(
    params: list,
    learning_rate: Union[float, Tensor],
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> nn.Optimizer:
    """``nn.SGD`` with momentum."""
    return nn.SGD(
        params,
        learning_rate=learning_rate,
        momentum=momentum,
        weight_decay=weight_decay,
        nesterov=nesterov,
    )


def build_optimizer(cfg, params, learning_rate):
    """Build an optimizer over ``params`` with ``learning_rate`` (a float or per-step values).

    Args:
        cfg (dict): ``type`` plus options; its ``lr`` is the base rate (used by the caller).
        params (list[Parameter]): the phase's trainable parameters.
        learning_rate (float | Tensor): fixed or per-step learning rates.

    Returns:
        nn.Optimizer: the optimizer.
    """
    cfg = dict(cfg)
    cfg.pop('lr', None)
    return OPTIMIZERS.build(cfg, default_args=dict(params=params, learning_rate=learning_rate))
