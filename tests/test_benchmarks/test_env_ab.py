"""benchmarks/env_ab.py: two environments, fresh benchmark processes, alternated."""

import argparse

import pytest

from benchmarks import env_ab


def test_settings_parse_to_variables_to_set_or_unset():
    assert env_ab.parse_setting('-') == {}
    assert env_ab.parse_setting('A=1,B=') == {'A': '1', 'B': None}
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=VALUE, got 'bogus'"):
        env_ab.parse_setting('bogus')


def test_rounds_alternate_a_b_then_b_a_so_drift_falls_on_both():
    calls = []
    times = env_ab.alternate(lambda key: calls.append(key) or len(calls), 3)
    assert ''.join(calls) == 'ABBAAB'
    assert times == {'A': [1, 4, 5], 'B': [2, 3, 6]}


def test_without_benchmark_arguments_it_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        env_ab.parse_args(['-', '-', '--rounds', '2'])
    assert 'after --' in capsys.readouterr().err


def test_each_setting_reaches_its_benchmark_process(capsys):
    bench = ['--infer', 'configs/shm/tnet_cpu_synthetic.py', '--shape', '32', '32', '--steps', '2']
    env_ab.main(['SHMATTING_KERNEL_SPIN_US=0', '-', '--rounds', '1', '--', *bench])
    out = capsys.readouterr().out
    assert 'round 1: A ' in out and 'median: A ' in out
    with pytest.raises(SystemExit, match='error: .*SHMATTING_CPU_KERNELS must be one of'):
        env_ab.run_once({'SHMATTING_CPU_KERNELS': 'bogus'}, bench)
