"""A non-finite loss stops the run with a clear message and nothing is saved after it."""

import os

from tests.helpers import ROOT, run_tool, tiny_config


def test_nan_loss_stops_training_before_any_save(tiny_data, tmp_path):
    extra = (
        "custom_imports = dict(imports=['tests.test_engine.plugins.engine_test_hooks'])\n"
        "model = dict(losses=dict(alpha=dict(_delete_=True, type='NaNAfterCallsAlphaLoss',\n"
        '                                    nan_from_call=9, loss_weight=0.5)))\n'
        'default_hooks = dict(eval=None, checkpoint=dict(max_keep_ckpts=5, save_best=None))\n'
    )
    cfg = tiny_config(tmp_path / 'nan.py', tiny_data, phase='e2e', epochs=3, extra=extra)
    wd = tmp_path / 'wd'
    res = run_tool(
        'tools/train.py', cfg, '--work-dir', str(wd), env={**os.environ, 'PYTHONPATH': ROOT}
    )
    assert res.returncode != 0
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: non-finite loss') and 'epoch 2' in last
    assert 'epoch_1.ckpt' in last
    names = os.listdir(wd)
    assert 'epoch_1.ckpt' in names and 'epoch_2.ckpt' not in names and 'epoch_3.ckpt' not in names
