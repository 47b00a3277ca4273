"""Resume: N epochs straight == N/2 + kill -9 + --resume auto + N/2 (workers, augmentation on)."""

import os

import mindspore as ms
import numpy as np

from shmatting.engine.checkpoint import read_meta
from tests.helpers import ROOT, run_tool, tiny_config

PLUGIN = "custom_imports = dict(imports=['tests.test_engine.plugins.engine_test_hooks'])\n"


def params_of(path):
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(path).items() if hasattr(v, 'asnumpy')}


def test_kill_and_resume_auto_matches_an_uninterrupted_run(tiny_data, tmp_path):
    extra = PLUGIN + "data = dict(workers=2)\nlr_config = dict(type='CosineLR', min_lr=1e-5)\n"
    cfg = tiny_config(tmp_path / 'r.py', tiny_data, phase='e2e', epochs=2, extra=extra)
    env = {**os.environ, 'PYTHONPATH': ROOT}
    straight = tmp_path / 'straight'
    res = run_tool('tools/train.py', cfg, '--work-dir', str(straight), env=env)
    assert res.returncode == 0, res.stderr[-3000:]

    killed = tmp_path / 'killed'
    res = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(killed),
        '--cfg-options',
        'custom_hooks=[{"type": "KillAfterEpochHook", "epoch": 1}]',
        env=env,
    )
    assert res.returncode == 137
    assert not (killed / 'epoch_2.ckpt').exists() and (killed / 'epoch_1.ckpt').exists()
    res = run_tool('tools/train.py', cfg, '--work-dir', str(killed), '--resume', 'auto', env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed from' in res.stdout and 'epoch 1, iteration 7' in res.stdout

    a, b = params_of(str(straight / 'epoch_2.ckpt')), params_of(str(killed / 'epoch_2.ckpt'))
    assert set(a) == set(b)
    worst = max(float(np.abs(a[k] - b[k]).max()) for k in a if a[k].dtype.kind == 'f')
    assert worst < 1e-5, worst
    assert int(a['global_step'][0]) == int(b['global_step'][0]) == 2 * 7
    # the best score, epoch and file name carried over the kill
    keys = ('best_score', 'best_epoch', 'best_key', 'best_rule')
    meta_a, meta_b = (
        read_meta(str(straight / 'latest.ckpt')),
        read_meta(str(killed / 'latest.ckpt')),
    )
    assert [meta_a[k] for k in keys] == [meta_b[k] for k in keys]
    assert os.path.basename(meta_a['best_ckpt']) == os.path.basename(meta_b['best_ckpt'])
    best = sorted(n for n in os.listdir(killed) if n.startswith('best_SAD_epoch_'))
    assert best == sorted(n for n in os.listdir(straight) if n.startswith('best_SAD_epoch_'))


def test_resume_rejects_a_weights_only_file(tiny_data, tmp_path):
    cfg = tiny_config(tmp_path / 'w.py', tiny_data, phase='tnet', epochs=1)
    wd = tmp_path / 'wd'
    assert run_tool('tools/train.py', cfg, '--work-dir', str(wd)).returncode == 0
    res = run_tool(
        'tools/train.py', cfg, '--work-dir', str(wd), '--resume', str(wd / 'best_mIoU.ckpt')
    )
    assert res.returncode != 0 and 'not a full-state checkpoint' in res.stderr
    res = run_tool('tools/train.py', cfg, '--resume', str(tmp_path / 'missing.ckpt'))
    assert res.returncode != 0 and 'checkpoint not found' in res.stderr
