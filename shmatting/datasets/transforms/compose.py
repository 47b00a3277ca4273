"""Compose transforms built from configs."""

from ...registry import TRANSFORMS

__all__ = ['Compose']


class Compose:
    """Apply transforms in order.

    Args:
        transforms (list[dict | callable]): TRANSFORMS configs or callables.
    """

    def __init__(self, transforms):
        self.transforms = []
        for t in transforms or []:
            if isinstance(t, dict):
                t = TRANSFORMS.build(t)
            elif not callable(t):
                raise TypeError(f'a transform must be a dict or a callable, got {type(t).__name__}')
            self.transforms.append(t)

    def __call__(self, results):
        for t in self.transforms:
            results = t(results)
        return results

    def __repr__(self):
        inner = ''.join(f'\n    {t!r}' for t in self.transforms)
        return f'Compose({inner}\n)'
