"""Stop every rank together on a non-finite loss, before anything is saved."""

from typing import Any, Dict

from ...registry import HOOKS
from .hook import Hook

__all__ = ['NaNGuardHook', 'NonFiniteLossError']


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or Inf loss (or non-finite weights)."""


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Check the count of non-finite steps every ``interval`` steps and at each epoch end.

    The count is accumulated inside the compiled step (no host sync per step) and summed over
    ranks by ``runner.nonfinite_steps()``, so all ranks stop at the same point with the same
    message. Its HIGH priority puts the epoch-end check before evaluation and checkpoints.

    Args:
        interval (int): steps between checks.
    """

    priority = 'HIGH'

    def __init__(self, interval: int = 10):
        self.interval = max(1, int(interval))

    def _check(self, runner: Any) -> None:
        total = runner.nonfinite_steps()
        if total > 0:
            raise NonFiniteLossError(
                f'non-finite loss in {total} step(s) by epoch {runner.epoch + 1}, iteration '
                f'{runner.iter} (all ranks stop; nothing is saved after this point; the last good '
                f'checkpoint is {runner.last_checkpoint or "none"}). Lower the learning rate or '
                'check the data.'
            )

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Dict[str, Any], outputs: Dict[str, Any]
    ) -> None:
        if runner.iter % self.interval == 0:
            self._check(runner)

    def after_train_epoch(self, runner: Any) -> None:
        self._check(runner)
