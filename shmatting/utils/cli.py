"""What every command-line tool shares: one ``error: ...`` line for a user's mistake, no
traceback (``SHMATTING_DEBUG=1`` shows it), and configs loaded with their overrides."""

import os
import sys
from typing import Any, Callable, List, Optional

__all__ = [
    'run_cli',
    'error_line',
    'debug_enabled',
    'load_config',
    'positive_int',
    'non_negative_int',
]


def debug_enabled() -> bool:
    """bool: ``SHMATTING_DEBUG`` is set to something other than ``0``/``false``/empty."""
    return os.environ.get('SHMATTING_DEBUG', '').strip().lower() not in ('', '0', 'false', 'no')


def error_line(exc: BaseException) -> str:
    """One line describing ``exc``: its message's first non-empty line (``KeyError`` unquoted).

    Args:
        exc (BaseException): the exception.

    Returns:
        str: the line.
    """
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    line = lines[0]
    # Python's own terse messages ("[Errno 2] ...", "No module named x") say more with their type
    terse = line.startswith(('[', 'No module named')) or isinstance(
        exc, (MemoryError, ZeroDivisionError, AttributeError, IndexError)
    )
    return f'{type(exc).__name__}: {line}' if terse and type(exc).__name__ not in line else line


def _int_at_least(text: str, low: int, what: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < low:
        raise argparse.ArgumentTypeError(f'{text} is not {what}')
    return value


def positive_int(text: str) -> int:
    """argparse ``type`` for counts and sizes: an integer >= 1, or argparse's one-line error
    naming the option (a zero batch or step count used to be replaced by a default or fail
    deep inside a tool).

    Args:
        text (str): the command-line value.

    Returns:
        int: the value.
    """
    return _int_at_least(text, 1, 'a positive integer')


def non_negative_int(text: str) -> int:
    """argparse ``type`` for counts that may be zero (warm-up steps, worker processes).

    Args:
        text (str): the command-line value.

    Returns:
        int: the value.
    """
    return _int_at_least(text, 0, 'zero or a positive integer')


def run_cli(main: Callable[[Optional[List[str]]], Any], argv: Optional[List[str]] = None) -> None:
    """Run a tool's ``main``: an exception becomes ``error: <one line>`` on stderr and exit code 1
    (``SHMATTING_DEBUG=1`` re-raises it with its traceback); Ctrl-C exits 130; a closed output
    pipe exits 141 without a message (as ``SIGPIPE`` would).

    Args:
        main (callable): the tool's ``main(argv)``.
        argv (list[str], optional): the arguments (default ``sys.argv[1:]``).
    """
    try:
        main(argv)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print('error: interrupted', file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (``| head``, ``| grep -q``): stop quietly, as a Unix tool killed by
        # SIGPIPE would, and keep Python from complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as exc:  # a user's mistake or an environment problem: one line
        if debug_enabled():
            raise
        print(f'error: {error_line(exc)}', file=sys.stderr)
        sys.exit(1)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Any:
    """``Config.fromfile`` (a path, or a config name such as ``shm/e2e_8x8.py`` found among the
    configs installed with the package) with ``--cfg-options`` merged.

    Args:
        path (str): the config.
        cfg_options (dict, optional): dotted-key overrides.

    Returns:
        Config: the config.
    """
    from ..config import Config

    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
