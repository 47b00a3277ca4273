"""Nothing partial or wrong is left behind: no temp file after a failed or killed save, the kept
number of epoch files after a kill during rotation, one line and intact checkpoints on a full
disk, and never a checkpoint of non-finite weights."""

import errno
import os
import shutil
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

from shmatting.engine.checkpoint import CheckpointError, save_checkpoint_atomic, sweep_temp_files
from tests.helpers import ROOT, run_tool, tiny_config

PLUGIN = "custom_imports = dict(imports=['tests.test_engine.plugins.engine_test_hooks'])\n"


def test_a_failed_save_leaves_no_temp_file_and_says_so_in_one_line(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.ckpt')
    save_checkpoint_atomic({'w': np.ones(4, np.float32)}, path)

    def full_disk(obj, name, **kwargs):  # MindSpore's own temp file, then ENOSPC
        open(name[: -len('.ckpt')] + '.tmp', 'wb').write(b'half a checkpoint')
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(ms, 'save_checkpoint', full_disk)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint_atomic({'w': np.zeros(4, np.float32)}, path)
    assert str(info.value) == f'could not write checkpoint {path}: No space left on device'
    assert os.listdir(tmp_path) == ['epoch_1.ckpt']
    assert np.array_equal(ms.load_checkpoint(path)['w'].asnumpy(), np.ones(4))


def test_temp_files_of_a_killed_save_are_swept_when_a_run_starts(tiny_data, tmp_path):
    from shmatting.config import Config
    from shmatting.engine import Runner

    wd = tmp_path / 'wd'
    wd.mkdir()
    left = ['.epoch_2.1a2b3c4d.tmp.ckpt', '.epoch_2.1a2b3c4d.tmp.tmp', '.cfg.py.99aa88bb.tmp']
    for name in left + ['keep.tmp.ckpt', 'epoch_1.ckpt']:
        (wd / name).write_bytes(b'x')
    cfg = Config.fromfile(tiny_config(tmp_path / 'c.py', tiny_data, phase='tnet', epochs=1))
    Runner(cfg, work_dir=str(wd))
    names = set(os.listdir(wd))
    assert not names & set(left) and {'keep.tmp.ckpt', 'epoch_1.ckpt'} <= names
    assert sweep_temp_files(str(tmp_path / 'absent')) == []


def test_max_keep_ckpts_still_holds_after_a_kill_during_rotation(tiny_data, tmp_path):
    cfg = tiny_config(
        tmp_path / 'k.py',
        tiny_data,
        phase='tnet',
        epochs=2,
        extra="default_hooks = dict(checkpoint=dict(max_keep_ckpts=1, save_best='mIoU'))\n",
    )
    wd = tmp_path / 'wd'
    assert run_tool('tools/train.py', cfg, '--work-dir', str(wd)).returncode == 0
    names = sorted(os.listdir(wd))
    assert 'epoch_2.ckpt' in names and 'epoch_1.ckpt' not in names
    # a kill between writing epoch 2 and removing epoch 1 leaves both (and an old best)
    shutil.copy(wd / 'epoch_2.ckpt', wd / 'epoch_1.ckpt')
    best = [n for n in names if n.startswith('best_mIoU_epoch_')][0]
    other = 'best_mIoU_epoch_1.ckpt' if best != 'best_mIoU_epoch_1.ckpt' else None
    if other:
        shutil.copy(wd / best, wd / other)
    res = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(wd),
        '--resume',
        'auto',
        '--cfg-options',
        'total_epochs=3',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    epochs = sorted(n for n in os.listdir(wd) if n.startswith('epoch_'))
    bests = sorted(n for n in os.listdir(wd) if n.startswith('best_mIoU_epoch_'))
    assert epochs == ['epoch_3.ckpt'] and len(bests) == 1


def can_mount_tmpfs(path):
    try:
        subprocess.run(
            ['unshare', '-m', 'mount', '-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def test_a_full_disk_gives_one_line_and_keeps_the_previous_checkpoints(tiny_data, tmp_path):
    disk = tmp_path / 'disk'
    disk.mkdir()
    if not can_mount_tmpfs(str(disk)):
        pytest.skip('needs root to mount a small tmpfs (mount namespaces); CI runs as root')
    cfg = tiny_config(
        tmp_path / 'f.py',
        tiny_data,
        phase='tnet',
        epochs=3,
        extra='default_hooks = dict(eval=None, checkpoint=dict(max_keep_ckpts=5, '
        'save_best=None))\n',
    )
    wd = disk / 'wd'
    check = (
        f"import mindspore as ms; [ms.load_checkpoint(f'{wd}/{{n}}') for n in "
        "('epoch_1.ckpt', 'latest.ckpt')]; print('intact')"
    )
    # a 70 MB disk holds epoch_1 and latest (about 30 MB each) but not epoch_2
    script = (
        f'mount -t tmpfs -o size=70m tmpfs {disk} && {sys.executable} tools/train.py '
        f'{cfg} --work-dir {wd}; rc=$?; ls -a {wd}; {sys.executable} -c "{check}"; exit $rc'
    )
    res = subprocess.run(
        ['unshare', '-m', 'sh', '-c', script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert res.returncode == 1, res.stderr[-2000:]
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith(
        f'error: could not write checkpoint {wd}/epoch_2.ckpt: No space left on device'
    ), res.stderr[-2000:]
    assert 'Traceback' not in res.stderr and 'Failed to save' not in res.stderr
    assert 'intact' in res.stdout
    listing = res.stdout.split()
    assert 'epoch_1.ckpt' in listing and 'latest.ckpt' in listing
    assert not [n for n in listing if '.tmp' in n]  # no temp file left filling the disk


def test_non_finite_weights_are_never_saved(tiny_data, tmp_path):
    extra = (
        PLUGIN + "custom_hooks = [dict(type='PoisonWeightsHook', epoch=2)]\n"
        "default_hooks = dict(checkpoint=dict(max_keep_ckpts=5, save_best='SAD'))\n"
    )
    cfg = tiny_config(tmp_path / 'n.py', tiny_data, phase='e2e', epochs=3, extra=extra)
    wd = tmp_path / 'wd'
    res = run_tool(
        'tools/train.py', cfg, '--work-dir', str(wd), env={**os.environ, 'PYTHONPATH': ROOT}
    )
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: the training state holds non-finite values'), last
    names = os.listdir(wd)
    assert 'epoch_1.ckpt' in names and 'epoch_2.ckpt' not in names
    assert not any(n.startswith('best_SAD_epoch_2') for n in names)
    for name in names:
        if name.endswith('.ckpt'):
            state = ms.load_checkpoint(str(wd / name))
            assert all(
                np.isfinite(v.asnumpy()).all()
                for k, v in state.items()
                if hasattr(v, 'asnumpy') and v.asnumpy().dtype.kind == 'f'
            ), name
