"""Importing shmatting caps oneDNN at AVX2, so 3x3 convolutions take the fast gemm path."""

import os
import subprocess
import sys
import textwrap

CONV = textwrap.dedent("""
    import numpy as np
    import mindspore as ms
    from mindspore import nn
    ms.set_device('CPU')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    conv = nn.Conv2d(8, 8, 3, pad_mode='pad', padding=1)
    conv(ms.Tensor(np.ones((1, 8, 16, 16), np.float32))).asnumpy()
""")


def run_conv(prefix, repo_root):
    env = {k: v for k, v in os.environ.items() if k != 'ONEDNN_MAX_CPU_ISA'}
    env['ONEDNN_VERBOSE'] = '1'
    env['PYTHONPATH'] = repo_root
    out = subprocess.run(
        [sys.executable, '-c', prefix + CONV], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return [
        line
        for line in (out.stdout + out.stderr).splitlines()
        if 'primitive,exec' in line and ',convolution,' in line
    ]


def cpu_has_avx512():
    try:
        with open('/proc/cpuinfo') as f:
            return 'avx512f' in f.read()
    except OSError:
        return False


def test_import_sets_isa_cap_and_conv_uses_gemm(repo_root):
    lines = run_conv(
        'import shmatting, os\nassert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"\n', repo_root
    )
    assert lines, 'oneDNN reported no convolution'
    assert all('gemm:jit' in line for line in lines), lines
    assert not any('ref' in line.split(',')[6] for line in lines), lines


def test_without_the_cap_avx512_cpus_fall_back_to_reference_kernels(repo_root):
    """The control: proves the test above can fail on this kind of CPU."""
    if not cpu_has_avx512():
        import pytest

        pytest.skip('the reference-kernel fallback only happens on AVX-512 CPUs')
    lines = run_conv('', repo_root)
    assert any('ref' in line.split(',')[6] for line in lines), lines
