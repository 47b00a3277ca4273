"""Learning-rate schedules as per-step values (MindSpore indexes them by the optimizer's step).

Because the optimizer's ``global_step`` is saved in full-state checkpoints, a resumed run continues
the schedule exactly where it stopped.
"""

import abc
import math
from typing import Sequence

import numpy as np

from ..registry import LR_SCHEDULERS

__all__ = ['BaseLR', 'ConstantLR', 'StepLR', 'PolyLR', 'CosineLR', 'build_lr_values']


class BaseLR(abc.ABC):
    """A schedule with optional linear warm-up; subclasses define :meth:`factor`.

    Args:
        warmup_iters (int): warm-up steps (or use ``warmup_epochs``).
        warmup_epochs (int): warm-up epochs.
        warmup_ratio (float): learning rate at step 0 relative to the base.
    """

    def __init__(self, warmup_iters: int = 0, warmup_epochs: int = 0, warmup_ratio: float = 0.1):
        self.warmup_iters, self.warmup_epochs, self.warmup_ratio = (
            warmup_iters,
            warmup_epochs,
            warmup_ratio,
        )

    @abc.abstractmethod
    def factor(self, step, total, steps_per_epoch):
        """Multiplier of the base rate at ``step`` of ``total`` (before warm-up)."""

    def values(self, base_lr, total_steps, steps_per_epoch):
        """Per-step learning rates.

        Args:
            base_lr (float): the optimizer's ``lr``.
            total_steps (int): steps of the whole run.
            steps_per_epoch (int): steps per epoch.

        Returns:
            np.ndarray: float32 of length ``total_steps``.
        """
        warm = self.warmup_iters or self.warmup_epochs * steps_per_epoch
        out = np.empty(total_steps, np.float64)
        for step in range(total_steps):
            lr = base_lr * self.factor(step, total_steps, steps_per_epoch)
            if step < warm:
                lr *= self.warmup_ratio + (1 - self.warmup_ratio) * step / warm
            out[step] = lr
        return out.astype(np.float32)


@LR_SCHEDULERS.register_module()
class ConstantLR(BaseLR):
    """The base learning rate throughout (the model zoo's schedule)."""

    def factor(self, step, total, steps_per_epoch):
        return 1.0


@LR_SCHEDULERS.register_module()
class StepLR(BaseLR):
    """Multiply by ``gamma`` at each epoch in ``steps`` (epoch numbers)."""

    def __init__(self, steps: Sequence[int] = (), gamma: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.steps, self.gamma = sorted(steps), gamma

    def factor(self, step, total, steps_per_epoch):
        epoch = step // steps_per_epoch
        return self.gamma ** sum(epoch >= s for s in self.steps)


@LR_SCHEDULERS.register_module()
class PolyLR(BaseLR):
    """Polynomial decay ``min_lr + (lr - min_lr) * (1 - step / total) ** power``."""

    def __init__(self, power: float = 0.9, min_lr: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.power, self.min_lr = power, min_lr
        self._base = None

    def values(self, base_lr, total_steps, steps_per_epoch):
        self._base = base_lr
        return super().values(base_lr, total_steps, steps_per_epoch)

    def factor(self, step, total, steps_per_epoch):
        coeff = (1 - step / total) ** self.power
        return (self.min_lr + (self._base - self.min_lr) * coeff) / self._base


@LR_SCHEDULERS.register_module()
class CosineLR(BaseLR):
    """Cosine annealing from the base rate to ``min_lr`` over the run."""

    def __init__(self, min_lr: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.min_lr = min_lr
        self._base = None

    def values(self, base_lr, total_steps, steps_per_epoch):
        self._base = base_lr
        return super().values(base_lr, total_steps, steps_per_epoch)

    def factor(self, step, total, steps_per_epoch):
        cos = 0.5 * (1 + math.cos(math.pi * step / total))
        return (self.min_lr + (self._base - self.min_lr) * cos) / self._base


def build_lr_values(cfg, base_lr, total_steps, steps_per_epoch):
    """Per-step learning rates from an LR_SCHEDULERS config (None: constant)."""
    schedule = LR_SCHEDULERS.build(cfg or dict(type='ConstantLR'))
    return schedule.values(base_lr, total_steps, steps_per_epoch)
