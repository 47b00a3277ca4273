"""benchmarks/kernel_builds_ab.py: two builds of the kernels called layer by layer in one process,
alternated, their outputs compared bit for bit."""

import pytest

from benchmarks import kernel_builds_ab
from shmatting.ops import cpu_kernels_enabled
from tests.helpers import ROOT


def test_calls_alternate_a_b_then_b_a_after_one_untimed_call_each():
    calls = []

    def run(lib, i):
        calls.append(lib)
        return (0.001 * (i + 1),)

    medians = kernel_builds_ab.alternate(['A', 'B'], run, 4)
    assert ''.join(calls) == 'AB' + 'ABBAABBA'
    assert [float(m[0]) for m in medians] == [0.001, 0.002]


def test_a_directory_that_is_no_checkout_is_one_error_line(tmp_path):
    with pytest.raises(SystemExit) as exc:
        kernel_builds_ab.main(['--against', str(tmp_path), '--kinds', 'dense3x3'])
    assert str(exc.value).startswith('error: ') and 'not a shmatting checkout' in str(exc.value)


@pytest.mark.skipif(not cpu_kernels_enabled('conv'), reason='the oneDNN kernels do not build here')
def test_the_same_build_on_both_sides_gives_equal_outputs_for_every_layer(capsys):
    argv = ['--against', ROOT, '--kinds', 'dense3x3', 'projection', 'inference']
    kernel_builds_ab.main(argv + ['--batch', '1', '--scale', '16', '--repeats', '2'])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if ' -> ' in line and line.startswith('|')]
    n_layers = 2 * len(kernel_builds_ab.DENSE3X3) + len(kernel_builds_ab.DATA)
    assert len(rows) == n_layers + len(kernel_builds_ab.PROJECTION)
    assert all(row.rstrip(' |').endswith('True') for row in rows), out
    for kind in ('dense3x3', 'projection', 'inference'):
        assert f"{kind}: the network's layers " in out


@pytest.mark.skipif(not cpu_kernels_enabled('depthwise'), reason='no core kernels here')
def test_the_batchnorm_depthwise_layers_come_from_the_core_library(capsys):
    argv = ['--against', ROOT, '--kinds', 'norm_depthwise']
    kernel_builds_ab.main(argv + ['--batch', '1', '--scale', '16', '--repeats', '2'])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if ' stride ' in line and line.startswith('|')]
    assert len(rows) == len(kernel_builds_ab.NORM_DEPTHWISE)
    assert all(row.rstrip(' |').endswith('True') for row in rows), out
    assert "norm_depthwise: the network's layers " in out


def test_outputs_that_differ_in_one_bit_are_not_equal():
    import numpy as np

    a = {'y': np.zeros(3, np.float32), 'stats': [np.ones(2, np.float32)]}
    b = {'y': np.zeros(3, np.float32), 'stats': [np.ones(2, np.float32)]}
    assert kernel_builds_ab.equal([a, b])
    b['stats'][0][1] = np.nextafter(np.float32(1), np.float32(2))
    assert not kernel_builds_ab.equal([a, b])
