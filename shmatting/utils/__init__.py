"""Small utilities: logging, environment facts, progress bars."""

from .collect_env import collect_env, env_table, get_git_hash
from .logging import get_env_rank, get_logger, print_log
from .progressbar import ProgressBar, track_progress

__all__ = [
    'collect_env',
    'env_table',
    'get_git_hash',
    'get_logger',
    'print_log',
    'get_env_rank',
    'ProgressBar',
    'track_progress',
]
