import mindspore as ms
import numpy as np
import pytest

from shmatting.registry import LOSSES

RNG = np.random.default_rng(0)


def t(a):
    return ms.Tensor(np.asarray(a))


def test_trimap_ce_matches_numpy():
    logits = RNG.normal(size=(2, 3, 4, 5)).astype(np.float32)
    label = RNG.integers(0, 3, (2, 4, 5)).astype(np.int32)
    logp = logits - logits.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    nll = -np.take_along_axis(logp, label[:, None], 1)[:, 0]
    loss = LOSSES.build(dict(type='TrimapCrossEntropyLoss'))
    assert abs(float(loss(t(logits), t(label))) - nll.mean()) < 1e-6
    assert abs(float(loss(t(logits), t(label[:, None]))) - nll.mean()) < 1e-6
    summed = LOSSES.build(dict(type='TrimapCrossEntropyLoss', reduction='sum', loss_weight=2.0))
    assert abs(float(summed(t(logits), t(label))) - 2 * nll.sum()) < 1e-4


def test_trimap_ce_on_hand_values():
    logits = np.zeros((1, 3, 1, 1), np.float32)
    logits[0, 2] = np.log(2.0)  # probs (1/4, 1/4, 1/2)
    loss = LOSSES.build(dict(type='TrimapCrossEntropyLoss'))
    assert abs(float(loss(t(logits), t(np.array([[[2]]], np.int32)))) - np.log(2)) < 1e-6
    assert abs(float(loss(t(logits), t(np.array([[[0]]], np.int32)))) - np.log(4)) < 1e-6


def test_alpha_loss_charbonnier():
    p = np.array([[[[0.0, 0.5], [1.0, 0.2]]]], np.float32)
    g = np.array([[[[0.0, 0.0], [1.0, 0.6]]]], np.float32)
    loss = LOSSES.build(dict(type='AlphaPredictionLoss', eps=1e-3, loss_weight=0.5))
    expected = 0.5 * np.sqrt((p - g) ** 2 + 1e-6).mean()  # the zoo's sqrt(d^2 + 1e-6)
    assert abs(float(loss(t(p), t(g))) - expected) < 1e-7
    w = np.array([[[[1.0, 0.0], [0.0, 1.0]]]], np.float32)
    masked = LOSSES.build(dict(type='AlphaPredictionLoss', eps=0.0))
    assert abs(float(masked(t(p), t(g), t(w))) - (0.0 + 0.4) / 2) < 1e-6


def test_composition_loss_composite_and_zoo():
    a_p = RNG.uniform(0, 1, (2, 1, 3, 3)).astype(np.float32)
    a_g = RNG.uniform(0, 1, (2, 1, 3, 3)).astype(np.float32)
    fg = RNG.uniform(0, 1, (2, 3, 3, 3)).astype(np.float32)
    bg = RNG.uniform(0, 1, (2, 3, 3, 3)).astype(np.float32)
    img = RNG.uniform(-0.5, 0.5, (2, 3, 3, 3)).astype(np.float32)
    comp = LOSSES.build(dict(type='CompositionLoss', eps=1e-6))
    c_p = a_p * fg + (1 - a_p) * bg
    c_g = a_g * fg + (1 - a_g) * bg
    expected = np.sqrt((c_p - c_g) ** 2 + 1e-12).mean()
    assert abs(float(comp(t(a_p), t(a_g), None, t(fg), t(bg))) - expected) < 1e-6
    zoo = LOSSES.build(dict(type='CompositionLoss', eps=1e-3, mode='zoo'))
    expected = np.sqrt((a_g * img - a_p * img) ** 2 + 1e-6).mean()
    assert abs(float(zoo(t(a_p), t(a_g), t(img))) - expected) < 1e-6


def test_composition_loss_without_fg_bg_is_a_one_line_error():
    comp = LOSSES.build(dict(type='CompositionLoss'))
    a = t(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ValueError, match='needs fg and bg'):
        comp(a, a, t(np.zeros((1, 3, 2, 2), np.float32)))


def test_bad_reduction_and_mode():
    with pytest.raises(ValueError, match='reduction'):
        LOSSES.build(dict(type='AlphaPredictionLoss', reduction='none'))
    with pytest.raises(ValueError, match='mode'):
        LOSSES.build(dict(type='CompositionLoss', mode='dim'))
