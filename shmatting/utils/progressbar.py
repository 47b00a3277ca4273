"""A dependency-free progress bar: redrawn on a terminal, periodic plain lines otherwise."""

import sys
import time

__all__ = ['ProgressBar', 'track_progress']


class ProgressBar:
    """Progress of a loop of known (or unknown) length.

    On a TTY the bar is redrawn in place; when the output is a file or a pipe (CI logs), a plain
    line is printed at most every ``interval`` seconds and at the end.

    Args:
        total (int): number of tasks (0 or None if unknown).
        width (int): bar width in characters.
        file: output stream (default ``sys.stdout``).
        interval (float): seconds between plain lines when not on a TTY.
        desc (str): text in front of the bar.
    """

    def __init__(self, total=0, width=30, file=None, interval=10.0, desc=''):
        self.total = int(total or 0)
        self.width = width
        self.file = file or sys.stdout
        self.interval = interval
        self.desc = f'{desc} ' if desc else ''
        self.completed = 0
        self.start = time.perf_counter()
        self._last_print = self.start
        self.is_tty = bool(getattr(self.file, 'isatty', lambda: False)())

    def _line(self):
        elapsed = time.perf_counter() - self.start
        rate = self.completed / elapsed if elapsed > 0 else 0.0
        if self.total > 0:
            frac = min(self.completed / self.total, 1.0)
            eta = (self.total - self.completed) / rate if rate > 0 else 0.0
            bar = '>' * int(self.width * frac) + ' ' * (self.width - int(self.width * frac))
            return (
                f'{self.desc}[{bar}] {self.completed}/{self.total}, {rate:.1f} task/s, '
                f'elapsed: {elapsed:.0f}s, ETA: {eta:.0f}s'
            )
        return (
            f'{self.desc}completed: {self.completed}, elapsed: {elapsed:.0f}s, {rate:.1f} tasks/s'
        )

    def update(self, num=1):
        """Mark ``num`` more tasks done and redraw (or print a line if one is due)."""
        self.completed += num
        now = time.perf_counter()
        done = self.total > 0 and self.completed >= self.total
        if self.is_tty:
            self.file.write('\r' + self._line() + ('\n' if done else ''))
            self.file.flush()
        elif done or now - self._last_print >= self.interval:
            self.file.write(self._line() + '\n')
            self.file.flush()
            self._last_print = now


def track_progress(iterable, total=None, desc='', file=None, interval=10.0):
    """Yield the items of ``iterable`` while showing a :class:`ProgressBar`.

    Args:
        iterable: the items.
        total (int, optional): defaults to ``len(iterable)`` when available.
        desc (str): text in front of the bar.
        file: output stream.
        interval (float): seconds between plain lines when not on a TTY.

    Yields:
        The items of ``iterable``.
    """
    if total is None:
        total = len(iterable) if hasattr(iterable, '__len__') else 0
    bar = ProgressBar(total, file=file, interval=interval, desc=desc)
    for item in iterable:
        yield item
        bar.update()
