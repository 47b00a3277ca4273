import importlib.util
import re
import subprocess
import sys

import pytest

from shmatting.ops import cpu_kernels_enabled

HAS_ORT = all(importlib.util.find_spec(m) is not None for m in ('onnx', 'onnxruntime'))


def run(repo_root, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=repo_root, capture_output=True, text=True, timeout=600
    )


def test_benchmark_train_and_infer(repo_root):
    out = run(
        repo_root,
        'tools/analysis/benchmark.py',
        '--train',
        'configs/shm/e2e_8x8.py',
        '--batch',
        '2',
        '--shape',
        '64',
        '64',
        '--steps',
        '2',
        '--warmup',
        '1',
        '--cfg-options',
        'context.mode=PYNATIVE',
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert 's/step' in out.stdout and 'images/s' in out.stdout and 'peak RSS' in out.stdout
    # the memory after compiling and after the first step, which later steps can exceed
    memory = re.search(r'\(([\d.]+) after compiling, ([\d.]+) after the first', out.stdout)
    assert memory, out.stdout
    assert 0 < float(memory.group(1)) <= float(memory.group(2))
    out = run(
        repo_root,
        'tools/analysis/benchmark.py',
        '--infer',
        'configs/shm/e2e_8x8.py',
        '--shape',
        '64',
        '64',
        '--steps',
        '2',
        '--warmup',
        '1',
        '--mindir',
        *(['--onnx'] if HAS_ORT else []),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (
        'ms/image' in out.stdout and 'compile' in out.stdout and 'MINDIR (GraphCell)' in out.stdout
    )
    assert ('ONNX (ONNX Runtime)' in out.stdout) == HAS_ORT


def bench_infer(repo_root, kinds, *extra):
    return run(
        repo_root,
        'tools/analysis/benchmark.py',
        '--infer',
        'configs/shm/e2e_8x8.py',
        '--shape',
        '64',
        '64',
        '--steps',
        '1',
        '--warmup',
        '0',
        '--cpu-kernels',
        kinds,
        *extra,
    )


def test_benchmark_without_kernels_and_a_wrong_kind(repo_root):
    out = bench_infer(repo_root, 'none')
    assert out.returncode == 0, out.stderr[-2000:]
    assert '(CPU kernels: none; BatchNorm folded)' in out.stdout
    out = run(
        repo_root,
        'tools/analysis/benchmark.py',
        '--infer',
        'configs/shm/e2e_8x8.py',
        '--cpu-kernels',
        'gemm',
    )
    assert out.returncode == 2 and 'unknown CPU kernel kind(s) gemm' in out.stderr


@pytest.mark.skipif(
    not cpu_kernels_enabled(),
    reason='the CPU kernels do not build here (CI requires them: SHMATTING_CPU_KERNELS=1)',
)
def test_benchmark_selects_the_named_kernel_kinds(repo_root):
    out = bench_infer(repo_root, 'depthwise,pool')
    assert out.returncode == 0, out.stderr[-2000:]
    assert '(CPU kernels: depthwise,pool; BatchNorm folded)' in out.stdout
    out = bench_infer(repo_root, 'norm,pool', '--no-fuse')
    assert out.returncode == 0, out.stderr[-2000:]
    assert '(CPU kernels: norm,pool; BatchNorm not folded)' in out.stdout


def test_benchmark_data(repo_root, tmp_path):
    from shmatting.datasets.synthetic import write_synthetic_dataset

    raw, prep = str(tmp_path / 'raw'), str(tmp_path / 'prep')
    write_synthetic_dataset(raw, num=20, size=(64, 80), seed=0, num_backgrounds=2, workers=1)
    assert (
        run(
            repo_root, 'tools/dataset_converters/human_matting.py', raw, prep, '--workers', '1'
        ).returncode
        == 0
    )
    out = run(
        repo_root,
        'tools/analysis/benchmark_data.py',
        'configs/_base_/datasets/synthetic_portraits.py',
        '--workers',
        '0',
        '--batches',
        '1',
        '--cfg-options',
        f'data_root={prep}',
        'data.samples_per_device=4',
        'data.train.pipeline.5.crop_size=32',
        'data.train.pipeline.4.scale_range=(0.5,0.6)',
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'samples/s' in out.stdout
