"""Hooks for engine tests, loaded through custom_imports as a user plugin would be."""

import os

import numpy as np

from shmatting.engine import Hook
from shmatting.registry import HOOKS


@HOOKS.register_module(force=True)
class KillAfterEpochHook(Hook):
    """Exit the process abruptly (no cleanup) after the given epoch's checkpoint."""

    priority = 100

    def __init__(self, epoch, code=137):
        self.epoch, self.code = epoch, code

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            os._exit(self.code)


@HOOKS.register_module(force=True)
class DumpParamsHook(Hook):
    """Every rank writes all its model parameters (BatchNorm statistics included) at the end."""

    priority = 100

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_run(self, runner):
        os.makedirs(self.out_dir, exist_ok=True)
        params = {p.name: p.asnumpy() for p in runner.model.get_parameters()}
        np.savez(os.path.join(self.out_dir, f'rank_{runner.rank}.npz'), **params)


from shmatting.models.losses import AlphaPredictionLoss  # noqa: E402
from shmatting.registry import LOSSES  # noqa: E402


@LOSSES.register_module(force=True)
class NaNAfterCallsAlphaLoss(AlphaPredictionLoss):
    """The alpha loss, NaN from the given (1-based) call on: a diverging run in PyNative mode
    (non-finite input data never reaches the step: the loader refuses it as corrupt)."""

    def __init__(self, nan_from_call, **kwargs):
        super().__init__(**kwargs)
        self.nan_from_call, self.calls = nan_from_call, 0

    def construct(self, pred_alpha, gt_alpha, weight=None):
        self.calls += 1
        loss = super().construct(pred_alpha, gt_alpha, weight)
        return loss * float('nan') if self.calls >= self.nan_from_call else loss


@HOOKS.register_module(force=True)
class PoisonWeightsHook(Hook):
    """Make one trained weight NaN at the end of the given (1-based) epoch, before evaluation and
    checkpoints (a diverged update that no loss saw)."""

    priority = 'HIGHEST'

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            import mindspore as ms

            param = runner.model.tnet.head.last_conv.weight
            value = param.asnumpy().copy()
            value.flat[0] = np.nan
            param.set_data(ms.Tensor(value))
