"""Checkpoints: full state every N epochs, the best model by a metric, atomic writes, rank 0 only."""
import os
import os.path as osp
import shutil
import uuid

from ...registry import HOOKS
from ..checkpoint import save_with_meta
from ..dist import average_bn_statistics
from .hook import Hook

__all__ = ['CheckpointHook', 'is_better']


def is_better(score, best, rule):
    """Whether ``score`` replaces ``best`` under ``rule``; ties replace (the model zoo kept the
    later of equal scores), a first score always does, and 0.0 is a score like any other."""
    if score is None or score != score:  # None or NaN never wins
        return False
    if best is None:
        return True
    if rule == 'less':
        return score <= best
    if rule == 'greater':
        return score >= best
    raise ValueError(f"rule must be 'less' or 'greater', got {rule!r}")


def _atomic_copy(src, dst):
    tmp = osp.join(osp.dirname(dst), f'.{osp.basename(dst)[:-5]}.{uuid.uuid4().hex[:8]}.tmp.ckpt')
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save checkpoints after each epoch's evaluation.

    * Full state (model with BatchNorm statistics, optimizer with its step, epoch, iteration,
      best score and path, seed, config): ``epoch_<n>.ckpt`` every ``interval`` epochs and at the
      end, plus the alias ``latest.ckpt``; the last ``max_keep_ckpts`` epoch files are kept.
    * Best (weights only): ``best_<key>_epoch_<n>.ckpt`` and the alias ``best_<key>.ckpt`` when the
      metric ``save_best`` improves (``rule`` from the metric unless given).

    BatchNorm statistics are averaged over ranks first; only rank 0 writes; every write goes to a
    temp file and is renamed. Nothing is saved after a non-finite loss.

    Args:
        interval (int): epochs between full-state saves.
        max_keep_ckpts (int): epoch files kept (-1: all).
        save_best (str | None): a metric key (``'SAD'``, ``'mIoU'``), ``'auto'`` (the first
            evaluated metric) or None.
        rule (str, optional): ``'less'`` or ``'greater'``; default from the metric.
    """

    priority = 'LOWEST'

    def __init__(self, interval=1, max_keep_ckpts=3, save_best='auto', rule=None):
        self.interval = int(interval)
        self.max_keep_ckpts = int(max_keep_ckpts)
        self.save_best = save_best
        self.rule = rule

    def _best(self, runner):
        metrics = runner.last_metrics
        if not self.save_best or runner.last_eval_epoch != runner.epoch + 1 or not metrics:
            return
        key = next(iter(metrics)) if self.save_best == 'auto' else self.save_best
        if key not in metrics:
            raise KeyError(f'CheckpointHook: save_best={key!r} is not among the evaluated metrics '
                           f'{list(metrics)}')
        rule = self.rule or runner.metric_rules.get(key)
        score = float(metrics[key])
        meta = runner.meta
        if not is_better(score, meta.get('best_score'), rule):
            return
        epoch = runner.epoch + 1
        path = osp.join(runner.work_dir, f'best_{key}_epoch_{epoch}.ckpt')
        old = meta.get('best_ckpt')
        meta.update(best_score=score, best_key=key, best_epoch=epoch, best_ckpt=path, best_rule=rule)
        if runner.rank == 0:
            save_with_meta(runner.model, path, runner.checkpoint_meta(kind='weights'))
            _atomic_copy(path, osp.join(runner.work_dir, f'best_{key}.ckpt'))
            if old and old != path and osp.exists(old):
                os.remove(old)
        runner.logger.info(f'best {key} {score:.5f} ({rule} is better) at epoch {epoch}: {path}')

    def after_epoch(self, runner):
        if runner.nonfinite:
            return
        average_bn_statistics(runner.model)
        self._best(runner)
        if not (self.every_n_epochs(runner, self.interval) or self.is_last_epoch(runner)):
            return
        epoch = runner.epoch + 1
        path = osp.join(runner.work_dir, f'epoch_{epoch}.ckpt')
        meta = runner.meta
        meta['last_ckpt'] = path
        kept = [p for p in meta.get('saved_ckpts', []) if p != path] + [path]
        stale = []
        if self.max_keep_ckpts > 0:
            stale, kept = kept[:-self.max_keep_ckpts], kept[-self.max_keep_ckpts:]
        meta['saved_ckpts'] = kept
        runner.call_hook('before_save_checkpoint', meta=meta)
        if runner.rank == 0:
            save_with_meta(runner.train_step, path, runner.checkpoint_meta(kind='full'))
            _atomic_copy(path, osp.join(runner.work_dir, 'latest.ckpt'))
            for old in stale:
                if osp.exists(old):
                    os.remove(old)
