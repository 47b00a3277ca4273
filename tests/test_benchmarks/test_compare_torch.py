"""benchmarks/compare_torch.py end to end on tiny shapes (where torch is installed)."""

import subprocess
import sys

import pytest

pytest.importorskip('torch')


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
    assert labels == [
        'inference, batch 1, GRAPH, 64x64, inference-only process',
        'inference, batch 1, MINDIR, 64x64, inference-only process',
        'train step, batch 2, 64x64',
        'inference, batch 1, GRAPH, 64x64, after training',
        'inference, batch 1, MINDIR, 64x64, after training',
    ]
    for row in rows[1:]:
        assert float(row.split('|')[4]) > 0  # a ratio was computed
