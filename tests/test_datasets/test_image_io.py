"""Corrupt image files are named and refused, never decoded half (truncated JPEG/PNG, empty,
missing, not an image); NaN in a sample makes it corrupt; training replaces and counts them."""

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from shmatting.datasets import build_dataloader, build_dataset
from shmatting.datasets.image_io import (
    CorruptSampleError,
    check_complete,
    read_image,
    write_image,
)
from tests.helpers import ROOT


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (60, 40, 3), dtype=np.uint8)
    paths = {}
    for ext in ('.jpg', '.png'):
        paths[ext] = str(tmp_path / f'ok{ext}')
        cv2.imwrite(paths[ext], img)
    return paths


@pytest.mark.parametrize('ext', ['.jpg', '.png'])
@pytest.mark.parametrize('keep', [0.5, 0.9, 0.999])
def test_truncated_files_are_refused_by_name(images, tmp_path, ext, keep):
    data = open(images[ext], 'rb').read()
    cut = tmp_path / f'cut{ext}'
    cut.write_bytes(data[: int(len(data) * keep)])
    if ext == '.jpg':  # OpenCV alone decodes it (grey lower half, an unnamed libjpeg warning)
        assert cv2.imread(str(cut)) is not None
    with pytest.raises(CorruptSampleError, match=rf'truncated .*{cut.name}'):
        read_image(str(cut))


def test_complete_files_pass_and_a_padded_jpeg_too(images, tmp_path):
    for path in images.values():
        assert read_image(path).shape == (60, 40, 3)
    padded = tmp_path / 'padded.jpg'
    padded.write_bytes(open(images['.jpg'], 'rb').read() + b'\x00' * 100)  # some cameras pad
    check_complete(str(padded))


@pytest.mark.parametrize(
    'content,match', [(b'', 'empty file'), (b'not an image at all', 'unreadable image')]
)
def test_empty_and_foreign_files(tmp_path, content, match):
    path = tmp_path / 'x.png'
    path.write_bytes(content)
    with pytest.raises(CorruptSampleError, match=match):
        read_image(str(path))
    with pytest.raises(CorruptSampleError, match='missing file'):
        read_image(str(tmp_path / 'absent.png'))


def test_a_nan_value_in_a_sample_makes_it_corrupt_and_training_replaces_it(prepared, tmp_path):
    from shmatting.registry import TRANSFORMS

    @TRANSFORMS.register_module(name='PoisonFirstSampleForTest', force=True)
    class Poison:
        def __call__(self, results):
            if results['index'] == 0:
                results['img'] = results['img'].astype(np.float32)
                results['img'][0, 0, 0] = np.nan
            return results

    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAlphaFromFile'),
        dict(type='LoadTrimapFromFile'),
        dict(type='PoisonFirstSampleForTest'),
        dict(type='Resize', size=32),
        dict(type='Normalize'),
        dict(type='TrimapToIndex'),
        dict(type='PackInputs', keys=('img', 'trimap', 'alpha')),
    ]
    ds = build_dataset(
        dict(type='HumanMattingDataset', split='train', pipeline=pipeline), data_root=prepared
    )
    with pytest.raises(CorruptSampleError, match='non-finite values in img'):
        ds.get_sample(0)
    loader = build_dataloader(ds, 4, workers=0, shuffle=False)
    batches = list(loader)
    assert loader.num_skipped == 1
    assert 0 not in np.concatenate([b['index'] for b in batches])
    assert all(np.isfinite(b['img']).all() for b in batches)


def test_a_truncated_training_image_is_replaced_and_counted(prepared, tmp_path):
    root = tmp_path / 'prep'
    shutil.copytree(prepared, root)
    rel = open(root / 'train.txt').readline().strip()
    path = root / 'train' / 'image' / (rel + '.jpg')
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAlphaFromFile'),
        dict(type='LoadTrimapFromFile'),
        dict(type='Resize', size=32),
        dict(type='Normalize'),
        dict(type='TrimapToIndex'),
        dict(type='PackInputs', keys=('img', 'trimap', 'alpha')),
    ]
    ds = build_dataset(
        dict(type='HumanMattingDataset', split='train', pipeline=pipeline), data_root=str(root)
    )
    loader = build_dataloader(ds, 4, workers=0, shuffle=False)
    assert len(list(loader)) == 3 and loader.num_skipped == 1


def test_an_image_for_a_missing_folder_is_written_there_not_lost(tmp_path):
    """cv2.imwrite returns False for a folder that does not exist; tools printed 'saved'."""
    img = np.full((8, 6, 3), 77, np.uint8)
    path = str(tmp_path / 'new' / 'deeper' / 'x.png')
    assert write_image(path, img) == path
    np.testing.assert_array_equal(read_image(path), img)
    assert os.listdir(tmp_path / 'new' / 'deeper') == ['x.png']  # no temp file left


@pytest.mark.parametrize('name', ['x.unknownext', 'noext'])
def test_an_image_that_cannot_be_encoded_raises_and_writes_nothing(tmp_path, name):
    with pytest.raises(ValueError, match='extension'):
        write_image(str(tmp_path / name), np.zeros((4, 4, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_an_image_write_on_a_full_disk_raises_and_keeps_the_old_file_whole(tmp_path):
    """A temp file renamed over the target: when the disk fills up the old image stays whole
    and no part of the new one is left (a small tmpfs in a mount namespace, as root)."""
    disk = tmp_path / 'disk'
    disk.mkdir()
    script = (
        'from shmatting.datasets.image_io import write_image, read_image\n'
        'import numpy as np, os, sys\n'
        f'path = "{disk}/x.png"\n'
        'write_image(path, np.full((4, 4, 3), 1, np.uint8))\n'
        'noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)\n'
        'try:\n'
        '    write_image(path, noise)\n'
        'except OSError as exc:\n'
        '    print("raised", exc.errno)\n'
        'print("old", int(read_image(path).max()), sorted(os.listdir(os.path.dirname(path))))\n'
    )
    res = subprocess.run(
        [
            'unshare',
            '-m',
            'sh',
            '-c',
            f"mount -t tmpfs -o size=256k tmpfs {disk} && {sys.executable} -c '{script}'",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    if 'mount' in res.stderr and res.returncode:
        pytest.skip('needs root to mount a small tmpfs (mount namespaces); CI runs as root')
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'raised 28' in res.stdout  # ENOSPC
    assert "old 1 ['x.png']" in res.stdout
