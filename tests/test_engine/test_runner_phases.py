"""Short real training runs (PyNative, 64x64) of each phase: the loss goes down."""

import json
import os

import numpy as np
import pytest

from shmatting.config import Config
from shmatting.engine import Runner
from tests.helpers import run_tool, tiny_config


def train_losses(work_dir):
    logs = [f for f in os.listdir(work_dir) if f.endswith('.log.json')]
    records = [json.loads(line) for f in logs for line in open(os.path.join(work_dir, f))]
    return [r for r in records if r['mode'] == 'train'], [r for r in records if r['mode'] == 'val']


def arg_best(val, key, rule):
    """The epoch a keep-the-best rule must pick from the logged validation records (ties: the
    later epoch, as the model zoo kept)."""
    sign = 1 if rule == 'less' else -1
    return min(val, key=lambda r: (sign * r[key], -r['epoch']))['epoch']


@pytest.mark.parametrize(
    'phase,metric,rule',
    [('tnet', 'mIoU', 'greater'), ('mnet', 'SAD', 'less'), ('e2e', 'SAD', 'less')],
)
def test_phase_trains_and_keeps_the_best_epoch_of_its_log(phase, metric, rule, tiny_data, tmp_path):
    cfg_path = tiny_config(tmp_path / f'{phase}.py', tiny_data, phase=phase, epochs=3)
    cfg = Config.fromfile(cfg_path)
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    metrics = runner.run()
    train, val = train_losses(str(tmp_path / 'wd'))
    losses = [r['loss'] for r in train]
    assert len(losses) == 3 * 7
    assert np.mean(losses[-7:]) < np.mean(losses[:7])
    assert metric in metrics and [r['epoch'] for r in val] == [1, 2, 3]
    assert len({r[metric] for r in val}) > 1  # the rule has something to choose between
    names = os.listdir(tmp_path / 'wd')
    assert f'best_{metric}.ckpt' in names and 'latest.ckpt' in names and 'epoch_3.ckpt' in names
    assert 'epoch_1.ckpt' not in names  # max_keep_ckpts=2
    best = [n for n in names if n.startswith(f'best_{metric}_epoch_')]
    assert best == [f'best_{metric}_epoch_{arg_best(val, metric, rule)}.ckpt']
    assert 'phase.py' not in names and f'{phase}.py' in names  # the dumped config
    assert all(
        k in train[0] for k in ('lr', 'time', 'data_time', 'eta_s', 'img_per_s', 'epoch', 'iter')
    )
    assert set(runner.loss_names) <= set(train[0])


def test_hooks_run_in_priority_order(tiny_data, tmp_path):
    from shmatting.engine import Hook

    cfg = Config.fromfile(tiny_config(tmp_path / 'c.py', tiny_data, phase='tnet', epochs=1))
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    names = [name for _, name, _ in runner.hooks]
    assert names == ['nan_guard', 'logger', 'eval', 'checkpoint']
    calls = []

    class Probe(Hook):
        def __init__(self, tag):
            self.tag = tag

        def after_train_epoch(self, runner):
            calls.append(self.tag)

    runner.register_hook(Probe('highest'), priority='HIGHEST')
    runner.register_hook(Probe('lowest'), priority=100)
    runner.register_hook(Probe('normal'))
    names = [name for _, name, _ in runner.hooks]
    assert names[0] == 'Probe' and names[-1] == 'Probe'
    runner.run()
    assert calls == ['highest', 'normal', 'lowest']


def test_default_hooks_can_be_switched_off_and_typos_fail(tiny_data, tmp_path):
    cfg = Config.fromfile(
        tiny_config(
            tmp_path / 'c.py',
            tiny_data,
            phase='tnet',
            epochs=1,
            extra='default_hooks = dict(eval=None, checkpoint=None)\n',
        )
    )
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    assert [n for _, n, _ in runner.hooks] == ['nan_guard', 'logger']
    bad = Config.fromfile(
        tiny_config(
            tmp_path / 'd.py',
            tiny_data,
            phase='tnet',
            epochs=1,
            extra='default_hooks = dict(evall=None)\n',
        )
    )
    with pytest.raises(KeyError, match='unknown names'):
        Runner(bad, work_dir=str(tmp_path / 'wd2'))
    typo = Config.fromfile(
        tiny_config(
            tmp_path / 'e.py',
            tiny_data,
            phase='tnet',
            epochs=1,
            extra='default_hooks = dict(checkpoint=dict(intervall=1))\n',
        )
    )
    with pytest.raises(TypeError, match='CheckpointHook'):
        Runner(typo, work_dir=str(tmp_path / 'wd3'))
    cfg = Config.fromfile(tiny_config(tmp_path / 'f.py', tiny_data, phase='tnet', epochs=1))
    del cfg['total_epochs']
    cfg.total_epoch = 3
    with pytest.raises(KeyError, match="missing required key 'total_epochs'.*total_epoch"):
        Runner(cfg, work_dir=str(tmp_path / 'wd4'))


def test_graph_mode_e2e_run_with_mixed_precision_and_its_checkpoint_in_test_py(tiny_data, tmp_path):
    extra = "amp = dict(enabled=True, level='O2')\n"
    cfg_path = tiny_config(
        tmp_path / 'g.py', tiny_data, phase='e2e', mode='GRAPH', epochs=1, extra=extra
    )
    runner = Runner(Config.fromfile(cfg_path), work_dir=str(tmp_path / 'wd'))
    assert 'mixed precision O2' in runner.train_step.describe()
    metrics = runner.run()
    assert np.isfinite(metrics['SAD'])
    train, _ = train_losses(str(tmp_path / 'wd'))
    assert all(np.isfinite(r['loss']) and r['loss_scale'] > 0 for r in train)
    # the amp checkpoint has the float32 names: a float32 config scores it
    res = run_tool(
        'tools/test.py',
        cfg_path,
        str(tmp_path / 'wd' / 'best_SAD.ckpt'),
        '--split',
        'val',
        '--cfg-options',
        'amp.enabled=False',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert abs(float(res.stdout.strip().splitlines()[-1].split(':')[1]) - metrics['SAD']) < 0.05


def test_recompute_option(tiny_data, tmp_path):
    from shmatting.engine import Hook

    extra = "recompute = ['tnet.backbone.block_2', 'mnet.head.deconv_4']\n"
    cfg = Config.fromfile(
        tiny_config(
            tmp_path / 'r.py',
            tiny_data,
            phase='e2e',
            mode='GRAPH',
            epochs=1,
            extra=extra + 'default_hooks = dict(eval=None)\n',
        )
    )
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    losses = []

    class LastLoss(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch, outputs):
            losses.append(float(outputs['losses'].asnumpy()[0]))

    runner.register_hook(LastLoss())
    runner.run()
    assert len(losses) == 7 and np.isfinite(losses).all()
    bad = Config.fromfile(
        tiny_config(tmp_path / 'b.py', tiny_data, extra="recompute = ['tnet.bakbone']\n")
    )
    with pytest.raises(KeyError, match="no cell named 'tnet.bakbone'.*tnet.backbone"):
        Runner(bad, work_dir=str(tmp_path / 'wd2'))
