"""Small helpers for benchmarks."""

import resource

import numpy as np

__all__ = ['peak_rss_gb', 'random_batch', 'rss_gb']


def peak_rss_gb() -> float:
    """Peak resident memory of this process in GB (Linux ``ru_maxrss`` is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def rss_gb() -> float:
    """Resident memory of this process now, in GB.

    Returns:
        float: ``VmRSS`` of ``/proc/self/status``; the peak (:func:`peak_rss_gb`) where that file
        is missing (not Linux).
    """
    try:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return peak_rss_gb()


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
