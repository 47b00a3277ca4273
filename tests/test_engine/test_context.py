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


def fresh_process_lines(code):
    """The stdout lines of ``code`` run in a fresh process (MindSpore's runtime settings are
    once per process), asserting that it succeeded."""
    res = subprocess.run(
        [sys.executable, '-c', code],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.strip().splitlines()


def test_a_malformed_or_second_different_memory_pool_is_refused_not_ignored():
    lines = fresh_process_lines(PROBE)
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


LAUNCH_PROBE = """
from mindspore._c_expression import RuntimeConf
from shmatting.engine.context import apply_context
for mode, setting in (('GRAPH', None), ('GRAPH', False), ('PYNATIVE', None)):
    ctx = apply_context(dict(device_target='CPU', mode=mode, launch_blocking=setting))
    print(mode, setting, ctx['launch_blocking'], RuntimeConf.get_instance().is_launch_blocking())
"""


def test_pynative_on_cpu_does_not_queue_operators_to_threads_that_compete_with_the_kernels():
    """Asynchronous launches made a PyNative training step 1.4-3.3x slower on CPU; GRAPH mode
    keeps MindSpore's default (the setting is one-way in a process, hence GRAPH first)."""
    assert fresh_process_lines(LAUNCH_PROBE)[-3:] == [
        'GRAPH None False False',
        'GRAPH False False False',
        'PYNATIVE None True True',
    ]


def test_a_launch_blocking_setting_other_than_a_bool_or_none_is_refused():
    from shmatting.engine.context import apply_launch_blocking

    with pytest.raises(ValueError, match=r'context.launch_blocking must be None, True or False'):
        apply_launch_blocking('yes', 'CPU', 'PYNATIVE')
