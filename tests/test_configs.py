"""Every config under configs/ loads, and its model (and dataset, given data) builds."""

import glob
import os
import subprocess
import sys

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


NO_COMPILER_RUN = """
import sys
import mindspore as ms
import numpy as np
from shmatting.config import Config
from shmatting.engine.context import apply_context
from shmatting.engine.optimizers import build_optimizer
from shmatting.engine.train_step import MattorWithLoss, TrainStep
from shmatting.models import build_model
from shmatting.models.layers import fuse_conv_bn
from shmatting.ops import cpu_kernel_status
from shmatting.utils.profiling import random_batch

apply_context(dict(mode='PYNATIVE', device_target='CPU'))
seen = set()
for path in sys.argv[1:]:
    cfg = Config.fromfile(path)
    model_cfg = dict(cfg.model.to_dict(), init_cfg=[])
    if repr(model_cfg) in seen:
        continue
    seen.add(repr(model_cfg))
    model = build_model(model_cfg)
    data = random_batch(1, 64, 64)
    opt = build_optimizer(cfg.optimizer, model.phase_trainable_params(), 1e-4)
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
    step.set_train()
    losses = step(*[ms.Tensor(data[k]) for k in model.train_inputs()]).asnumpy()
    model.set_train(False)
    fuse_conv_bn(model)
    alpha = model(ms.Tensor(data['img']))[1].asnumpy()
    assert np.isfinite(losses).all() and np.isfinite(alpha).all(), path
    print('ran', path)
print(cpu_kernel_status())
"""


def test_without_a_compiler_every_configs_model_trains_and_infers_on_mindspore_operators(tmp_path):
    """A machine without a C++ compiler: the kernels cannot build, one warning, and every model
    the configs describe still takes a training step and runs folded inference."""
    env = {
        **os.environ,
        'CXX': 'no-such-compiler-xyz',
        'SHMATTING_CPU_KERNELS': 'auto',
        'SHMATTING_KERNEL_CACHE': str(tmp_path / 'empty_cache'),
    }
    res = subprocess.run(
        [sys.executable, '-c', NO_COMPILER_RUN, *RUN_CONFIGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr.count('shmatting CPU kernels unavailable') == 1
    assert "core unavailable (no C++ compiler: 'no-such-compiler-xyz'" in res.stdout
    ran = [line.split()[1] for line in res.stdout.splitlines() if line.startswith('ran ')]
    assert any('paper_resnet' in p for p in ran) and any('zoo' in p for p in ran)
    assert {Config.fromfile(p).model.train_cfg.phase for p in ran} == {'tnet', 'mnet', 'e2e'}
