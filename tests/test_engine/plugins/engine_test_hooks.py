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

    def after_epoch(self, runner):
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


from shmatting.registry import TRANSFORMS  # noqa: E402


@TRANSFORMS.register_module(force=True)
class NaNAlphaFromEpoch:
    """Poison the ground-truth alpha from a (1-based) epoch on (an image NaN would be zeroed by
    the first ReLU after BatchNorm; a NaN target reaches the loss)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def __call__(self, results):
        if results['epoch'] + 1 >= self.epoch:
            alpha = results['alpha'].astype(np.float32) / 255.0
            alpha[0, 0] = np.nan
            results['alpha'] = alpha
        return results
