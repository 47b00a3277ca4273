import numpy as np
import pytest

from shmatting.engine.lr_schedules import build_lr_values
from shmatting.registry import LR_SCHEDULERS


def test_constant_and_warmup():
    v = build_lr_values(None, 1e-3, 10, 5)
    assert v.dtype == np.float32 and np.allclose(v, 1e-3)
    w = build_lr_values(dict(type='ConstantLR', warmup_iters=4, warmup_ratio=0.1), 1.0, 10, 5)
    assert np.allclose(w[:5], [0.1, 0.325, 0.55, 0.775, 1.0])


def test_step_poly_cosine():
    s = build_lr_values(dict(type='StepLR', steps=[1, 2], gamma=0.5), 1.0, 6, 2)
    assert np.allclose(s, [1, 1, 0.5, 0.5, 0.25, 0.25])
    p = build_lr_values(dict(type='PolyLR', power=1.0, min_lr=0.0), 1.0, 4, 2)
    assert np.allclose(p, [1.0, 0.75, 0.5, 0.25])
    c = build_lr_values(dict(type='CosineLR', min_lr=0.1), 1.0, 4, 2)
    assert c[0] == pytest.approx(1.0) and c[2] == pytest.approx(0.55) and c[-1] > 0.1
    assert {'ConstantLR', 'StepLR', 'PolyLR', 'CosineLR'} <= set(LR_SCHEDULERS)
