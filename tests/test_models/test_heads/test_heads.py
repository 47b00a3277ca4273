import mindspore as ms
import numpy as np
import pytest

from shmatting.registry import HEADS


def test_fusion_formula_in_both_modes():
    p = np.array([0.2, 0.3, 0.5], np.float32).reshape(1, 3, 1, 1)
    a_r = np.full((1, 1, 1, 1), 0.4, np.float32)
    fixed = HEADS.build(dict(type='FusionHead'))(ms.Tensor(p), ms.Tensor(a_r)).asnumpy()
    zoo = HEADS.build(dict(type='FusionHead', zoo_compat=True))(
        ms.Tensor(p), ms.Tensor(a_r)
    ).asnumpy()
    assert np.allclose(fixed, 0.5 + 0.3 * 0.4)  # P_fg + P_unknown * alpha_r
    assert np.allclose(zoo, 0.3 + 0.5 * 0.4)  # the ports' P_unknown + P_fg * alpha_r
    big = HEADS.build(dict(type='FusionHead'))(ms.Tensor(p), ms.Tensor(np.full_like(a_r, 9.0)))
    assert float(big.asnumpy().max()) > 1  # never clamped inside


def test_unet_head_wires_from_strides():
    head = HEADS.build(dict(type='TNetUNetHead', in_channels=(8, 16, 32), in_strides=(4, 8, 16)))
    feats = tuple(
        ms.Tensor(np.random.rand(1, c, 32 // s * 2, 32 // s * 2).astype(np.float32))
        for c, s in zip((8, 16, 32), (4, 8, 16))
    )
    out = head(feats)
    assert out.shape == (1, 3, 64, 64)
    with pytest.raises(ValueError, match='powers of two'):
        HEADS.build(dict(type='TNetUNetHead', in_channels=(8, 16), in_strides=(4, 12)))
    with pytest.raises(ValueError, match='at least two'):
        HEADS.build(dict(type='TNetUNetHead', in_channels=(8,), in_strides=(4,)))


def test_mnet_decoder_levels_follow_the_stride():
    head = HEADS.build(dict(type='MNetDecoder', in_channels=(128,), in_strides=(16,)))
    out = head((ms.Tensor(np.random.rand(1, 128, 3, 4).astype(np.float32)),))
    assert out.shape == (1, 1, 48, 64)
    with pytest.raises(ValueError, match='one level per x2'):
        HEADS.build(dict(type='MNetDecoder', in_channels=(128,), in_strides=(32,)))
