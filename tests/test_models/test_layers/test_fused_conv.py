"""Folding BatchNorm into the convolution before it: the same function as conv then BatchNorm
(eval mode), on the CPU kernels and on MindSpore's operators, layer by layer and for the whole
network, and only for models in eval mode."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from shmatting.models import build_model
from shmatting.models.layers import (
    BatchNormAct2d,
    DepthwiseConv3x3,
    FusedConvAct,
    fuse_conv_bn,
    same_conv2d,
)
from shmatting.ops import cpu_kernels_enabled, set_cpu_kernels
from tests.test_models.utils import randomize_bn_stats, zoo_config

LAYERS = {
    'dense 3x3': lambda: same_conv2d(6, 8, 3),
    # 8 x 3 x 3 > 64 inputs per output: oneDNN's blocked kernel (fewer: gathered patches)
    'dense 3x3 on oneDNN': lambda: same_conv2d(8, 20, 3),
    # 24 inputs: 8-channel blocks (oneDNN's AVX2 kernels) instead of padded 16-channel ones
    'dense 3x3 on 8-channel blocks': lambda: same_conv2d(24, 16, 3),
    'dense 1x1': lambda: same_conv2d(8, 16, 1),
    # the 1x1 kernel runs per image in column tiles of 512 for 96 outputs: 3 tiles, a short last
    'dense 1x1 in column tiles': lambda: same_conv2d(16, 96, 1),
    'dense 5x5 with bias': lambda: same_conv2d(5, 3, 5, has_bias=True),
    # a fifth of the inputs as outputs: MindSpore's operators run it as a transposed convolution
    'dense 3x3 with few outputs': lambda: same_conv2d(15, 3, 3),
    # few inputs (3 x 3 x 3 <= 64): patches gathered per tile of 25 rows at width 80, a short last
    'dense 3x3 from 3 inputs in row tiles': lambda: same_conv2d(3, 8, 3),
    # few channels on a map of at least 160 x 160: the direct kernel where AVX-512 is built
    'dense 3x3 of few channels on a large map': lambda: same_conv2d(12, 7, 3),
    'dense 5x5 of few channels on a large map': lambda: same_conv2d(12, 7, 5),
    'depthwise stride 1': lambda: DepthwiseConv3x3(8, 1),
    'depthwise stride 2': lambda: DepthwiseConv3x3(8, 2),
    'strided dense (no kernel)': lambda: nn.Conv2d(6, 8, 3, stride=2, pad_mode='pad', padding=1),
}


def conv_then_bn(make_conv, act, seed=0):
    conv = make_conv()
    bn = BatchNormAct2d(conv.out_channels, act=act)
    block = nn.SequentialCell([conv, bn])
    randomize_bn_stats(block, seed)
    if conv.has_bias:
        rng = np.random.default_rng(seed + 1)
        conv.bias.set_data(ms.Tensor(rng.normal(0, 0.5, conv.bias.shape).astype(np.float32)))
    block.set_train(False)
    return block


@pytest.mark.parametrize('kernels', [True, False])
@pytest.mark.parametrize('act', [None, 'relu', 'relu6', 'gelu'])
@pytest.mark.parametrize('name', list(LAYERS))
def test_folded_layer_equals_conv_then_batchnorm(name, act, kernels):
    block = conv_then_bn(LAYERS[name], act)
    set_cpu_kernels(block, False)  # the reference: MindSpore's convolution and BatchNorm
    cin = block[0].in_channels
    sizes = {'column tiles': (37, 41), 'row tiles': (70, 80), 'large map': (161, 163)}
    size = next((v for k, v in sizes.items() if k in name), (11, 9))
    x = ms.Tensor(np.random.default_rng(2).normal(size=(2, cin, *size)).astype(np.float32) * 3)
    want = block(x).asnumpy()
    fused = FusedConvAct(block[0], block[1])
    fused.set_cpu_kernel(kernels)
    expect_kernel = (
        kernels and fused.cpu_kernel_supported() and cpu_kernels_enabled(fused.cpu_kernel_kind)
    )
    assert fused.use_cpu_kernel == expect_kernel
    # the operator forms MindSpore's operators run faster (on by default on the CPU)
    assert fused.transposed_form_supported == ('few outputs' in name)
    assert fused.bias_channel_supported == (name == 'dense 1x1 in column tiles')  # 16 -> 96
    assert fused.operator_form == (fused.transposed_form_supported or fused.bias_channel_supported)
    got = fused(x).asnumpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_fusing_the_zoo_network_keeps_its_function_on_kernels_and_operators():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = build_model(zoo_config())
        randomize_bn_stats(model)
        model.set_train(False)
        x = ms.Tensor(np.random.default_rng(1).normal(size=(2, 3, 96, 128)).astype(np.float32))
        want = [t.asnumpy() for t in model(x)]
        bns = sum(isinstance(c, nn.BatchNorm2d) for _, c in model.cells_and_names())
        assert fuse_conv_bn(model) == bns  # every BatchNorm of this network follows a conv
        assert not any(isinstance(c, nn.BatchNorm2d) for _, c in model.cells_and_names())
        got_kernels = [t.asnumpy() for t in model(x)]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    set_cpu_kernels(model, False)  # as the export runs it (PyNative: no graph compiled before)
    got_operators = [t.asnumpy() for t in model(x)]
    for got in (got_kernels, got_operators):
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_a_model_in_training_mode_is_not_folded():
    model = nn.SequentialCell([same_conv2d(3, 4, 3), BatchNormAct2d(4)])
    model.set_train(True)
    with pytest.raises(ValueError, match='set_train\\(False\\)'):
        fuse_conv_bn(model)
