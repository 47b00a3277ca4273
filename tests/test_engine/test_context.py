"""The run's MindSpore context: the memory pool setting, which MindSpore takes once per process."""

import os
import subprocess
import sys

import pytest

from shmatting.config import Config
from shmatting.engine.context import apply_memory_pool
from tests.helpers import ROOT

# a fresh process: mindspore.runtime.set_memory refuses a second call in a process
PROBE = """
from shmatting.engine.context import apply_context, apply_memory_pool
try:
    apply_memory_pool(dict(init_size='half a GB'))
except ValueError as exc:
    print('malformed:', exc)
pool = dict(init_size='0.25GB', increase_size='0.25GB')
ctx = apply_context(dict(device_target='CPU', mode='PYNATIVE', memory_pool=pool))
print(ctx['memory_pool'] == pool)
apply_context(dict(device_target='CPU', mode='PYNATIVE', memory_pool=dict(pool)))  # same: no-op
try:
    apply_context(dict(device_target='CPU', memory_pool=dict(init_size='1GB')))
except RuntimeError as exc:
    print('refused:', exc)
"""


def test_a_malformed_or_second_different_memory_pool_is_refused_not_ignored():
    res = subprocess.run(
        [sys.executable, '-c', PROBE],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert lines[-3].startswith('malformed: context.memory_pool: ') and 'illegal' in lines[-3]
    assert lines[-2] == 'True'
    assert lines[-1].startswith('refused: context.memory_pool is applied once per process')


def test_a_misspelt_memory_pool_key_is_refused_before_mindspore_sees_it():
    with pytest.raises(KeyError, match=r"unknown keys \['increase'\]; use \['init_size'"):
        apply_memory_pool(dict(increase='1GB'))


def test_the_low_memory_config_grows_the_pool_in_small_steps_and_the_default_keeps_mindspores():
    low = Config.fromfile(os.path.join(ROOT, 'configs/shm/e2e_8x8_low_memory.py'))
    default = Config.fromfile(os.path.join(ROOT, 'configs/shm/e2e_8x8.py'))
    assert low.context.memory_pool == dict(init_size='0.25GB', increase_size='0.25GB')
    assert default.context.memory_pool is None
