"""Test-wide setup: the package import sets the oneDNN ISA cap before MindSpore runs any op."""

import os
import sys

import pytest

import shmatting  # noqa: F401  (sets ONEDNN_MAX_CPU_ISA)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# No MindSpore compile cache in tests: a cache left by an earlier run of changed code returned a
# graph with the wrong outputs here (MS_COMPILER_CACHE_ENABLE=1, MindSpore 2.10).
os.environ['MS_COMPILER_CACHE_ENABLE'] = '0'


def pytest_configure(config):
    """Blocking operator launches, and each pytest-xdist worker (and every process it starts) on
    cores of its own.

    Two workers whose processes all spread their threads over both cores ran a tiny PyNative
    training 50-65% slower than the same two pinned one core each (29-31 vs 18.7 s for two
    concurrent two-epoch runs): their thread pools kept preempting each other. The project's
    kernels keep the thread count of the whole machine (``SHMATTING_KERNEL_THREADS``), so their
    multi-threaded paths are still what the tests run.
    """
    from shmatting.engine.context import apply_launch_blocking

    # the operators the tests run in this process launch as a PyNative run's do on CPU (it must
    # precede the first operator)
    apply_launch_blocking(None, 'CPU', 'PYNATIVE')
    worker = os.environ.get('PYTEST_XDIST_WORKER', '')
    count = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0') or 0)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else []
    if not worker.startswith('gw') or not 1 < count <= len(cpus):
        return
    os.environ.setdefault('SHMATTING_KERNEL_THREADS', str(len(cpus)))
    os.sched_setaffinity(0, cpus[int(worker[2:]) % count :: count])


@pytest.fixture
def repo_root():
    """Absolute path of the repository root."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """24 synthetic 64x80 portraits, prepared (train 14 / val 4 / test 6 by the 6:2:2 rule)."""
    from tests.helpers import make_tiny_data

    return make_tiny_data(tmp_path_factory)
