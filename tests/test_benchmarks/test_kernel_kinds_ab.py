"""benchmarks/kernel_kinds_ab.py: the two models' steps alternate, both orders, one process."""

import os.path as osp

import pytest

from benchmarks import kernel_kinds_ab
from tests.helpers import ROOT


def test_rounds_alternate_a_b_then_b_a_so_drift_falls_on_both():
    calls = []
    steps = [lambda: calls.append('A'), lambda: calls.append('B')]
    times = kernel_kinds_ab.alternate(steps, 3)
    assert ''.join(calls) == 'ABBAAB'
    assert [len(t) for t in times] == [3, 3]


def test_an_unknown_kernel_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        kernel_kinds_ab.parse_args(['all', 'conv,bogus'])
    assert 'bogus' in capsys.readouterr().err


def test_two_kernel_sets_train_in_one_process_and_print_their_medians(capsys):
    config = osp.join(ROOT, 'configs/shm/tnet_cpu_synthetic.py')
    argv = ['all', 'none', '--config', config, '--batch', '1', '--shape', '32', '32']
    kernel_kinds_ab.main(argv + ['--rounds', '2', '--pynative'])
    out = capsys.readouterr().out
    assert 'round 1: A ' in out and 'round 2: A ' in out
    assert 'A (all) median ' in out and 'B (none) median ' in out and 'of 2 rounds' in out
