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


def test_plot_curve_draws_the_loss_and_every_val_metric_by_default(repo_root, log_file, tmp_path):
    pytest.importorskip('matplotlib')
    sys.path.insert(0, f'{repo_root}/tools/analysis')
    try:
        from analyze_logs import default_keys
    finally:
        sys.path.pop(0)
    assert default_keys([log_file]) == ['loss', 'SAD', 'MSE']
    out = run(
        repo_root,
        'tools/analysis/analyze_logs.py',
        'plot_curve',
        log_file,
        '--out',
        str(tmp_path / 'd.png'),
    )
    assert out.returncode == 0, out.stderr
    assert cv2.imread(str(tmp_path / 'd.png')).shape[0] >= 3 * 250  # three panels


def test_error_gallery_shows_the_worst_images_first(repo_root, trained, tmp_path):
    import json as json_

    cfg, ckpt, _ = trained
    out = run(
        repo_root,
        'tools/analysis/error_gallery.py',
        cfg,
        ckpt,
        '--num',
        '3',
        '--out',
        str(tmp_path / 'g'),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = run(
        repo_root, 'tools/test.py', cfg, ckpt, '--metrics', 'SAD', '--out', str(tmp_path / 'r.json')
    )
    ranked = sorted(json_.load(open(tmp_path / 'r.json'))['per_image'], key=lambda r: -r['SAD'])
    page = open(tmp_path / 'g' / 'index.html').read()
    positions = [page.index(r['name']) for r in ranked[:3]]
    assert positions == sorted(positions) and ranked[3]['name'] not in page  # worst first, 3 only
    sheets = sorted(p.name for p in (tmp_path / 'g').glob('0*.png'))
    assert len(sheets) == 3 and sheets[0].startswith('001_')
    worst = cv2.imread(str(tmp_path / 'g' / 'worst.png'))
    assert worst.shape[0] == 3 * 240 and res.returncode == 0


def test_trimap_confusion_counts_every_pixel_and_agrees_with_miou(repo_root, trained, tmp_path):
    cfg, ckpt, _ = trained
    out = run(
        repo_root, 'tools/analysis/trimap_confusion.py', cfg, ckpt, '--out', str(tmp_path / 'c.png')
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'ground truth \\ predicted' in out.stdout and '6 of 6 images' in out.stdout
    counts = [
        int(cell.split()[0])
        for line in out.stdout.splitlines()
        if line.startswith(('| background', '| unknown', '| foreground'))
        for cell in line.split('|')[2:5]
    ]
    assert sum(counts) == 6 * 64 * 80  # every pixel of the six test images once
    ref = run(repo_root, 'tools/test.py', cfg, ckpt, '--metrics', 'mIoU')
    miou = [line for line in ref.stdout.splitlines() if line.startswith('| mIoU')][0]
    got = float(out.stdout.split('mIoU: ')[1].split()[0])
    assert abs(got - float(miou.split('|')[2])) < 1e-5
    assert cv2.imread(str(tmp_path / 'c.png')) is not None
