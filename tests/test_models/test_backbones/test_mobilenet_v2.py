import mindspore as ms
import numpy as np
import pytest

from shmatting.models.backbones import MobileNetV2
from shmatting.registry import BACKBONES


def run(net, hw=(64, 64)):
    net.set_train(False)
    return net(ms.Tensor(np.random.rand(1, 3, *hw).astype(np.float32)))


def test_zoo_variant_outputs():
    net = MobileNetV2()
    assert net.out_channels == (16, 24, 32, 96, 320)
    assert net.out_strides == (1, 2, 4, 8, 16)
    outs = run(net)
    assert [tuple(o.shape) for o in outs] == [
        (1, 16, 64, 64),
        (1, 24, 32, 32),
        (1, 32, 16, 16),
        (1, 96, 8, 8),
        (1, 320, 4, 4),
    ]
    # zoo-compatible: block_1 keeps the 1x1 expansion conv (32 -> 32)
    assert tuple(net.block_1.conv[0].weight.shape) == (32, 32, 1, 1)
    assert not hasattr(net, 'conv_last')


def test_standard_variant():
    net = MobileNetV2(variant='standard', out_indices=(1, 2, 4, 7))
    assert net.out_strides == (4, 8, 16, 32)
    assert net.out_channels == (24, 32, 96, 1280)
    assert len(net.block_1.conv) == 5  # no expansion conv at t=1
    outs = run(net)
    assert tuple(outs[-1].shape) == (1, 1280, 2, 2)
    assert net.head_conv[1].act_name == 'relu6'  # the stem's ReLU6, fused into its BatchNorm


def test_widen_factor_and_alias():
    net = BACKBONES.build(dict(type='MobileNetV2', widen=0.5))
    assert net.out_channels == (8, 16, 16, 48, 160)
    assert MobileNetV2(widen_factor=0.5).out_channels == net.out_channels


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(out_indices=(0, 8)), 'out_indices'),
        (dict(variant='tiny'), 'variant'),
        (dict(out_indices=(2, 1)), 'increasing'),
        (dict(stem_act='none'), 'stem_act'),
        (dict(widen_factor='x'), 'widen_factor'),
        (dict(widen_factor=0), 'widen_factor'),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MobileNetV2(**kwargs)


def test_unknown_activation_names_the_registry_and_close_matches():
    with pytest.raises(KeyError, match="'gleu' is not in the ACTIVATIONS registry.*gelu"):
        MobileNetV2(stem_act='gleu')
