"""ForwardDxConv2d: the same function and gradients as nn.Conv2d, in PyNative and GRAPH mode."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from shmatting.models.layers.conv_dx import ForwardDxConv2d, prefers_forward_dx, same_conv2d
from tests.helpers import squared_sum_loss


def outputs_and_grads(net, x):
    _, (dx, dws) = ms.value_and_grad(squared_sum_loss(net), 0, net.trainable_params())(x)
    return [net(x).asnumpy(), dx.asnumpy()] + [d.asnumpy() for d in dws]


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('cin,cout,k,bias', [(5, 3, 3, True), (4, 1, 5, False), (6, 6, 3, True)])
def test_matches_conv2d(mode, cin, cout, k, bias):
    ms.set_context(mode=mode)
    try:
        fast = ForwardDxConv2d(cin, cout, k, bias)
        plain = nn.Conv2d(cin, cout, k, pad_mode='pad', padding=k // 2, has_bias=bias)
        for a, b in zip(fast.get_parameters(), plain.get_parameters()):
            b.set_data(a.data)
        x = ms.Tensor(np.random.default_rng(0).normal(size=(2, cin, 9, 7)).astype(np.float32))
        got, want = outputs_and_grads(fast, x), outputs_and_grads(plain, x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert [p.name for p in fast.get_parameters()] == [p.name for p in plain.get_parameters()]
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_selection_rule():
    assert prefers_forward_dx(16, 1, 5) and prefers_forward_dx(32, 16, 3)
    assert not prefers_forward_dx(6, 16, 3)  # more outputs: MindSpore's is faster
    assert not prefers_forward_dx(16, 16, 2)  # even kernel: no 'same' padding
    assert isinstance(same_conv2d(16, 3, 3, True), ForwardDxConv2d)
    assert type(same_conv2d(3, 16, 3)) is nn.Conv2d
    from shmatting.models.layers.conv import conv_bn_act

    assert isinstance(conv_bn_act(16, 8, 3)[0], ForwardDxConv2d)
    assert type(conv_bn_act(16, 8, 3, stride=2)[0]) is nn.Conv2d  # strided: MindSpore's conv
    with pytest.raises(ValueError, match='odd kernel size'):
        ForwardDxConv2d(4, 4, 2)
