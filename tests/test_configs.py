"""Every config under configs/ loads, and its model (and dataset, given data) builds."""

import glob
import os

import mindspore as ms
import numpy as np
import pytest

from shmatting.config import Config
from shmatting.models import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(p for p in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: os.path.relpath(p, ROOT))
def test_config_loads_and_builds(path):
    cfg = Config.fromfile(path)
    if 'model' in cfg:
        ms.set_context(mode=ms.PYNATIVE_MODE)
        model_cfg = cfg.model.to_dict()
        model_cfg['init_cfg'] = []
        model = build_model(model_cfg)
        assert model.train_phase in ('tnet', 'mnet', 'e2e')
    if 'data' in cfg and 'train' in cfg.data:
        from shmatting.datasets.transforms import Compose

        for split in ('train', 'val', 'test'):
            if split in cfg.data:
                Compose(cfg.data[split].pipeline)  # every transform name and argument is valid
    if os.path.basename(os.path.dirname(path)) == 'shm' or 'zoo' in path:
        if not os.path.basename(path).startswith('_'):
            for key in ('model', 'data', 'optimizer', 'total_epochs'):
                assert key in cfg, f'{path} lacks {key}'


def test_leaf_configs_are_short():
    for path in CONFIGS:
        if '_base_' in path or os.path.basename(path).startswith('_'):
            continue
        lines = [ln for ln in open(path) if ln.strip() and not ln.strip().startswith('#')]
        assert len(lines) <= 16, f'{path} has {len(lines)} lines; leaf configs stay a few lines'


RUN_CONFIGS = [p for p in CONFIGS if '_base_' not in p and not os.path.basename(p).startswith('_')]


@pytest.mark.parametrize('path', RUN_CONFIGS, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_configs_datasets_build_on_tiny_data_and_give_a_sample(path, tiny_data):
    from shmatting.datasets import build_dataset

    cfg = Config.fromfile(path)
    for split in ('train', 'val', 'test'):
        if split not in cfg.data:
            continue
        dataset = build_dataset(cfg.data[split], data_root=tiny_data, seed=0)
        inputs = dataset.get_sample(0, epoch=0, seed=0)['inputs']
        assert inputs['img'].shape[0] == 3 and inputs['img'].dtype == np.float32
        assert {'img', 'trimap'} <= set(inputs), (split, sorted(inputs))
