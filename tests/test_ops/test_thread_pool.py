"""The ``dnnl`` library's thread pool (``shmatting/ops/csrc/thread_pool.h``): idle threads poll for
work only where they have cores of their own, and polling never changes a result."""

import ctypes
import functools
import os
from contextlib import contextmanager

import numpy as np
import pytest

from shmatting.ops import build as kernel_build
from tests.helpers import run_with_kernels

ALL_CPUS = list(range(os.cpu_count() or 1))
needs_two_cpus = pytest.mark.skipif(len(ALL_CPUS) < 2, reason='needs two CPUs')


@contextmanager
def on_cpus(cpus):
    """This thread on ``cpus`` (a pytest-xdist worker is pinned to one), restored after."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        if os.sched_getaffinity(0) != set(cpus):  # a cpuset without them
            pytest.skip(f'this process cannot run on CPUs {cpus}')
        yield
    finally:
        os.sched_setaffinity(0, before)


@functools.lru_cache(maxsize=None)
def rule():
    """The library's C function of the rule (loaded once: a later environment may be refused)."""
    fn = ctypes.CDLL(kernel_build.build_kernel_library('dnnl')).shm_dnnl_spin_ns_for
    fn.restype = ctypes.c_int64
    return fn


def spin_us_for(threads):
    """The library's rule for a pool of ``threads`` in this environment, in microseconds."""
    return rule()(threads) / 1000


@needs_two_cpus
def test_idle_threads_do_not_poll_on_cores_their_own_pool_or_other_ranks_need(monkeypatch):
    for var in ('SHMATTING_KERNEL_SPIN_US', 'MS_WORKER_NUM', 'RANK_SIZE'):
        monkeypatch.delenv(var, raising=False)
    with on_cpus(ALL_CPUS[:2]):
        assert spin_us_for(2) == 100
        assert spin_us_for(1) == 0  # no other thread to wake
        assert spin_us_for(3) == 0  # more threads than cores: a poller takes a worker's core
        monkeypatch.setenv('MS_WORKER_NUM', '2')  # msrun's workers, each with a pool
        assert spin_us_for(2) == 0
        monkeypatch.setenv('MS_WORKER_NUM', '1')
        monkeypatch.setenv('RANK_SIZE', '8')  # the rank-table launch
        assert spin_us_for(2) == 0
        monkeypatch.setenv('SHMATTING_KERNEL_SPIN_US', '12.5')  # the setting wins either way
        assert spin_us_for(2) == spin_us_for(3) == 12.5
        monkeypatch.setenv('SHMATTING_KERNEL_SPIN_US', '1e30')  # C callers: clamped to a second
        assert spin_us_for(2) == 1e6
    with on_cpus(ALL_CPUS[:1]):
        monkeypatch.setenv('SHMATTING_KERNEL_SPIN_US', '0')
        assert spin_us_for(2) == 0
        monkeypatch.delenv('SHMATTING_KERNEL_SPIN_US')
        monkeypatch.delenv('RANK_SIZE')
        assert spin_us_for(2) == 0  # a pytest-xdist worker's case: two threads, one core


@pytest.mark.parametrize('value', ['abc', '-1', 'nan', 'inf', '1e30', ''])
def test_a_malformed_spin_time_is_refused_in_one_line(monkeypatch, value):
    monkeypatch.setenv('SHMATTING_KERNEL_SPIN_US', value)
    with pytest.raises(kernel_build.KernelBuildError, match='SHMATTING_KERNEL_SPIN_US must be'):
        kernel_build.kernel_spin_us()
    for good in ('0', '250', '1e6'):
        monkeypatch.setenv('SHMATTING_KERNEL_SPIN_US', good)
        assert kernel_build.kernel_spin_us() == float(good)


PROBE = """
import os, sys
os.sched_setaffinity(0, range(os.cpu_count()))
import numpy as np
import mindspore as ms
from mindspore import ParameterTuple, ops
import shmatting
from shmatting.models.layers import SameConv2d
from shmatting.ops.cpu_kernels import dnnl_pool_spin_us
ms.set_context(mode=ms.GRAPH_MODE)
ms.set_seed(0)
conv = SameConv2d(8, 16, 3)
assert conv.use_cpu_kernel
grad = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)
rng = np.random.default_rng(0)
x = ms.Tensor(rng.normal(size=(3, 8, 37, 29)).astype(np.float32))
sens = ms.Tensor(rng.normal(size=(3, 16, 37, 29)).astype(np.float32))
outs = []
for _ in range(3):
    (dx,), (dw,) = grad(conv, ParameterTuple(conv.trainable_params()))(x, sens)
    outs += [conv(x).asnumpy(), dx.asnumpy(), dw.asnumpy()]
np.savez(sys.argv[1], *outs)
print(dnnl_pool_spin_us())
"""


@needs_two_cpus
def test_results_do_not_depend_on_whether_idle_threads_poll(tmp_path):
    runs = {}
    for spin in ('0', '2000'):
        out = tmp_path / f'spin_{spin}.npz'
        env = {'SHMATTING_KERNEL_SPIN_US': spin, 'SHMATTING_KERNEL_THREADS': '2'}
        assert float(run_with_kernels(PROBE, str(out), **env).split()[-1]) == float(spin)
        runs[spin] = np.load(out)
    for name in runs['0'].files:  # y, dx and dW, three times over
        np.testing.assert_array_equal(runs['0'][name], runs['2000'][name])
