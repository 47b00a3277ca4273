"""The plugin example: a backbone with ordinary strides, built by config alone, trains."""

import os

import numpy as np

from shmatting.config import Config
from shmatting.engine import Runner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_custom_backbone_example_trains(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    cfg = Config.fromfile(os.path.join(ROOT, 'examples/custom_backbone/shm_tinyresnet_e2e_cpu.py'))
    cfg.merge_from_dict(
        {
            'data_root': tiny_data,
            'total_epochs': 1,
            'data.samples_per_device': 2,
            'data.workers': 0,
            'data.train.pipeline.5.crop_size': 64,
            'data.train.pipeline.4.scale_range': (0.9, 1.0),
            'context.mode': 'PYNATIVE',
            'default_hooks.logger.interval': 1,
        }
    )
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    assert type(runner.model.tnet.backbone).__name__ == 'TinyResNet'
    assert runner.model.size_divisor == 32
    backbone = {p.name: p.asnumpy().copy() for p in runner.model.tnet.backbone.trainable_params()}
    metrics = runner.run()
    assert np.isfinite(metrics['SAD'])
    changed = [
        p.name
        for p in runner.model.tnet.backbone.trainable_params()
        if not np.array_equal(p.asnumpy(), backbone[p.name])
    ]
    assert len(changed) == len(backbone) > 0  # every parameter of the plugin was trained
    assert os.path.isfile(tmp_path / 'wd' / 'best_SAD.ckpt')
