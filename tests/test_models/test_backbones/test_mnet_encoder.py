import mindspore as ms
import numpy as np
import pytest

from shmatting.models.backbones import MNetEncoder


def test_shapes_and_contract():
    net = MNetEncoder()
    assert net.out_channels == (128,) and net.out_strides == (16,)
    (out,) = net(ms.Tensor(np.random.rand(2, 6, 64, 48).astype(np.float32)))
    assert out.shape == (2, 128, 4, 3)
    with pytest.raises(ValueError):
        MNetEncoder(channels=(16, 32))
