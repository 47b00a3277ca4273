import mindspore as ms
import numpy as np
from mindspore import nn

from shmatting.engine.train_step import MattorWithLoss, TrainStep
from shmatting.models import build_model
from tests.test_models.utils import zoo_config


def batch(rng):
    return (
        ms.Tensor(rng.uniform(-0.5, 0.5, (2, 3, 32, 32)).astype(np.float32)),
        ms.Tensor(rng.integers(0, 3, (2, 1, 32, 32)).astype(np.int32)),
    )


def test_step_returns_total_and_terms_and_updates_only_active_params():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = build_model(zoo_config(train_cfg=dict(phase='tnet')))
    opt = nn.Adam(model.phase_trainable_params(), 1e-3)
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
    before = {p.name: p.asnumpy().copy() for p in model.get_parameters()}
    losses = step(*batch(np.random.default_rng(0)))
    assert losses.shape == (2,) and float(losses[0]) == float(losses[1])
    after = {p.name: p.asnumpy() for p in model.get_parameters()}
    changed = {n for n in before if not np.array_equal(before[n], after[n])}
    assert any(n.startswith('tnet.') for n in changed)
    assert not any(n.startswith('mnet.') for n in changed)
    assert float(step.nonfinite_steps.asnumpy()[0]) == 0
