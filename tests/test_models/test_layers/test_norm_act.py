"""BatchNormAct2d: moving statistics stay right under activation recomputation."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from shmatting.models.layers.conv import conv_bn_act
from tests.helpers import squared_sum_loss


def train_two_steps(recompute, use_kernel):
    ms.set_seed(0)
    net = nn.SequentialCell([conv_bn_act(3, 4, 3, act='relu6'), conv_bn_act(4, 4, 3, act='relu')])
    for _, cell in net.cells_and_names():
        if hasattr(cell, 'set_cpu_kernel'):
            cell.set_cpu_kernel(use_kernel)
    if recompute:
        net[0].recompute()
    net.set_train(True)
    step = nn.TrainOneStepCell(squared_sum_loss(net), nn.SGD(net.trainable_params(), 0.001))
    x = ms.Tensor(np.random.default_rng(3).random((2, 3, 8, 8)).astype(np.float32))
    for _ in range(2):
        step(x)
    return {p.name: p.asnumpy() for p in net.get_parameters()}


@pytest.mark.parametrize('use_kernel', [True, False])
def test_recomputed_cell_updates_moving_statistics_once_per_step(use_kernel):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        plain = train_two_steps(False, use_kernel)
        recomputed = train_two_steps(True, use_kernel)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert any('mean' in name for name in plain)
    for name, value in plain.items():
        # a second update under recompute moved the means by ~80% (MindSpore's BatchNorm too)
        np.testing.assert_allclose(recomputed[name], value, rtol=1e-5, atol=1e-7, err_msg=name)


class WeightedSum(nn.Cell):
    """A scalar of ``norm(x, residual)`` (or ``norm(x) + residual``) weighing every output."""

    def __init__(self, norm, inside, weight):
        super().__init__()
        self.norm = norm
        self.inside = inside
        self.weight = ms.Tensor(weight)

    def construct(self, x, residual):
        y = self.norm(x, residual) if self.inside else self.norm(x) + residual
        return (y * self.weight).sum()


def residual_results(inside, act, use_kernel, training):
    from shmatting.models.layers import BatchNormAct2d

    rng = np.random.default_rng(5)
    x, residual, weight = (rng.normal(size=(2, 6, 5, 7)).astype(np.float32) for _ in range(3))
    norm = BatchNormAct2d(6, act=act)
    norm.set_cpu_kernel(use_kernel)
    net = WeightedSum(norm, inside, weight)
    net.set_train(training)
    grads = ms.value_and_grad(net, (0, 1), norm.trainable_params())
    value, (inputs, params) = grads(ms.Tensor(x), ms.Tensor(residual))
    stats = [norm.moving_mean.asnumpy(), norm.moving_variance.asnumpy()]
    return [value.asnumpy()] + [g.asnumpy() for g in inputs + params] + stats


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('act', [None, 'relu', 'relu6'])
@pytest.mark.parametrize('use_kernel,training', [(True, True), (True, False), (False, True)])
def test_a_residual_added_by_the_norm_equals_adding_it_after(mode, act, use_kernel, training):
    # MobileNetV2's identity and the T-Net's skips are added inside the training kernel's pass;
    # output, both input gradients, gamma/beta gradients and moving statistics must not change
    ms.set_context(mode=mode)
    try:
        inside = residual_results(True, act, use_kernel, training)
        after = residual_results(False, act, use_kernel, training)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    for a, b in zip(inside, after):
        np.testing.assert_array_equal(a, b)
