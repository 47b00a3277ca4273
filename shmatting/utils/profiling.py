"""Small helpers for benchmarks."""

import resource

import numpy as np

__all__ = ['peak_rss_gb', 'random_batch']


def peak_rss_gb():
    """Peak resident memory of this process in GB (Linux ``ru_maxrss`` is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def random_batch(batch, h, w, seed=0):
    """Random model inputs of one batch: normalised image, trimap classes, alpha, fg, bg."""
    rng = np.random.default_rng(seed)
    return dict(
        img=rng.uniform(-0.5, 0.5, (batch, 3, h, w)).astype(np.float32),
        trimap=rng.integers(0, 3, (batch, 1, h, w)).astype(np.int32),
        alpha=rng.uniform(0, 1, (batch, 1, h, w)).astype(np.float32),
        fg=rng.uniform(0, 1, (batch, 3, h, w)).astype(np.float32),
        bg=rng.uniform(0, 1, (batch, 3, h, w)).astype(np.float32),
    )
