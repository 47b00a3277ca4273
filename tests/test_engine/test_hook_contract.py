"""The hook contract: every stage is called, in order, with the documented arguments; hooks keep
their own state (through checkpoints too) and read only the runner's documented surface."""

import ast
import glob
import os

import numpy as np
import pytest

from shmatting.config import Config
from shmatting.engine import STAGES, Hook, Runner
from shmatting.engine.runner import HOOK_SURFACE
from shmatting.evaluation import MetricResults
from tests.helpers import ROOT, tiny_config


class RecordStages(Hook):
    """Records every stage with what it received; stores a counter in checkpoints."""

    def __init__(self):
        self.calls, self.saved_counter, self.restored = [], 0, None

    def before_run(self, runner):
        self.calls.append(('before_run',))

    def after_load_checkpoint(self, runner, meta):
        self.restored = meta.get('record_stages_counter')
        self.calls.append(('after_load_checkpoint', meta['kind'], meta['epoch']))

    def before_train_epoch(self, runner):
        self.calls.append(('before_train_epoch', runner.epoch))

    def before_train_iter(self, runner, batch_idx, data_batch):
        self.calls.append(('before_train_iter', batch_idx, data_batch['img'].shape, runner.iter))

    def after_train_iter(self, runner, batch_idx, data_batch, outputs):
        losses = outputs['losses'].asnumpy()
        self.calls.append(
            (
                'after_train_iter',
                batch_idx,
                runner.iter,
                tuple(outputs['loss_names']),
                losses.shape,
                bool(np.isfinite(losses).all()),
            )
        )

    def after_train_epoch(self, runner):
        self.calls.append(('after_train_epoch', runner.epoch))

    def before_val_epoch(self, runner):
        self.calls.append(('before_val_epoch', runner.epoch))

    def after_val_epoch(self, runner, metrics):
        self.calls.append(
            (
                'after_val_epoch',
                type(metrics),
                dict(metrics),
                dict(metrics.rules),
                metrics.num_scored,
                metrics.num_images,
            )
        )

    def before_save_checkpoint(self, runner, meta):
        self.saved_counter += 1
        meta['record_stages_counter'] = self.saved_counter
        self.calls.append(('before_save_checkpoint', meta['kind'], meta['epoch']))

    def after_run(self, runner):
        self.calls.append(('after_run', runner.epoch, runner.iter))


def stage_sequence(calls):
    return [c[0] for c in calls]


def test_every_stage_gets_its_documented_arguments_in_order(tiny_data, tmp_path):
    cfg = Config.fromfile(tiny_config(tmp_path / 'h.py', tiny_data, phase='e2e', epochs=2))
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    probe = RecordStages()
    runner.register_hook(probe, priority='LOWEST')  # after the checkpoint hook's stages
    runner.run()
    seq = stage_sequence(probe.calls)
    epoch = (
        ['before_train_epoch']
        + ['before_train_iter', 'after_train_iter'] * 7
        + [
            'before_val_epoch',
            'before_save_checkpoint',
            'after_val_epoch',
            'before_save_checkpoint',
            'after_train_epoch',
        ]
    )
    assert seq == ['before_run'] + epoch + epoch + ['after_run']
    iters = [c for c in probe.calls if c[0] == 'after_train_iter']
    assert [c[1] for c in iters] == list(range(7)) * 2 and [c[2] for c in iters] == list(
        range(1, 15)
    )
    assert all(
        c[3] == ('loss', 'loss_alpha', 'loss_comp', 'loss_trimap') and c[4] == (4,) and c[5]
        for c in iters
    )
    before = [c for c in probe.calls if c[0] == 'before_train_iter']
    assert all(c[2] == (2, 3, 64, 64) for c in before) and before[7][3] == 7
    val = [c for c in probe.calls if c[0] == 'after_val_epoch']
    assert val[0][1] is MetricResults and set(val[0][2]) == {'SAD', 'MSE', 'MAD'}
    assert val[0][3] == {'SAD': 'less', 'MSE': 'less', 'MAD': 'less'} and val[0][4:] == (4, 4)
    saves = [c for c in probe.calls if c[0] == 'before_save_checkpoint']
    assert {c[1] for c in saves} == {'weights', 'full'}
    assert probe.calls[-1] == ('after_run', 1, 14)


def test_hook_state_goes_through_checkpoints_and_comes_back_on_resume(tiny_data, tmp_path):
    from shmatting.registry import HOOKS

    HOOKS.register_module(name='RecordStagesForTest', module=RecordStages, force=True)
    cfg_path = tiny_config(
        tmp_path / 'h.py',
        tiny_data,
        phase='tnet',
        epochs=1,
        extra='default_hooks = dict(eval=None)\n'
        "custom_hooks = [dict(type='RecordStagesForTest')]\n",
    )

    def probe_of(runner):
        return next(h for _, _, h in runner.hooks if isinstance(h, RecordStages))

    first = Runner(Config.fromfile(cfg_path), work_dir=str(tmp_path / 'wd'))
    first.run()
    assert probe_of(first).saved_counter == 1
    resumed = Runner(Config.fromfile(cfg_path).copy(), work_dir=str(tmp_path / 'wd'), resume='auto')
    probe = probe_of(resumed)
    assert probe.restored == 1 and probe.calls == [('after_load_checkpoint', 'full', 1)]


def test_a_method_named_like_an_old_or_misspelt_stage_is_refused(tiny_data, tmp_path):
    cfg = Config.fromfile(tiny_config(tmp_path / 'h.py', tiny_data, phase='tnet', epochs=1))
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))

    class OldStyle(Hook):
        def after_iter(self, runner):
            pass

    class Typo(Hook):
        def after_train_itter(self, runner, batch_idx, data_batch, outputs):
            pass

    with pytest.raises(
        AttributeError, match='after_iter is not a hook stage; did you mean after_train_iter'
    ):
        runner.register_hook(OldStyle())
    with pytest.raises(AttributeError, match='did you mean after_train_iter'):
        runner.register_hook(Typo())
    with pytest.raises(ValueError, match='unknown hook stage'):
        runner.call_hook('after_epoch')
    assert set(Hook().stages) == set(STAGES)


def runner_attributes_read(path):
    """Every ``runner.<name>`` a module reads (attribute loads on a name called ``runner``)."""
    tree = ast.parse(open(path).read())
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == 'runner'
    }


@pytest.mark.parametrize(
    'path',
    sorted(
        glob.glob(os.path.join(ROOT, 'shmatting/engine/hooks/*.py'))
        + glob.glob(os.path.join(ROOT, 'examples/**/*.py'), recursive=True)
    ),
    ids=os.path.basename,
)
def test_hooks_read_only_the_runners_documented_surface(path):
    extra = runner_attributes_read(path) - set(HOOK_SURFACE)
    assert not extra, f'{path} reads undocumented runner attributes {sorted(extra)}'
