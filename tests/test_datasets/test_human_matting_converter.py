"""tools/dataset_converters/human_matting.py end to end on small synthetic raw trees."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from shmatting.datasets.synthetic import write_synthetic_dataset
from shmatting.datasets.transforms.trimap_ops import zoo_trimap_from_alpha

TOOL = 'tools/dataset_converters/human_matting.py'


def run(repo_root, *args, timeout=300):
    return subprocess.run(
        [sys.executable, TOOL, *args],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tree_digest(root):
    h = hashlib.sha256()
    for dirpath, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            h.update(f'{os.path.relpath(path, root)}:{st.st_size}:{st.st_mtime_ns}'.encode())
            with open(path, 'rb') as f:
                h.update(f.read())
    return h.hexdigest()


def read_list(out, split):
    with open(os.path.join(out, f'{split}.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def add_junk(raw):
    """macOS junk, an image without matting, a matting without image, a corrupt image."""
    date_dir = os.path.join(raw, 'clip_img', '1803151818', 'clip_00000000')
    open(os.path.join(date_dir, '._1803151818-00000001.jpg'), 'wb').write(b'\x00\x05\x16\x07')
    os.makedirs(os.path.join(raw, 'matting', '1803201916'), exist_ok=True)
    open(os.path.join(raw, 'matting', '1803201916', '._matting_00000000'), 'wb').write(b'x')
    os.remove(
        os.path.join(raw, 'matting', '1803151818', 'matting_00000000', '1803151818-00000002.png')
    )
    os.remove(
        os.path.join(raw, 'clip_img', '1803151818', 'clip_00000000', '1803151818-00000004.jpg')
    )
    with open(os.path.join(date_dir, '1803151818-00000005.jpg'), 'wb') as f:
        f.write(b'not a jpeg at all')
    os.makedirs(os.path.join(raw, 'matting_human_half', 'x'), exist_ok=True)
    open(os.path.join(raw, 'matting_human_half', 'x', 'dup.png'), 'wb').write(b'x')


def test_pairing_junk_split_and_untouched_source(raw_copy, tmp_path, repo_root):
    add_junk(raw_copy)
    before = tree_digest(raw_copy)
    out = str(tmp_path / 'out')
    res = run(repo_root, raw_copy, out, '--workers', '2')
    assert res.returncode == 0, res.stderr
    assert tree_digest(raw_copy) == before  # RAW_ROOT never modified
    info = json.load(open(os.path.join(out, 'prepare_info.json')))
    assert info['pairs_found'] == 18
    assert info['skipped']['macOS junk'] == 2
    assert info['skipped']['image without matting'] == 1
    assert info['skipped']['matting without image'] == 1
    assert info['skipped']['unreadable image'] == 1
    counts = info['split_counts']
    planned = (18 * 6 // 10, 18 * 2 // 10, 18 - 10 - 3)  # split over the 18 pairs ...
    got = (counts['train'], counts['val'], counts['test'])  # ... minus the corrupt one
    assert sum(got) == 17 and sum(p - g for p, g in zip(planned, got)) == 1
    for split in ('train', 'val', 'test'):
        for rel in read_list(out, split):
            for sub, ext in (
                ('image', '.jpg'),
                ('alpha', '.png'),
                ('trimap', '.png'),
                ('fg', '.png'),
            ):
                assert os.path.isfile(os.path.join(out, split, sub, rel + ext))
    assert 'skipped: unreadable image' in res.stdout and 'pairs found' in res.stdout
    stats = json.load(open(os.path.join(out, 'mean_std.json')))
    assert stats['order'] == 'BGR' and len(stats['mean']) == 3
    assert len(os.listdir(os.path.join(out, 'backgrounds'))) == 4


def test_split_is_seeded_and_deterministic(raw_synthetic, tmp_path, repo_root):
    lists = []
    for name, seed in (('a', '1'), ('b', '1'), ('c', '2')):
        out = str(tmp_path / name)
        assert run(repo_root, raw_synthetic, out, '--seed', seed, '--workers', '1').returncode == 0
        lists.append([read_list(out, s) for s in ('train', 'val', 'test')])
    assert lists[0] == lists[1]
    assert lists[0] != lists[2]
    assert [len(x) for x in lists[0]] == [12, 4, 4]
    assert sorted(sum(lists[0], [])) == sorted(sum(lists[2], []))


def test_any_ratios(raw_synthetic, tmp_path, repo_root):
    out = str(tmp_path / 'r')
    assert (
        run(repo_root, raw_synthetic, out, '--ratios', '8', '1', '1', '--workers', '1').returncode
        == 0
    )
    assert [len(read_list(out, s)) for s in ('train', 'val', 'test')] == [16, 2, 2]


def test_a_zero_ratio_gives_an_empty_split(raw_synthetic, tmp_path, repo_root):
    out = str(tmp_path / 'z')
    res = run(repo_root, raw_synthetic, out, '--ratios', '8', '2', '0', '--workers', '1')
    assert res.returncode == 0, res.stderr[-2000:]
    assert [len(read_list(out, s)) for s in ('train', 'val', 'test')] == [16, 4, 0]


def test_zoo_compat_split_and_trimap_rule(raw_synthetic, tmp_path, repo_root):
    out = str(tmp_path / 'zoo')
    assert run(repo_root, raw_synthetic, out, '--zoo-compat', '--workers', '1').returncode == 0
    rels = sum((read_list(out, s) for s in ('train', 'val', 'test')), [])
    assert rels == sorted(rels)  # sorted order, no shuffling
    assert [len(read_list(out, s)) for s in ('train', 'val', 'test')] == [
        20 * 6 // 10,
        20 * 2 // 10,
        20 - 12 - 4,
    ]
    rel = read_list(out, 'train')[0]
    alpha = cv2.imread(os.path.join(out, 'train', 'alpha', rel + '.png'), cv2.IMREAD_GRAYSCALE)
    trimap = cv2.imread(os.path.join(out, 'train', 'trimap', rel + '.png'), cv2.IMREAD_GRAYSCALE)
    assert set(np.unique(trimap)) <= {0, 128, 255}
    assert np.array_equal(trimap, zoo_trimap_from_alpha(alpha, 10))


def test_resume_after_kill_gives_the_same_result(tmp_path, repo_root):
    raw = str(tmp_path / 'raw')
    write_synthetic_dataset(raw, num=60, size=(600, 800), seed=3, num_backgrounds=0, workers=2)
    clean = str(tmp_path / 'clean')
    assert run(repo_root, raw, clean, '--workers', '1').returncode == 0
    killed = str(tmp_path / 'killed')
    proc = subprocess.Popen(
        [sys.executable, TOOL, raw, killed, '--workers', '1'],
        cwd=repo_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whatever survived is complete: every non-temp image decodes
    for dirpath, _, files in os.walk(killed):
        for name in files:
            if name.endswith(('.png', '.jpg')) and '.tmp' not in name:
                assert cv2.imread(os.path.join(dirpath, name), cv2.IMREAD_UNCHANGED) is not None
    res = run(repo_root, raw, killed, '--workers', '1')
    assert res.returncode == 0, res.stderr
    info = json.load(open(os.path.join(killed, 'prepare_info.json')))
    assert info['written'] + info['already_done'] == 60
    for split in ('train', 'val', 'test'):
        assert read_list(killed, split) == read_list(clean, split)
        for rel in read_list(clean, split):
            for sub in ('alpha', 'trimap', 'fg'):
                a = open(os.path.join(clean, split, sub, rel + '.png'), 'rb').read()
                b = open(os.path.join(killed, split, sub, rel + '.png'), 'rb').read()
                assert a == b
    leftovers = [f for _, _, fs in os.walk(killed) for f in fs if '.tmp' in f]
    assert leftovers == []


def test_debug_subset_and_random_kernel(raw_synthetic, tmp_path, repo_root):
    out = str(tmp_path / 'dbg')
    res = run(
        repo_root,
        raw_synthetic,
        out,
        '--debug-num',
        '10',
        '--random-kernel',
        '3',
        '9',
        '--workers',
        '1',
    )
    assert res.returncode == 0, res.stderr
    assert [len(read_list(out, s)) for s in ('train', 'val', 'test')] == [6, 2, 2]


@pytest.mark.parametrize(
    'args,match',
    [(('--ratios', '0', '0', '0'), 'positive sum'), (('--random-kernel', '5', '3'), 'MIN <= MAX')],
)
def test_bad_arguments(raw_synthetic, tmp_path, repo_root, args, match):
    res = run(repo_root, raw_synthetic, str(tmp_path / 'x'), *args)
    assert res.returncode != 0 and match in res.stderr


def test_missing_layout_is_a_clear_error(tmp_path, repo_root):
    res = run(repo_root, str(tmp_path), str(tmp_path / 'out'))
    assert res.returncode != 0 and 'has no clip_img/ folder' in res.stderr


def test_mean_std_are_those_of_the_training_images(raw_synthetic, tmp_path, repo_root):
    """Oracle: the BGR mean and std recomputed from the prepared training images (and only
    them), over every pixel, with NumPy."""
    out = str(tmp_path / 'prep')
    res = run(repo_root, raw_synthetic, out, '--workers', '1')
    assert res.returncode == 0, res.stderr
    rels = open(os.path.join(out, 'train.txt')).read().split()
    pixels = np.concatenate(
        [
            cv2.imread(os.path.join(out, 'train', 'image', r + '.jpg')).reshape(-1, 3).astype(float)
            for r in rels
        ]
    )
    saved = json.load(open(os.path.join(out, 'mean_std.json')))
    np.testing.assert_allclose(saved['mean'], pixels.mean(0), atol=1e-3)
    np.testing.assert_allclose(saved['std'], pixels.std(0), atol=1e-3)
    assert saved['num_images'] == len(rels) and saved['order'] == 'BGR'
    others = np.concatenate(
        [
            cv2.imread(os.path.join(out, s, 'image', r + '.jpg')).reshape(-1, 3).astype(float)
            for s in ('val', 'test')
            for r in open(os.path.join(out, f'{s}.txt')).read().split()
        ]
    )
    assert np.abs(others.mean(0) - pixels.mean(0)).max() > 1e-2  # another split would differ
    assert 'train mean (BGR, 0-255)' in res.stdout  # printed, not only written
