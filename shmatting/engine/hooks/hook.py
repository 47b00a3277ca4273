"""Hooks: code the runner calls at fixed stages of training, in priority order.

The contract (what each stage receives and when it is called) is the docstring of :class:`Hook`.
"""

from typing import Any, Dict, Optional, Union

__all__ = ['Hook', 'PRIORITIES', 'get_priority', 'STAGES']

# a few bands; lower runs first. NaN guard (HIGH) -> logger (NORMAL) -> eval (LOW) -> checkpoint
# (LOWEST)
PRIORITIES = {'HIGHEST': 0, 'HIGH': 20, 'NORMAL': 50, 'LOW': 70, 'LOWEST': 90}

STAGES = (
    'before_run',
    'after_load_checkpoint',
    'before_train_epoch',
    'before_train_iter',
    'after_train_iter',
    'after_train_epoch',
    'before_val_epoch',
    'after_val_epoch',
    'before_save_checkpoint',
    'after_run',
)


def get_priority(priority: Union[str, int]) -> int:
    """Priority as an int from a band name or an int 0-100.

    Args:
        priority (str | int): ``'HIGHEST'``, ``'HIGH'``, ``'NORMAL'``, ``'LOW'``, ``'LOWEST'`` or
            0-100 (lower runs first).

    Returns:
        int: the priority.
    """
    if isinstance(priority, str):
        if priority.upper() not in PRIORITIES:
            raise ValueError(
                f'priority must be one of {list(PRIORITIES)} or 0-100, got {priority!r}'
            )
        return PRIORITIES[priority.upper()]
    if isinstance(priority, int) and not isinstance(priority, bool) and 0 <= priority <= 100:
        return priority
    raise ValueError(f'priority must be one of {list(PRIORITIES)} or 0-100, got {priority!r}')


class Hook:
    """Base class of hooks: override the stages you need; every stage does nothing here.

    The runner calls the stages below, on every rank, in this order (``priority`` decides the
    order of hooks within one stage; equal priorities keep their registration order):

    * ``before_run(runner)``: once, after the model, data, optimizer and any resumed state exist.
    * ``after_load_checkpoint(runner, meta)``: when a run resumes, with the checkpoint's metadata
      (a dict holding what the hooks put there in ``before_save_checkpoint``); called before
      ``before_run``.
    * ``before_train_epoch(runner)``: ``runner.epoch`` is the 0-based epoch about to run.
    * ``before_train_iter(runner, batch_idx, data_batch)``: ``batch_idx`` counts from 0 within
      the epoch; ``data_batch`` is the loader's batch, a dict of numpy arrays (``img``, ``trimap``,
      ``alpha``... plus ``index`` and ``skipped``).
    * ``after_train_iter(runner, batch_idx, data_batch, outputs)``: ``runner.iter`` already counts
      this step. ``outputs`` is a dict: ``losses``, the step's device tensor ``[total, *terms]``
      (reading it with ``asnumpy()`` waits for the step, so read it at intervals), and
      ``loss_names``, ``('loss', *runner.loss_names)``; with mixed precision also
      ``overflow`` and ``loss_scale`` tensors.
    * ``after_train_epoch(runner)``: the epoch's steps are done. The eval hook (LOW) evaluates here
      through ``runner.val(...)``, and the checkpoint hook (LOWEST) then saves the full state.
    * ``before_val_epoch(runner)`` and ``after_val_epoch(runner, metrics)``: around an evaluation;
      ``metrics`` is a :class:`~shmatting.evaluation.MetricResults`, a dict ``key -> float``
      (``SAD``, ``mIoU``...) that also names each metric's ``rules``/``units``, the ``protocol``
      and the ``convention``. Every rank gets the same numbers.
    * ``before_save_checkpoint(runner, meta)``: just before a checkpoint is written; add your
      hook's state to ``meta`` (JSON-serialisable values) to get it back in
      ``after_load_checkpoint``.
    * ``after_run(runner)``: once, after the last epoch (not after an exception).

    What a hook may read from the runner is listed in :class:`~shmatting.engine.Runner`
    ("for hooks"); hooks keep their own state and pass nothing through runner attributes.
    A method named like a stage that is not one (``after_iter``, a typo) is refused when the
    hook is registered, so a hook never silently stops being called.

    Attributes:
        priority (str | int): the default priority of the hook's class.
        stages (tuple[str]): every stage name (see :data:`STAGES`).
    """

    priority: Union[str, int] = 'NORMAL'
    stages = STAGES

    def before_run(self, runner: Any) -> None:
        """Once, before the first epoch."""

    def after_load_checkpoint(self, runner: Any, meta: Dict[str, Any]) -> None:
        """After a resumed checkpoint is loaded, with its metadata."""

    def before_train_epoch(self, runner: Any) -> None:
        """Before each training epoch."""

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Dict[str, Any]) -> None:
        """Before each training step."""

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Dict[str, Any], outputs: Dict[str, Any]
    ) -> None:
        """After each training step."""

    def after_train_epoch(self, runner: Any) -> None:
        """After each training epoch."""

    def before_val_epoch(self, runner: Any) -> None:
        """Before an evaluation."""

    def after_val_epoch(self, runner: Any, metrics: Dict[str, float]) -> None:
        """After an evaluation, with its results."""

    def before_save_checkpoint(self, runner: Any, meta: Dict[str, Any]) -> None:
        """Before a checkpoint is written; add this hook's state to ``meta``."""

    def after_run(self, runner: Any) -> None:
        """Once, after the last epoch."""

    def overridden_stages(self) -> tuple:
        """tuple[str]: the stages this hook's class implements (the runner calls only those)."""
        return tuple(s for s in STAGES if getattr(type(self), s) is not getattr(Hook, s))

    @staticmethod
    def every_n_epochs(runner: Any, n: int) -> bool:
        """Whether the epoch that just ran is a multiple of ``n`` (1-based)."""
        return n > 0 and (runner.epoch + 1) % n == 0

    @staticmethod
    def is_last_epoch(runner: Any) -> bool:
        """Whether the epoch that just ran is the run's last."""
        return runner.epoch + 1 == runner.max_epochs


def check_stage_names(hook: Hook, name: Optional[str] = None) -> None:
    """Refuse a hook whose ``before_*``/``after_*`` methods are not stages (typos, old names).

    Args:
        hook (Hook): the hook.
        name (str, optional): its name in messages.

    Raises:
        AttributeError: naming the method and the closest stage.
    """
    import difflib

    renamed = {
        'before_epoch': 'before_train_epoch',
        'after_epoch': 'after_train_epoch',
        'before_iter': 'before_train_iter',
        'after_iter': 'after_train_iter',
        'after_val': 'after_val_epoch',
        'before_val': 'before_val_epoch',
    }
    for attr in dir(type(hook)):
        if not attr.startswith(('before_', 'after_')) or attr in STAGES:
            continue
        if not callable(getattr(hook, attr, None)):
            continue
        close = renamed.get(attr) or next(iter(difflib.get_close_matches(attr, STAGES, n=1)), None)
        hint = f'; did you mean {close}?' if close else ''
        raise AttributeError(
            f'hook {name or type(hook).__name__}: {attr} is not a hook stage{hint} '
            f'(stages: {", ".join(STAGES)})'
        )
