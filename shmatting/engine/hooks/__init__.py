"""Training hooks."""
from .checkpoint_hook import CheckpointHook, is_better
from .eval_hook import EvalHook
from .hook import PRIORITIES, Hook, get_priority
from .logger_hook import LoggerHook
from .nan_guard_hook import NaNGuardHook, NonFiniteLossError

__all__ = ['Hook', 'PRIORITIES', 'get_priority', 'LoggerHook', 'EvalHook', 'CheckpointHook',
           'NaNGuardHook', 'NonFiniteLossError', 'is_better']
