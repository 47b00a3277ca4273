"""Checkpoints: full state every N epochs, the best model by a metric; atomic, rank 0 writes."""

import os
import os.path as osp
import re
from typing import Any, Dict, List, Optional

from ...registry import HOOKS
from ..checkpoint import atomic_copy
from .hook import Hook

__all__ = ['CheckpointHook', 'is_better']

BEST_KEYS = ('best_score', 'best_key', 'best_epoch', 'best_ckpt', 'best_rule')


def is_better(score: Optional[float], best: Optional[float], rule: str) -> bool:
    """Whether ``score`` replaces ``best`` under ``rule``; ties replace (the model zoo kept the
    later of equal scores), a first score always does, and 0.0 is a score like any other.

    Args:
        score (float | None): the new score (None or NaN never wins).
        best (float | None): the best so far (None: nothing yet).
        rule (str): ``'less'`` or ``'greater'`` is better.

    Returns:
        bool: True when ``score`` becomes the best.
    """
    if score is None or score != score:
        return False
    if best is None:
        return True
    if rule == 'less':
        return score <= best
    if rule == 'greater':
        return score >= best
    raise ValueError(f"rule must be 'less' or 'greater', got {rule!r}")


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints after each epoch (after its evaluation).

    * Full state (model with BatchNorm statistics, optimizer with its step, epoch, iteration,
      best score and path, seed, config): ``epoch_<n>.ckpt`` every ``interval`` epochs and at the
      end, plus the alias ``latest.ckpt``; the last ``max_keep_ckpts`` epoch files are kept, also
      across a kill during rotation (stale files are removed when the run resumes).
    * Best (weights only): ``best_<key>_epoch_<n>.ckpt`` and the alias ``best_<key>.ckpt`` when the
      metric ``save_best`` improves, decided in ``after_val_epoch`` (``rule`` from the metric
      unless given).

    ``runner.save_checkpoint`` averages BatchNorm statistics over ranks, refuses non-finite
    weights, and writes on rank 0 only, each file through a temp file and a rename.

    Args:
        interval (int): epochs between full-state saves.
        max_keep_ckpts (int): epoch files kept (-1: all).
        save_best (str | None): a metric key (``'SAD'``, ``'mIoU'``), ``'auto'`` (the first
            evaluated metric) or None.
        rule (str, optional): ``'less'`` or ``'greater'``; default from the metric.
    """

    priority = 'LOWEST'

    def __init__(
        self,
        interval: int = 1,
        max_keep_ckpts: int = 3,
        save_best: Optional[str] = 'auto',
        rule: Optional[str] = None,
    ):
        self.interval = int(interval)
        if self.interval < 1:
            raise ValueError(f'CheckpointHook: interval must be >= 1, got {interval!r}')
        self.max_keep_ckpts = int(max_keep_ckpts)
        if self.max_keep_ckpts == 0 or self.max_keep_ckpts < -1:
            raise ValueError(
                f'CheckpointHook: max_keep_ckpts must be >= 1 or -1 (all), got {max_keep_ckpts!r}'
            )
        if rule not in (None, 'less', 'greater'):
            raise ValueError(
                f"CheckpointHook: rule must be 'less', 'greater' or None, got {rule!r}"
            )
        self.save_best = save_best
        self.rule = rule
        self.best: Dict[str, Any] = dict.fromkeys(BEST_KEYS)
        self.saved: List[str] = []

    # ------------------------------------------------------------------ best
    def after_val_epoch(self, runner: Any, metrics: Dict[str, float]) -> None:
        if not self.save_best or not metrics:
            return
        key = next(iter(metrics)) if self.save_best == 'auto' else self.save_best
        if key not in metrics:
            raise KeyError(
                f'CheckpointHook: save_best={key!r} is not among the evaluated metrics '
                f'{list(metrics)}'
            )
        rule = self.rule or metrics.rules.get(key) or 'less'
        score = float(metrics[key])
        if not is_better(score, self.best['best_score'], rule):
            return
        epoch = runner.epoch + 1
        path = osp.join(runner.work_dir, f'best_{key}_epoch_{epoch}.ckpt')
        old = self.best['best_ckpt']
        self.best.update(
            best_score=score, best_key=key, best_epoch=epoch, best_ckpt=path, best_rule=rule
        )
        runner.save_checkpoint(path, kind='weights')
        if runner.rank == 0:
            atomic_copy(path, osp.join(runner.work_dir, f'best_{key}.ckpt'))
            if old and old != path and osp.exists(old):
                os.remove(old)
        runner.logger.info(f'best {key} {score:.5f} ({rule} is better) at epoch {epoch}: {path}')

    # ------------------------------------------------------------------ full state
    def after_train_epoch(self, runner: Any) -> None:
        if not (self.every_n_epochs(runner, self.interval) or self.is_last_epoch(runner)):
            return
        path = osp.join(runner.work_dir, f'epoch_{runner.epoch + 1}.ckpt')
        kept = [p for p in self.saved if p != path] + [path]
        stale = []
        if self.max_keep_ckpts > 0:
            stale, kept = kept[: -self.max_keep_ckpts], kept[-self.max_keep_ckpts :]
        self.saved = kept
        runner.save_checkpoint(path, kind='full')
        if runner.rank == 0:
            atomic_copy(path, osp.join(runner.work_dir, 'latest.ckpt'))
            for old in stale:
                if osp.exists(old):
                    os.remove(old)

    # ------------------------------------------------------------------ state in checkpoints
    def before_save_checkpoint(self, runner: Any, meta: Dict[str, Any]) -> None:
        meta.update(self.best)
        meta['saved_ckpts'] = list(self.saved)

    def after_load_checkpoint(self, runner: Any, meta: Dict[str, Any]) -> None:
        def here(
            path: Optional[str],
        ) -> Optional[str]:  # the work dir may have moved since the save
            return osp.join(runner.work_dir, osp.basename(path)) if path else path

        for key in BEST_KEYS:
            self.best[key] = meta.get(key)
        self.best['best_ckpt'] = here(self.best['best_ckpt'])
        self.saved = [here(p) for p in meta.get('saved_ckpts') or []]
        if runner.rank == 0:
            self._remove_stale(runner.work_dir, int(meta.get('epoch', 0)))

    def _remove_stale(self, work_dir: str, epoch: int) -> None:
        """Files a killed rotation left: epoch and best files of epochs up to the resumed one
        that the resumed state no longer lists."""
        keep = {osp.basename(p) for p in self.saved + [self.best['best_ckpt'] or '']}
        pattern = re.compile(r'^(epoch|best_\w+_epoch)_(\d+)\.ckpt$')
        for name in os.listdir(work_dir):
            m = pattern.match(name)
            if (
                m
                and int(m.group(2)) <= epoch
                and name not in keep
                and (m.group(1) == 'epoch' or self.best['best_key'])
            ):
                os.remove(osp.join(work_dir, name))
