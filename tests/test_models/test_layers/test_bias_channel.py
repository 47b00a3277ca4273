"""The bias-channel form of folded 1x1 expansions: the same function as ``Conv2D`` + ``BiasAdd``,
taken only by 1x1 layers with four or more outputs per input."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import ops

from shmatting.models.layers.bias_channel import (
    BiasChannelConv,
    bias_channel_weight,
    prefers_bias_channel,
)


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', [(1, 4, 7, 9), (3, 6, 1, 5)])
def test_the_bias_channel_form_computes_conv2d_plus_bias(mode, shape):
    rng = np.random.default_rng(0)
    cout = 4 * shape[1]
    w = rng.normal(size=(cout, shape[1], 1, 1)).astype(np.float32)
    b = rng.normal(size=cout).astype(np.float32)
    x = ms.Tensor(rng.normal(size=shape).astype(np.float32))
    ms.set_context(mode=mode)
    try:
        got = BiasChannelConv(cout)(x, ms.Tensor(bias_channel_weight(w, b))).asnumpy()
        want = ops.BiasAdd()(ops.Conv2D(cout, 1)(x, ms.Tensor(w)), ms.Tensor(b)).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_only_1x1_layers_with_four_outputs_per_input_take_it():
    assert prefers_bias_channel(16, 96, 1) and prefers_bias_channel(160, 960, 1)
    assert not prefers_bias_channel(96, 24, 1)  # projections: the bias pass is the cheaper one
    assert not prefers_bias_channel(16, 32, 1)
    assert not prefers_bias_channel(16, 96, 3)  # measured no faster for 3x3 layers


def test_the_bias_is_the_last_input_channel_of_the_weight():
    w = np.arange(8, dtype=np.float32).reshape(4, 2, 1, 1)
    b = np.array([10, 20, 30, 40], np.float32)
    got = bias_channel_weight(w, b)
    assert got.shape == (4, 3, 1, 1) and got.dtype == np.float32
    np.testing.assert_array_equal(got[:, :2], w)
    np.testing.assert_array_equal(got[:, 2, 0, 0], b)
