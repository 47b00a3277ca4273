"""BatchNorm2d fused with the ReLU/ReLU6 after it, on the project's CPU kernel when it can."""

from typing import Optional

import numpy as np
from mindspore import Tensor, nn, ops

from ...ops import batch_norm_act_ops
from .activation import FUSED_ACTIVATIONS, activation_name, build_activation
from .cpu_kernel import CpuKernelMixin

__all__ = ['BatchNormAct2d']


class BatchNormAct2d(CpuKernelMixin, nn.BatchNorm2d):
    """``nn.BatchNorm2d`` followed by ``act``, with BatchNorm2d's parameters and their names.

    In training it normalises with the batch statistics and updates the moving ones exactly as
    ``nn.BatchNorm2d`` does (``moving = momentum * moving + (1 - momentum) * batch``, the unbiased
    batch variance for the moving variance); in inference it uses the moving statistics. On the
    CPU target one kernel does normalisation, activation and the moving statistics' update in a
    single launch and the backward needs only the input (MindSpore's BatchNorm + ReLU6 keep two
    more full-size tensors per layer); elsewhere it is ``nn.BatchNorm2d`` then
    ``nn.ReLU``/``nn.ReLU6``.

    Args:
        num_features (int): channels.
        eps (float): added to the variance.
        momentum (float): MindSpore's convention (0.9 == torch's 0.1).
        act (str | dict | None): an activation (:func:`build_activation`); ``None``, ``'relu'``
            and ``'relu6'`` are fused into the CPU kernel, others run after it.
    """

    cpu_kernel_kind = 'norm'

    def __init__(self, num_features, eps=1e-5, momentum=0.9, act=None):
        activation = build_activation(act)
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.act_name = activation_name(act)
        self.activation = activation
        self.has_act = self.activation is not None
        self.eps_tensor = Tensor(np.array([eps], np.float32))
        # the kernel's constants: eps, then the moving statistics' weights, rounded as MindSpore
        # rounds ``moving * momentum + batch * (1 - momentum)``'s Python floats
        self.train_consts = Tensor(np.array([eps, momentum, 1 - momentum], np.float32))
        # Never recomputed (``recompute=[...]`` configs): a recomputed update would move the
        # statistics twice per step. A primitive's own setting overrides its cell's.
        self.assign_mean = ops.Assign()
        self.assign_mean.recompute(False)
        self.assign_variance = ops.Assign()
        self.assign_variance.recompute(False)
        self.bn_train.recompute(False)  # MindSpore's BatchNorm updates the statistics itself
        self.set_cpu_kernel(True)

    def cpu_kernel_supported(self):
        return self.act_name in FUSED_ACTIVATIONS

    def build_cpu_kernel(self):
        self.bn_train_op, self.bn_add_train_op, self.bn_infer_op = batch_norm_act_ops(self.act_name)

    def construct(self, x: Tensor, residual: Optional[Tensor] = None) -> Tensor:
        """``act(BN(x))``, plus ``residual`` when given (added after the activation; in one
        pass with the normalisation when training on the CPU kernel)."""
        y = self._normalise(x, residual)
        if residual is not None and not (self.use_cpu_kernel and self.training):
            y = y + residual
        return y

    def _normalise(self, x: Tensor, residual: Optional[Tensor]) -> Tensor:
        # the residual is used here only by the training kernel, which adds it in its pass
        if not self.use_cpu_kernel:  # nn.BatchNorm2d's own path for 4-D input
            if self.training:
                y = self.bn_train(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)[
                    0
                ]
            else:
                y = self.bn_infer(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)[
                    0
                ]
            if self.has_act:
                y = self.activation(y)
            return y
        if self.training:
            consts, mean, var = self.train_consts, self.moving_mean, self.moving_variance
            if residual is None:
                out = self.bn_train_op(x, self.gamma, self.beta, consts, mean, var)
            else:
                out = self.bn_add_train_op(x, self.gamma, self.beta, consts, mean, var, residual)
            y, new_mean, new_variance = out[0], out[3], out[4]
            y = ops.depend(y, self.assign_mean(self.moving_mean, new_mean))
            y = ops.depend(y, self.assign_variance(self.moving_variance, new_variance))
            return y
        return self.bn_infer_op(
            x, self.gamma, self.beta, self.moving_mean, self.moving_variance, self.eps_tensor
        )

    def extend_repr(self):
        return f'{super().extend_repr()}, act={self.act_name}'
