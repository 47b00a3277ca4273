import json
import subprocess
import sys

import cv2
import pytest

from tests.helpers import tiny_config


def run(repo_root, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=repo_root, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / 'run.log.json'
    records = [
        dict(mode='train', epoch=1, iter=i, loss=1.0 / i, time=0.5 + 0.1 * (i == 1))
        for i in range(1, 6)
    ]
    records.append(dict(mode='val', epoch=1, iter=5, SAD=3.2, MSE=0.1))
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    return str(path)


def test_plot_curve(repo_root, log_file, tmp_path):
    pytest.importorskip('matplotlib')
    out = run(
        repo_root,
        'tools/analysis/analyze_logs.py',
        'plot_curve',
        log_file,
        '--keys',
        'loss',
        'SAD',
        '--out',
        str(tmp_path / 'c.png'),
    )
    assert out.returncode == 0, out.stderr
    assert cv2.imread(str(tmp_path / 'c.png')) is not None


def test_plot_curve_without_matplotlib_is_a_clear_error(repo_root, log_file, tmp_path):
    try:
        import matplotlib  # noqa: F401

        pytest.skip('matplotlib is installed')
    except ImportError:
        out = run(repo_root, 'tools/analysis/analyze_logs.py', 'plot_curve', log_file)
        assert out.returncode != 0 and 'needs matplotlib' in out.stderr


def test_cal_train_time(repo_root, log_file):
    out = run(repo_root, 'tools/analysis/analyze_logs.py', 'cal_train_time', log_file)
    assert out.returncode == 0 and 'average (without the first window): 0.500 s/iter' in out.stdout


def test_browse_dataset(repo_root, tiny_data, tmp_path):
    cfg = tiny_config(tmp_path / 'b.py', tiny_data)
    out = run(
        repo_root,
        'tools/analysis/browse_dataset.py',
        cfg,
        '--num',
        '3',
        '--out',
        str(tmp_path / 'grid.png'),
    )
    assert out.returncode == 0, out.stderr
    grid = cv2.imread(str(tmp_path / 'grid.png'))
    assert grid.shape == (3 * 64, 3 * 64, 3)
