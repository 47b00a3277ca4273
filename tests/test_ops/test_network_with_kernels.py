"""The whole SHM network trains the same with the CPU kernels as with MindSpore's operators."""

import mindspore as ms
import numpy as np
import pytest

from shmatting.config import Config
from shmatting.engine.optimizers import build_optimizer
from shmatting.engine.train_step import MattorWithLoss, TrainStep
from shmatting.models import build_model
from shmatting.ops import cpu_kernels_enabled, set_cpu_kernels
from shmatting.utils.profiling import random_batch

pytestmark = pytest.mark.skipif(not cpu_kernels_enabled(), reason='CPU kernels unavailable')


def three_sgd_steps(repo_root, use_kernels, state, data):
    cfg = Config.fromfile(f'{repo_root}/configs/shm/e2e_8x8.py')
    model = build_model(cfg.model)
    set_cpu_kernels(model, use_kernels)
    for param in model.get_parameters():
        param.set_data(ms.Tensor(state[param.name]))
    opt = build_optimizer(dict(type='SGD', lr=0.01), model.phase_trainable_params(), 0.01)
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
    step.set_train()
    inputs = tuple(ms.Tensor(data[k]) for k in model.train_inputs())
    losses = [float(step(*inputs).asnumpy().ravel()[0])]
    # moving statistics after one step (later steps see slightly different weights)
    stats = {p.name: p.asnumpy().copy() for p in model.get_parameters() if 'moving' in p.name}
    losses += [float(step(*inputs).asnumpy().ravel()[0]) for _ in range(2)]
    return losses, stats


def test_e2e_training_steps_match_with_and_without_kernels(repo_root):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        ms.set_seed(3)
        cfg = Config.fromfile(f'{repo_root}/configs/shm/e2e_8x8.py')
        state = {p.name: p.asnumpy().copy() for p in build_model(cfg.model).get_parameters()}
        data = random_batch(2, 64, 64)
        with_kernels = three_sgd_steps(repo_root, True, state, data)
        without = three_sgd_steps(repo_root, False, state, data)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    # same function, different rounding: the losses drift apart by ~1e-5 relative in 3 steps
    np.testing.assert_allclose(with_kernels[0], without[0], rtol=1e-4)
    assert with_kernels[0][2] < with_kernels[0][0]  # it does train
    assert len(with_kernels[1]) > 50
    for name, value in without[1].items():
        np.testing.assert_allclose(with_kernels[1][name], value, rtol=1e-4, atol=1e-5, err_msg=name)
