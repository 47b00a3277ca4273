import mindspore as ms
import numpy as np
import pytest

from shmatting.models.layers import ConvTranspose2dK5S2, MaxPool3x3S2
from tests.test_models.zoo_numpy_reference import conv_transpose_k5s2p2op1, maxpool3s2p1


def test_transposed_conv_doubles_size_exactly():
    rng = np.random.default_rng(0)
    layer = ConvTranspose2dK5S2(4, 3, 5)
    w = rng.normal(size=(4, 3, 5, 5)).astype(np.float32)
    layer.weight.set_data(ms.Tensor(w))
    x = rng.normal(size=(2, 4, 5, 7)).astype(np.float32)
    y = layer(ms.Tensor(x)).asnumpy()
    assert y.shape == (2, 3, 10, 14)
    ref = conv_transpose_k5s2p2op1(x.astype(np.float64), w.astype(np.float64))
    assert np.abs(y - ref).max() < 1e-4
    assert [p.name for p in layer.get_parameters()] == ['weight']
    with pytest.raises(ValueError):
        ConvTranspose2dK5S2(2, 2, 4)


@pytest.mark.parametrize('impl', ['pad', 'zero_pad'])
def test_maxpool_matches_minus_inf_padding_on_nonnegative_input(impl):
    x = np.abs(np.random.default_rng(0).normal(size=(1, 2, 9, 8))).astype(np.float32)
    y = MaxPool3x3S2(impl)(ms.Tensor(x)).asnumpy()
    assert y.shape == (1, 2, 5, 4)
    assert np.array_equal(y, maxpool3s2p1(x).astype(np.float32))


def test_zero_pad_differs_on_negative_input_and_pad_does_not():
    x = -np.ones((1, 1, 4, 4), np.float32)
    assert np.all(MaxPool3x3S2('pad')(ms.Tensor(x)).asnumpy() == -1)
    zero = MaxPool3x3S2('zero_pad')(ms.Tensor(x)).asnumpy()
    assert np.any(zero == 0)  # windows touching the zero padding
    with pytest.raises(ValueError):
        MaxPool3x3S2('same')
