"""tools/train_pipeline.sh chains phases: the e2e phase loads the T-Net phase's best alias."""

import os
import subprocess
import sys

from tests.helpers import ROOT, tiny_config


def test_tnet_then_e2e(tiny_data, tmp_path):
    tnet = tiny_config(tmp_path / 'p_tnet.py', tiny_data, phase='tnet', epochs=1)
    e2e = tiny_config(tmp_path / 'p_e2e.py', tiny_data, phase='e2e', epochs=1)
    env = {**os.environ, 'PYTHON': sys.executable, 'WORK_ROOT': str(tmp_path / 'wd')}
    res = subprocess.run(
        ['bash', 'tools/train_pipeline.sh', tnet, e2e],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f'load_from.tnet={tmp_path / "wd" / "p_tnet"}/best_mIoU.ckpt' in res.stdout
    assert 'loaded 310, missing 0, unexpected 0' in res.stdout  # every tnet.* tensor
    assert os.path.isfile(tmp_path / 'wd' / 'p_e2e' / 'best_SAD.ckpt')


def test_tnet_without_evaluation_hands_over_latest(tiny_data, tmp_path):
    tnet = tiny_config(
        tmp_path / 'z_tnet.py',
        tiny_data,
        phase='tnet',
        epochs=1,
        extra='default_hooks = dict(eval=None, checkpoint=dict(save_best=None))\n',
    )
    e2e = tiny_config(
        tmp_path / 'z_e2e.py',
        tiny_data,
        phase='e2e',
        epochs=1,
        extra='default_hooks = dict(eval=None)\n',
    )
    env = {**os.environ, 'PYTHON': sys.executable, 'WORK_ROOT': str(tmp_path / 'wd')}
    res = subprocess.run(
        ['bash', 'tools/train_pipeline.sh', tnet, e2e],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert f'load_from.tnet={tmp_path / "wd" / "z_tnet"}/latest.ckpt' in res.stdout
    assert 'loaded 310, missing 0, unexpected 0' in res.stdout
