"""Training engine: runner, train step, hooks, checkpoints, distribution."""
from . import hooks, lr_schedules, optimizers  # noqa: F401  (registration)
from .hooks import CheckpointHook, EvalHook, Hook, LoggerHook, NaNGuardHook, NonFiniteLossError
from .runner import Runner

__all__ = ['Hook', 'LoggerHook', 'EvalHook', 'CheckpointHook', 'NaNGuardHook',
           'NonFiniteLossError', 'Runner']
