"""Stop every rank together on a non-finite loss, before anything is saved."""
import numpy as np

from ...registry import HOOKS
from ..dist import all_reduce_sum
from .hook import Hook

__all__ = ['NaNGuardHook', 'NonFiniteLossError']


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss."""


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Check the step's non-finite counter every ``interval`` steps and at each epoch end.

    The counter is accumulated inside the compiled step (no host sync per step) and summed over
    ranks here, so all ranks stop at the same point with the same message. The runner then saves
    nothing more.

    Args:
        interval (int): steps between checks (default: the logger's interval).
    """

    priority = 'HIGH'

    def __init__(self, interval=10):
        self.interval = max(1, int(interval))

    def _check(self, runner):
        local = np.asarray(runner.train_step.nonfinite_steps.asnumpy(), np.float64)
        total = float(all_reduce_sum(local).sum())
        if total > 0:
            runner.nonfinite = True
            raise NonFiniteLossError(
                f'non-finite loss in {int(total)} step(s) by epoch {runner.epoch + 1}, iteration '
                f'{runner.iter} (all ranks stop; nothing is saved after this point; the last good '
                f'checkpoint is {runner.meta.get("last_ckpt") or "none"}). Lower the learning rate '
                'or check the data.')

    def after_iter(self, runner):
        if runner.iter % self.interval == 0:
            self._check(runner)

    def after_epoch(self, runner):
        self._check(runner)
