"""Hooks: code the runner calls at fixed points of training, ordered by priority bands."""
__all__ = ['Hook', 'PRIORITIES', 'get_priority']

# a few bands; lower runs first. NaN guard (HIGH) -> logger (NORMAL) -> eval (LOW) -> checkpoint (LOWEST)
PRIORITIES = {'HIGHEST': 0, 'HIGH': 20, 'NORMAL': 50, 'LOW': 70, 'LOWEST': 90}


def get_priority(priority):
    """Priority as an int from a band name or an int 0-100."""
    if isinstance(priority, str):
        if priority.upper() not in PRIORITIES:
            raise ValueError(f'priority must be one of {list(PRIORITIES)} or 0-100, got {priority!r}')
        return PRIORITIES[priority.upper()]
    if isinstance(priority, int) and 0 <= priority <= 100:
        return priority
    raise ValueError(f'priority must be one of {list(PRIORITIES)} or 0-100, got {priority!r}')


class Hook:
    """Base hook: override the stages you need. ``priority`` is a class attribute (or an arg)."""

    priority = 'NORMAL'
    stages = ('before_run', 'before_epoch', 'before_iter', 'after_iter', 'after_epoch', 'after_val',
              'before_save_checkpoint', 'after_load_checkpoint', 'after_run')

    def before_run(self, runner):
        pass

    def before_epoch(self, runner):
        pass

    def before_iter(self, runner):
        pass

    def after_iter(self, runner):
        pass

    def after_epoch(self, runner):
        pass

    def after_val(self, runner, metrics):
        pass

    def before_save_checkpoint(self, runner, meta):
        pass

    def after_load_checkpoint(self, runner, meta):
        pass

    def after_run(self, runner):
        pass

    @staticmethod
    def every_n_epochs(runner, n):
        return n > 0 and (runner.epoch + 1) % n == 0

    @staticmethod
    def is_last_epoch(runner):
        return runner.epoch + 1 == runner.max_epochs
