"""One logger for the whole package: console + optional file, rank aware."""

import logging
import os
import sys

__all__ = ['get_logger', 'print_log', 'get_env_rank']

_initialized = set()


def get_env_rank():
    """The process rank announced by the launcher (``RANK_ID``, set by msrun and rank tables).

    Returns:
        int: the rank, 0 when the process was not started by a launcher.
    """
    for var in ('RANK_ID', 'RANK'):
        value = os.environ.get(var)
        if value is not None and value.strip().lstrip('-').isdigit():
            return int(value)
    return 0


def get_logger(name='shmatting', log_file=None, log_level=logging.INFO, rank=None, file_mode='a'):
    """Get the package logger (created once per name).

    Rank 0 logs at ``log_level`` to the console and, when ``log_file`` is given, to that file.
    Other ranks log warnings and errors only, and never to a file.

    Args:
        name (str): logger name; children (``shmatting.xxx``) share its handlers.
        log_file (str, optional): file to log to (rank 0 only); a later call with a new file
            adds it.
        log_level (int | str): level on rank 0.
        rank (int, optional): defaults to :func:`get_env_rank`.
        file_mode (str): ``'a'`` or ``'w'``.

    Returns:
        logging.Logger: the logger.
    """
    logger = logging.getLogger(name)
    if rank is None:
        rank = get_env_rank()
    if isinstance(log_level, str):
        log_level = logging.getLevelName(log_level.upper())
    fmt = logging.Formatter('%(asctime)s - %(name)s - %(levelname)s - %(message)s')
    if name not in _initialized:
        logger.propagate = False
        stream = logging.StreamHandler(sys.stdout)
        stream.setFormatter(fmt)
        logger.addHandler(stream)
        _initialized.add(name)
    level = log_level if rank == 0 else logging.WARNING
    logger.setLevel(level)
    for h in logger.handlers:
        h.setLevel(level)
    if log_file is not None and rank == 0:
        log_file = os.path.abspath(log_file)
        if not any(
            isinstance(h, logging.FileHandler) and h.baseFilename == log_file
            for h in logger.handlers
        ):
            os.makedirs(os.path.dirname(log_file), exist_ok=True)
            fh = logging.FileHandler(log_file, file_mode, encoding='utf-8')
            fh.setFormatter(fmt)
            fh.setLevel(level)
            logger.addHandler(fh)
    return logger


def print_log(msg, logger=None, level=logging.INFO):
    """Log ``msg`` through ``logger`` (a Logger, a name, ``'silent'``, or None: the package's).

    Args:
        msg (str): the message.
        logger (logging.Logger | str | None): where to log.
        level (int): logging level.
    """
    if logger == 'silent':
        return
    if logger is None or isinstance(logger, str):
        logger = get_logger(logger or 'shmatting')
    logger.log(level, msg)


def remove_file_handlers(name='shmatting'):
    """Close and detach the file handlers of a logger (used when a run ends)."""
    logger = logging.getLogger(name)
    for h in list(logger.handlers):
        if isinstance(h, logging.FileHandler):
            h.close()
            logger.removeHandler(h)
