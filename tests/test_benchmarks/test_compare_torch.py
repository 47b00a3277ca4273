"""benchmarks/compare_torch.py end to end on tiny shapes (where torch is installed)."""

import importlib.util
import json
import re
import subprocess
import sys

import pytest

pytest.importorskip('torch')
HAS_ORT = all(importlib.util.find_spec(m) is not None for m in ('onnx', 'onnxruntime'))


def test_compare_torch_prints_inference_in_both_states_and_training_in_one_and_fresh_processes(
    repo_root,
):
    out = subprocess.run(
        [
            sys.executable,
            'benchmarks/compare_torch.py',
            '--shape',
            '64',
            '64',
            '--batch',
            '2',
            '--rounds',
            '1',
            '--steps',
            '1',
            '--infer-steps',
            '1',
            '--fresh-rounds',
            '1',
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith('| ')]
    labels = [row.split('|')[1].strip() for row in rows[1:]]
    ort = HAS_ORT
    expected = []
    for state in ('inference-only process', 'after training'):
        expected += [
            f'inference, batch 1, GRAPH, 64x64, {state}',
            f'inference, batch 1, exported MINDIR, 64x64, {state}',
        ]
        expected += (
            [f'inference, batch 1, exported ONNX, ONNX Runtime, 64x64, {state}'] if ort else []
        )
    half = len(expected) // 2
    expected[half:half] = [
        'train step, batch 2, 64x64, one process',
        'train step, batch 2, 64x64, fresh processes',
    ]
    assert labels == expected
    for row in rows[1:]:
        assert float(row.split('|')[4]) > 0  # a ratio was computed
    peaks = re.search(
        r'peak RSS while training MindSpore ([\d.]+) GB, PyTorch ([\d.]+) GB', out.stdout
    )
    assert peaks and all(float(gb) > 0 for gb in peaks.groups()), out.stdout[-1000:]


def test_a_failing_fresh_training_process_is_one_error_line(repo_root, tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            'benchmarks/compare_torch.py',
            '--config',
            str(tmp_path / 'no_such_config.py'),
            '--fresh-rounds',
            '1',
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1].startswith('error: the fresh ms training process')


def test_pytorchs_fresh_training_process_loads_no_mindspore(repo_root):
    out = subprocess.run(
        [sys.executable, 'benchmarks/compare_torch.py', '--train-child', 'torch']
        + ['--shape', '32', '32', '--batch', '1', '--steps', '1'],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith('compare_torch train child:'))
    result = json.loads(line.split(':', 1)[1])
    assert len(result['times']) == 1 and result['peak_gb'] > 0
    assert result['mindspore_loaded'] is False
