"""Resuming a run: which checkpoint, where to continue, and loading its state.

The position is an epoch boundary (full-state checkpoints are written after epochs). The
learning-rate schedule is never taken from the checkpoint: it is recomputed from the config, so
a resumed run may change ``total_epochs``, the batch size, the data or the schedule and continue
at the saved epoch on the new plan (a warning names what changed).
"""

import logging
import os.path as osp
from typing import Any, List, Optional, Tuple

from .checkpoint import (
    UnreadableCheckpoint,
    find_latest_full_state,
    load_checkpoint_arrays,
    read_meta,
)

__all__ = [
    'ResumeError',
    'ResumePlan',
    'find_resume_checkpoint',
    'restore_state',
    'SCHEDULE_PARAMS',
]

logger = logging.getLogger('shmatting')
# optimizer entries that describe the plan rather than the learned state
SCHEDULE_PARAMS = ('learning_rate', 'global_step')
# step state that a run may add or drop between resumes (switching amp or loss scaling on or
# off): taken when the checkpoint has it, fresh otherwise
OPTIONAL_PARAMS = (
    'scale_sense',
    'current_iterator_step',
    'last_overflow_iterator_step',
    'nonfinite_steps',
)


class ResumeError(ValueError):
    """A run cannot resume (no usable checkpoint, another phase or model); one line says why."""


def find_resume_checkpoint(resume: Optional[str], work_dir: str) -> Tuple[Optional[str], dict]:
    """The checkpoint a run resumes from and its metadata.

    Args:
        resume (str | None): ``'auto'`` (the newest full-state checkpoint of ``work_dir``), a
            path, or None (no resume).
        work_dir (str): the run's folder.

    Returns:
        tuple: ``(path, meta)``; ``(None, {})`` when there is nothing to resume.

    Raises:
        ResumeError: every checkpoint of the work dir is unreadable (``auto``), or the file is
            unreadable or weights-only.
        FileNotFoundError: an explicit path that does not exist.
    """
    if not resume:
        return None, {}
    if resume == 'auto':
        path, unreadable = find_latest_full_state(work_dir)
        names = ', '.join(osp.basename(p) for p in unreadable)
        if path is None and unreadable:
            raise ResumeError(
                f'--resume auto: no readable full-state checkpoint in {work_dir}; '
                f'unreadable: {names} (move them away to start afresh)'
            )
        if path is None:
            logger.info(f'--resume auto: no full-state checkpoint in {work_dir}, starting afresh')
            return None, {}
        if unreadable:
            logger.warning(f'--resume auto: skipped unreadable checkpoints: {names}')
    else:
        path = resume
        if not osp.isfile(path):
            raise FileNotFoundError(f'--resume: checkpoint not found: {path}')
    try:
        meta = read_meta(path)
    except UnreadableCheckpoint as exc:
        raise ResumeError(f'--resume: {exc}') from None
    if meta.get('kind') != 'full':
        raise ResumeError(
            f'--resume: {path} is not a full-state checkpoint (weights-only files '
            'are for load_from)'
        )
    return path, meta


class ResumePlan:
    """Where a resumed run continues on the current plan, and what changed since the save.

    Args:
        epoch (int): epochs already trained.
        iter (int): the step on the current plan (``epoch * iters_per_epoch``).
        changes (list[str]): what differs from the saved run.
    """

    def __init__(self, epoch: int, iter: int, changes: List[str]):
        self.epoch, self.iter, self.changes = epoch, iter, changes

    @classmethod
    def from_meta(
        cls, meta: dict, phase: str, path: str, iters_per_epoch: int, max_epochs: int
    ) -> 'ResumePlan':
        """Check the phase and place the saved epoch on the current plan.

        Args:
            meta (dict): the checkpoint's metadata.
            phase (str): this run's phase.
            path (str): the checkpoint (for messages).
            iters_per_epoch (int): steps per epoch now.
            max_epochs (int): ``total_epochs`` now.

        Returns:
            ResumePlan: the plan.
        """
        if meta.get('phase') not in (None, phase):
            raise ResumeError(
                f'--resume: {path} is from phase {meta.get("phase")!r}, this run is '
                f'{phase!r}; use load_from to start a new phase'
            )
        epoch = int(meta['epoch'])
        saved_ipe = meta.get('iters_per_epoch') or (int(meta['iter']) // epoch if epoch else None)
        changes = []
        if saved_ipe is not None and saved_ipe != iters_per_epoch:
            changes.append(
                f'steps per epoch changed from {saved_ipe} to {iters_per_epoch} (batch '
                'size, data or number of ranks): the run continues at epoch '
                f'{epoch + 1}, step {epoch * iters_per_epoch} of the new plan'
            )
        saved_max = meta.get('max_epochs')
        if saved_max is not None and saved_max != max_epochs:
            changes.append(f'total_epochs changed from {saved_max} to {max_epochs}')
        if epoch >= max_epochs:
            changes.append(
                f'{path} has trained {epoch} epochs and total_epochs is {max_epochs}: '
                'nothing is left to train'
            )
        return cls(epoch, epoch * iters_per_epoch, changes)

    def notes(self) -> List[str]:
        """list[str]: log lines about what changed (the schedule is always the config's)."""
        if not self.changes:
            return []
        return [f'resume: {c}' for c in self.changes] + [
            'resume: the learning-rate schedule is recomputed from the config at the new step'
        ]


def restore_state(train_step: Any, path: str, step: int) -> None:
    """Load a full-state checkpoint into the train step, except the learning-rate table (from
    the config) and the step counter (set to ``step``).

    Args:
        train_step (nn.Cell): the train step (model, optimizer, loss scale).
        path (str): the checkpoint.
        step (int): the optimizer step to continue at.

    Raises:
        ResumeError: the checkpoint holds another model (missing names or other shapes).
    """
    import mindspore as ms
    import numpy as np

    arrays = load_checkpoint_arrays(path)
    own = {p.name: p for p in train_step.get_parameters()}
    wanted = [n for n in own if n not in SCHEDULE_PARAMS]
    missing = [n for n in wanted if n not in arrays and n not in OPTIONAL_PARAMS]
    wanted = [n for n in wanted if n in arrays]
    wrong = [n for n in wanted if n in arrays and tuple(arrays[n].shape) != tuple(own[n].shape)]
    if missing or wrong:
        example = (missing or wrong)[:3]
        raise ResumeError(
            f'--resume: {path} does not match this run ({len(missing)} tensors '
            f'missing, {len(wrong)} of another shape, e.g. {example}): another '
            'model or optimizer?'
        )
    params = {n: ms.Parameter(ms.Tensor(arrays[n]), name=n) for n in wanted}
    ms.load_param_into_net(train_step, params)
    if 'global_step' in own:
        g = own['global_step']
        g.set_data(ms.Tensor(np.full(g.shape, step, g.asnumpy().dtype)))
