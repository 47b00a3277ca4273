"""benchmarks/inverted_residual_blocks.py: every zoo block timed in both forms, and a total."""

import pytest

from benchmarks import inverted_residual_blocks
from shmatting.ops import cpu_kernels_enabled


@pytest.mark.skipif(not cpu_kernels_enabled('conv'), reason='no oneDNN kernel library')
def test_every_block_is_timed_as_one_kernel_and_as_three_layers(capsys):
    inverted_residual_blocks.main(['--size', '32', '--rounds', '1', '--steps', '1', '--pynative'])
    out = capsys.readouterr().out
    assert out.count('kernel ') == len(inverted_residual_blocks.BLOCKS) + 1
    assert 'block 2.0  16->96->24 stride 2 at 32x32' in out
    assert out.splitlines()[-1].startswith('all blocks: kernel ')
