"""Training hooks and how configs choose them."""

from .builder import DEFAULT_HOOKS, eval_settings, resolve_default_hooks
from .checkpoint_hook import CheckpointHook, is_better
from .eval_hook import EvalHook
from .hook import PRIORITIES, STAGES, Hook, get_priority
from .logger_hook import LoggerHook
from .nan_guard_hook import NaNGuardHook, NonFiniteLossError
from .tensorboard_hook import TensorboardLoggerHook

__all__ = [
    'Hook', 'STAGES', 'PRIORITIES', 'get_priority', 'LoggerHook', 'EvalHook', 'CheckpointHook',
    'NaNGuardHook', 'NonFiniteLossError', 'is_better', 'DEFAULT_HOOKS', 'resolve_default_hooks',
    'eval_settings', 'TensorboardLoggerHook',
]  # fmt: skip
