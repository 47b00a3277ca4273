"""Training engine: runner, train step, hooks, checkpoints, distribution."""

from . import hooks, lr_schedules, optimizers  # noqa: F401  (registration)
from .context import apply_context, apply_recompute, resolve_device_target, set_device
from .hooks import (
    STAGES,
    CheckpointHook,
    EvalHook,
    Hook,
    LoggerHook,
    NaNGuardHook,
    NonFiniteLossError,
)
from .runner import Runner

__all__ = [
    'Hook',
    'STAGES',
    'LoggerHook',
    'EvalHook',
    'CheckpointHook',
    'NaNGuardHook',
    'NonFiniteLossError',
    'Runner',
    'apply_context',
    'apply_recompute',
    'resolve_device_target',
    'set_device',
]
