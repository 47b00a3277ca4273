"""Mixed precision: every level trains in GRAPH and PyNative mode, keeps float32 master weights
and names, and its checkpoint evaluates in a float32 model; an overflow skips the step."""

import mindspore as ms
import numpy as np
import pytest

from shmatting.engine.amp import apply_amp, parse_amp
from shmatting.engine.checkpoint import load_weights, save_checkpoint_atomic
from shmatting.engine.optimizers import build_optimizer
from shmatting.engine.train_step import build_train_step
from shmatting.evaluation import predict_image
from shmatting.models import build_model
from shmatting.utils.profiling import random_batch
from tests.test_models.utils import zoo_config


def amp_step(level, loss_scale='dynamic', phase='e2e'):
    ms.set_seed(0)
    model = build_model(zoo_config(train_cfg=dict(phase=phase)))
    names = sorted(p.name for p in model.get_parameters())
    opt = build_optimizer(dict(type='Adam', lr=1e-3), model.phase_trainable_params(), 1e-3)
    step = build_train_step(
        model, opt, len(model.loss_names), dict(enabled=True, level=level, loss_scale=loss_scale)
    )
    return model, names, step


# every level in both modes; the phases rotate so that each mode also runs each phase's graph
# (GRAPH e2e: the O2 run through the runner and tools/test.py in test_runner_phases.py)
@pytest.mark.parametrize(
    'mode,level,phase',
    [
        ('GRAPH', 'O1', 'tnet'),
        ('GRAPH', 'O2', 'mnet'),
        ('GRAPH', 'O3', 'mnet'),
        ('PYNATIVE', 'O1', 'mnet'),
        ('PYNATIVE', 'O2', 'tnet'),
        ('PYNATIVE', 'O3', 'e2e'),
    ],
)
def test_amp_level_trains_and_its_checkpoint_loads_into_a_float32_model(
    mode, level, phase, tmp_path
):
    ms.set_context(mode=ms.GRAPH_MODE if mode == 'GRAPH' else ms.PYNATIVE_MODE)
    try:
        model, names, step = amp_step(level, phase=phase)
        assert sorted(p.name for p in model.get_parameters()) == names  # fp32 names kept
        data = random_batch(2, 32, 32, seed=1)
        inputs = [ms.Tensor(data[k]) for k in model.train_inputs()]
        losses = [float(step(*inputs)[0].asnumpy()[0]) for _ in range(4)]
        assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
        assert {str(p.dtype) for p in model.get_parameters()} == {'Float32'}
        ckpt = str(tmp_path / 'amp.ckpt')
        save_checkpoint_atomic(model, ckpt)
        plain = build_model(zoo_config(init_cfg=[]))
        report = load_weights(plain, ckpt, strict=True)
        assert not report['missing'] and not report['unexpected']
        plain.set_train(False)
        alpha, _ = predict_image(plain, data['img'][0], dict(resize='pad'))
        assert alpha.shape == (32, 32) and np.isfinite(alpha).all()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_forced_overflow_skips_the_step_and_lowers_the_scale():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model, _, step = amp_step(
        'O2', loss_scale=dict(type='dynamic', init_scale=2.0**16), phase='tnet'
    )
    before = {p.name: p.asnumpy().copy() for p in model.trainable_params()}
    data = random_batch(2, 32, 32, seed=2)
    img = data['img'].copy()
    img[0, 0, 0, 0] = np.inf  # forces non-finite gradients
    _, overflow, _ = step(ms.Tensor(img), ms.Tensor(data['trimap']))
    assert bool(overflow.asnumpy())
    assert all(np.array_equal(before[p.name], p.asnumpy()) for p in model.trainable_params())
    assert float(step.scale_sense.asnumpy()) == 2.0**15
    _, overflow, _ = step(ms.Tensor(data['img']), ms.Tensor(data['trimap']))
    assert not bool(overflow.asnumpy())
    assert any(not np.array_equal(before[p.name], p.asnumpy()) for p in model.trainable_params())


def test_cpu_kernel_layers_and_batchnorm_keep_float32_where_the_level_says():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    from shmatting.engine.amp import keeps_float32
    from shmatting.models.layers import BatchNormAct2d

    bn = BatchNormAct2d(4, act='relu')
    bn.set_cpu_kernel(False)
    assert keeps_float32(bn, 'O2') and not keeps_float32(bn, 'O3')
    bn.set_cpu_kernel(True)
    assert keeps_float32(bn, 'O3') == bn.use_cpu_kernel  # float32-only kernels stay float32
    model = apply_amp(build_model(zoo_config()), 'O2')
    logits, alpha = model(ms.Tensor(random_batch(1, 32, 32)['img']))
    assert logits.dtype == ms.float32 and alpha.dtype == ms.float32  # losses see float32


@pytest.mark.parametrize(
    'cfg,match',
    [
        (dict(enabled=True, level='O4'), 'amp.level'),
        (dict(enabled=True, loss_scale=-1), 'loss_scale'),
        (dict(enabled=True, scale='x'), 'unknown keys'),
    ],
)
def test_bad_amp_settings_name_the_key(cfg, match):
    with pytest.raises((ValueError, KeyError), match=match):
        parse_amp(cfg)
