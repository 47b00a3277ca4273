"""Evaluation during training, on every rank with all-reduced metric states."""

from typing import Any, List, Optional, Union

from ...registry import HOOKS
from .hook import Hook

__all__ = ['EvalHook']


@HOOKS.register_module()
class EvalHook(Hook):
    """Evaluate every ``interval`` epochs (and after the last) on the ``val`` split.

    The hook builds the evaluator from its own settings and the model's test protocol
    (``model.test_cfg``); all ranks take part (``runner.val``): BatchNorm statistics are averaged
    over ranks, each rank evaluates its ``indices[rank::world]`` shard and metric states are
    summed, so every rank sees the single-device numbers and takes the same best-checkpoint
    decision in ``after_val_epoch``.

    Args:
        interval (int): epochs between evaluations.
        metrics (list, optional): METRICS names (``SAD``, ``MSE``, ``MAD``, ``Grad``, ``Conn``,
            ``mIoU``) or configs; default: the model's for its phase (``mIoU`` for the T-Net,
            ``SAD``, ``MSE``, ``MAD`` otherwise).
        convention (str): ``'p3m'`` or ``'dim'`` for the metrics given by name.
    """

    priority = 'LOW'

    def __init__(
        self,
        interval: int = 1,
        metrics: Optional[List[Union[str, dict]]] = None,
        convention: str = 'p3m',
    ):
        self.interval = int(interval)
        if self.interval < 1:
            raise ValueError(f'EvalHook: interval must be >= 1, got {interval!r}')
        self.metrics = list(metrics) if metrics else None
        self.convention = convention
        self.evaluator = None

    def before_run(self, runner: Any) -> None:
        from ...evaluation import Evaluator

        model = runner.model
        self.evaluator = Evaluator(
            self.metrics or model.default_metrics(),
            model.test_cfg,
            use_gt_trimap=model.eval_uses_gt_trimap,
            convention=self.convention,
        )

    def after_train_epoch(self, runner: Any) -> None:
        if runner.val_loader is None:
            return
        if self.every_n_epochs(runner, self.interval) or self.is_last_epoch(runner):
            runner.val(self.evaluator)
