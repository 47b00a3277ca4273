"""benchmarks/compare_torch.py end to end on tiny shapes (where torch is installed)."""

import importlib.util
import subprocess
import sys

import pytest

pytest.importorskip('torch')
HAS_ORT = all(importlib.util.find_spec(m) is not None for m in ('onnx', 'onnxruntime'))


def test_compare_torch_prints_both_inference_states_and_the_train_ratio(repo_root):
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
    expected.insert(len(expected) // 2, 'train step, batch 2, 64x64')
    assert labels == expected
    for row in rows[1:]:
        assert float(row.split('|')[4]) > 0  # a ratio was computed
