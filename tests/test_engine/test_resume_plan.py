"""Resume when the plan changed (epochs, batch size, schedule), and resumes that cannot be: one
line each, and nothing overwritten."""

import hashlib
import json
import os

import mindspore as ms
import numpy as np
import pytest

from tests.helpers import run_tool, tiny_config


@pytest.fixture(scope='module')
def one_epoch(tiny_data, tmp_path_factory):
    """A finished one-epoch e2e run (full-state epoch_1.ckpt) and its config."""
    base = tmp_path_factory.mktemp('resume_plan')
    cfg = tiny_config(
        base / 'r.py', tiny_data, phase='e2e', epochs=1, extra='default_hooks = dict(eval=None)\n'
    )
    res = run_tool('tools/train.py', cfg, '--work-dir', str(base / 'wd'))
    assert res.returncode == 0, res.stderr[-2000:]
    return cfg, base / 'wd'


def copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_resume_after_raising_epochs_and_changing_batch_and_schedule(one_epoch, tmp_path):
    cfg, wd = one_epoch
    wd = copy_run(wd, tmp_path / 'wd')
    res = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(wd),
        '--resume',
        'auto',
        '--cfg-options',
        'total_epochs=2',
        'data.samples_per_device=3',
        "lr_config={'type': 'CosineLR', 'min_lr': 1e-05}",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert (
        'steps per epoch changed from 7 to 4' in log and 'total_epochs changed from 1 to 2' in log
    )
    assert 'schedule is recomputed' in log and 'Traceback' not in log
    state = ms.load_checkpoint(str(wd / 'epoch_2.ckpt'))
    assert int(state['global_step'].asnumpy()[0]) == 2 * 4  # the new plan's steps
    lr = state['learning_rate'].asnumpy()
    assert lr.shape == (8,) and lr[0] == pytest.approx(1e-3) and lr[-1] < lr[4]  # cosine, new
    records = [
        json.loads(line) for f in os.listdir(wd) if f.endswith('.log.json') for line in open(wd / f)
    ]
    epoch2 = [r for r in records if r['mode'] == 'train' and r['epoch'] == 2]
    assert [r['iter'] for r in epoch2] == [5, 6, 7, 8]


def test_resume_in_another_phases_work_dir_gives_the_phase_line(one_epoch, tiny_data, tmp_path):
    _, wd = one_epoch
    wd = copy_run(wd, tmp_path / 'wd')
    tnet = tiny_config(tmp_path / 't.py', tiny_data, phase='tnet', epochs=2)
    res = run_tool('tools/train.py', tnet, '--work-dir', str(wd), '--resume', 'auto')
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: --resume:') and "is from phase 'e2e', this run is 'tnet'" in last
    assert 'Traceback' not in res.stderr and 'learning_rate' not in res.stderr


def digests(folder):
    return {
        n: hashlib.sha256(open(folder / n, 'rb').read()).hexdigest()
        for n in os.listdir(folder)
        if n.endswith('.ckpt')
    }


def test_resume_auto_stops_when_every_checkpoint_is_unreadable(one_epoch, tmp_path):
    cfg, wd = one_epoch
    wd = copy_run(wd, tmp_path / 'wd')
    for name in os.listdir(wd):
        if name.endswith('.ckpt'):
            path = wd / name
            os.chmod(path, 0o600)
            path.write_bytes(path.read_bytes()[:1000])  # truncated
    before = digests(wd)
    res = run_tool('tools/train.py', cfg, '--work-dir', str(wd), '--resume', 'auto')
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: --resume auto: no readable full-state checkpoint')
    assert 'epoch_1.ckpt' in last and 'latest.ckpt' in last
    assert digests(wd) == before  # nothing overwritten


@pytest.mark.parametrize('content', [b'', b'not a checkpoint', 'truncated'])
def test_a_broken_file_passed_to_resume_is_called_unreadable(one_epoch, tmp_path, content):
    cfg, wd = one_epoch
    path = tmp_path / 'x.ckpt'
    if content == 'truncated':
        content = open(wd / 'epoch_1.ckpt', 'rb').read()[:-100]
    path.write_bytes(content)
    res = run_tool('tools/train.py', cfg, '--work-dir', str(tmp_path / 'wd'), '--resume', str(path))
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert 'is not a readable MindSpore checkpoint' in last and 'weights-only' not in last


def test_the_loss_scale_state_is_optional_across_an_amp_switch(one_epoch):
    from shmatting.config import Config
    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.resume import restore_state
    from shmatting.engine.train_step import build_train_step
    from shmatting.models import build_model

    cfg, wd = one_epoch
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = build_model(Config.fromfile(cfg).model)
    opt = build_optimizer(dict(type='Adam', lr=1e-3), model.phase_trainable_params(), 1e-3)
    step = build_train_step(model, opt, 3, dict(enabled=True, level='O0'))
    restore_state(step, str(wd / 'epoch_1.ckpt'), 7)  # saved without loss scaling
    saved = ms.load_checkpoint(str(wd / 'epoch_1.ckpt'))
    name = 'tnet.head.last_conv.weight'
    assert np.array_equal(model.tnet.head.last_conv.weight.asnumpy(), saved[name].asnumpy())
    assert float(step.scale_sense.asnumpy()) == 2.0**16 and int(opt.global_step.asnumpy()[0]) == 7


def test_a_checkpoint_missing_a_tensor_is_refused_by_name(one_epoch, tmp_path):
    from shmatting.config import Config
    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.resume import ResumeError, restore_state
    from shmatting.engine.train_step import build_train_step
    from shmatting.models import build_model

    cfg, wd = one_epoch
    saved = ms.load_checkpoint(str(wd / 'epoch_1.ckpt'))
    dropped = next(n for n in saved if n.startswith('moment1.'))
    partial = str(tmp_path / 'partial.ckpt')
    kept = [
        {'name': n, 'data': p}
        for n, p in saved.items()
        if n != dropped and isinstance(p, ms.Parameter)
    ]
    ms.save_checkpoint(kept, partial)
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = build_model(Config.fromfile(cfg).model)
    opt = build_optimizer(dict(type='Adam', lr=1e-3), model.phase_trainable_params(), 1e-3)
    step = build_train_step(model, opt, 3, dict(enabled=False))
    with pytest.raises(ResumeError, match='1 tensors missing'):
        restore_state(step, partial, 7)
