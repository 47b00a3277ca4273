"""Evaluation during training, on every rank with all-reduced metric states."""
from ...registry import HOOKS
from ..dist import all_reduce_sum, average_bn_statistics
from .hook import Hook

__all__ = ['EvalHook']


@HOOKS.register_module()
class EvalHook(Hook):
    """Evaluate every ``interval`` epochs (and after the last).

    All ranks take part: BatchNorm statistics are averaged over ranks first, each rank evaluates
    its ``indices[rank::world]`` shard and metric states are summed, so every rank sees the
    single-device numbers and takes the same best-checkpoint decision.

    Args:
        interval (int): epochs between evaluations.
        metrics (list, optional): METRICS configs or names; default ``TrimapIoU`` in the T-Net
            phase and ``SAD``, ``MSE``, ``MAD`` otherwise (read by the runner's evaluator).
        convention (str): ``'p3m'`` or ``'dim'`` for metrics given by name (read by the runner).
    """

    priority = 'LOW'

    def __init__(self, interval=1, metrics=None, convention='p3m'):
        self.interval = int(interval)
        self.metrics = metrics
        self.convention = convention

    def after_epoch(self, runner):
        if not (self.every_n_epochs(runner, self.interval) or self.is_last_epoch(runner)):
            return
        if runner.val_loader is None:
            return
        average_bn_statistics(runner.model)
        results = runner.evaluator.evaluate(runner.model, runner.val_loader,
                                            all_reduce=all_reduce_sum)
        runner.last_metrics = results
        runner.last_eval_epoch = runner.epoch + 1
        runner.call_hook('after_val', metrics=results)
