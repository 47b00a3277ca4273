"""SameConv2d: the same function and gradients as nn.Conv2d on each of its paths (oneDNN kernels,
forward-convolution input gradient, MindSpore's operator, the transposed inference form), in
PyNative and GRAPH mode."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from shmatting.models.layers.conv import conv_bn_act, set_block_input_grad
from shmatting.models.layers.same_conv import SameConv2d, prefers_forward_dx, same_conv2d
from shmatting.models.layers.transposed_form import prefers_transposed_form
from shmatting.ops import cpu_kernels_enabled, pointwise_convs_on_kernels
from tests.helpers import squared_sum_loss

HAS_CONV_KERNEL = cpu_kernels_enabled('conv')


def outputs_and_grads(net, x):
    _, (dx, dws) = ms.value_and_grad(squared_sum_loss(net), 0, net.trainable_params())(x)
    return [net(x).asnumpy(), dx.asnumpy()] + [d.asnumpy() for d in dws]


def layer(cin, cout, k, bias, path):
    conv = SameConv2d(cin, cout, k, bias, forward_dx=path == 'forward_dx')
    conv.kernel_min_size = 1  # 1x1 layers too, on any machine
    conv.set_cpu_kernel(path == 'kernel')
    assert conv.use_cpu_kernel == (path == 'kernel')
    conv.operator_form = path == 'transposed'
    return conv


PATHS = ['forward_dx', 'operator'] + (['kernel'] if HAS_CONV_KERNEL else [])


def check_against_conv2d(mode, path, cin, cout, k, bias, shape, rtol=1e-5, atol_of_max=0.0):
    ms.set_context(mode=mode)
    try:
        fast = layer(cin, cout, k, bias, path)
        plain = nn.Conv2d(cin, cout, k, pad_mode='pad', padding=k // 2, has_bias=bias)
        for a, b in zip(fast.get_parameters(), plain.get_parameters()):
            b.set_data(a.data)
        x = ms.Tensor(np.random.default_rng(0).normal(size=shape).astype(np.float32))
        got, want = outputs_and_grads(fast, x), outputs_and_grads(plain, x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert [p.name for p in fast.get_parameters()] == [p.name for p in plain.get_parameters()]
    assert_all_close(got, want, rtol, atol_of_max)


def assert_all_close(got, want, rtol, atol_of_max):
    """Each pair within rtol, or within 1e-4 or a share (atol_of_max) of the largest expected
    value: for sums whose terms cancel."""
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=max(1e-4, atol_of_max * np.abs(b).max()))


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize(
    'cin,cout,k,bias',
    [(5, 3, 3, True), (4, 1, 5, False), (6, 9, 3, True), (5, 30, 1, False), (24, 7, 1, False)],
)
def test_every_path_matches_conv2d(mode, path, cin, cout, k, bias):
    check_against_conv2d(mode, path, cin, cout, k, bias, (2, cin, 9, 7))


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize(
    'cin,cout,k,bias,shape',
    [
        (16, 1, 5, False, (2, 16, 9, 7)),
        (15, 3, 3, True, (1, 15, 5, 12)),
        (11, 2, 3, False, (3, 11, 1, 6)),
    ],
)
def test_the_transposed_inference_form_computes_conv2d_and_its_gradients(
    mode, cin, cout, k, bias, shape
):
    # odd sizes, one row, batch 1 and 3: the output shape is given to Conv2DBackpropInput
    assert prefers_transposed_form(cin, cout, k)
    check_against_conv2d(mode, 'transposed', cin, cout, k, bias, shape)


def test_only_layers_with_five_inputs_per_output_take_the_transposed_form():
    assert prefers_transposed_form(16, 1, 5) and prefers_transposed_form(16, 3, 3)
    assert not prefers_transposed_form(96, 32, 3)  # measured no faster in the network
    assert not prefers_transposed_form(24, 16, 3)
    assert not prefers_transposed_form(16, 3, 1)  # 1x1: no im2col to save
    conv = same_conv2d(16, 3, 3, True)
    assert conv.transposed_form_supported and conv.operator_form  # the tests run on the CPU
    assert not same_conv2d(6, 16, 3).transposed_form_supported


@pytest.mark.skipif(not HAS_CONV_KERNEL, reason='the oneDNN kernels are unavailable')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize(
    'cin,cout,k,bias', [(16, 1, 5, False), (16, 3, 3, True), (7, 2, 3, False), (5, 4, 5, True)]
)
def test_few_output_channels_over_many_row_bands_and_column_blocks(mode, cin, cout, k, bias):
    # at most 4 outputs: the kernels' direct path (bands of 8 rows, blocks of up to 64 columns);
    # 19 rows and 70 columns leave a partial band and a partial block, the 16->1 dx has 16 outputs
    check_against_conv2d(mode, 'kernel', cin, cout, k, bias, (2, cin, 19, 70))


@pytest.mark.skipif(not HAS_CONV_KERNEL, reason='the oneDNN kernels are unavailable')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize(
    'cin,cout,shape',
    [
        (5, 30, (3, 5, 61, 59)),
        (13, 7, (2, 13, 23, 29)),
        (16, 38, (2, 16, 32, 49)),
        (24, 7, (2, 24, 32, 48)),
        (32, 5, (2, 32, 16, 40)),
        (40, 24, (2, 40, 23, 29)),
    ],
)
def test_1x1_layers_over_several_column_tiles_and_parts_match_conv2d(mode, cin, cout, shape):
    # 61 x 59 columns: two tiles per image (the second partial and short: its weight gradient on
    # the GEMM), each summing its share of the weight gradient in a part of its own; 23 x 29: one
    # tile of 667 columns, its weight gradient as dot products over whole and partial vectors and
    # output / input channels left over from blocks of four. 16, 24 and 32 inputs: the forward's
    # few-input kernel in tiles of 512 columns (with AVX-512), rows of 1568 columns (not whole
    # vectors: stored in place) and of 1536 and 640 (streamed past the caches from the first
    # 64-byte aligned column). 24 outputs: the input gradient on the same kernel
    check_against_conv2d(mode, 'kernel', cin, cout, 1, False, shape)


@pytest.mark.skipif(not HAS_CONV_KERNEL, reason='the oneDNN kernels do not build here')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('cin,cout,bias', [(24, 16, True), (8, 24, False), (32, 24, True)])
def test_layers_on_eight_channel_blocks_match_conv2d(mode, cin, cout, bias):
    # maps of 8 but not 16 channels per block run on 8-channel blocks (not padded to 16)
    check_against_conv2d(mode, 'kernel', cin, cout, 3, bias, (2, cin, 9, 7))


@pytest.mark.skipif(not HAS_CONV_KERNEL, reason='the oneDNN kernels do not build here')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize(
    'cin,cout,k,bias', [(5, 7, 3, True), (16, 3, 3, False), (16, 1, 5, True), (6, 9, 5, False)]
)
def test_few_channel_layers_on_large_maps_match_conv2d(mode, cin, cout, k, bias):
    # at least 160 x 160 with at most 32 channels: the direct few-channel kernel where AVX-512 is
    # built (3x3 and 5x5). 161 x 163: 11 bands of 15 rows (a partial last), two blocks of 64
    # columns and one of 35 (a masked last vector); 7 outputs: a block of 6 and one of 1 forward,
    # 3 + 2 + 2 in the 3x3 weight gradient; 3 and 1 outputs: blocks of 128 columns, the last of 35;
    # the input gradient has 5 (or 16, 6) outputs
    # (the weight gradients sum 52,486 products: both MindSpore's and the kernel's differ from
    # float64 by up to 4e-5 and 7e-5 of an element's size, more where the terms cancel: 1.8e-4 of
    # an element a 400th of the largest)
    shape = (2, cin, 161, 163)
    check_against_conv2d(mode, 'kernel', cin, cout, k, bias, shape, rtol=1e-4, atol_of_max=1e-6)


def test_selection_rule():
    assert prefers_forward_dx(16, 1, 5) and prefers_forward_dx(32, 16, 3)
    assert not prefers_forward_dx(6, 16, 3)  # more outputs: MindSpore's is faster
    assert not prefers_forward_dx(16, 16, 1)
    assert same_conv2d(16, 3, 3, True).forward_dx and not same_conv2d(3, 16, 3).forward_dx
    assert same_conv2d(16, 3, 3).use_cpu_kernel == HAS_CONV_KERNEL
    # 1x1: the kernels' GEMMs where they run on AVX-512, else MindSpore's GEMM (as fast)
    assert same_conv2d(16, 32, 1).use_cpu_kernel == pointwise_convs_on_kernels()
    assert not same_conv2d(16, 32, 1, has_bias=True).use_cpu_kernel
    assert isinstance(conv_bn_act(16, 8, 3)[0], SameConv2d)
    assert type(conv_bn_act(16, 8, 3, stride=2)[0]) is nn.Conv2d  # strided: MindSpore's conv
    with pytest.raises(ValueError, match='odd kernel size'):
        SameConv2d(4, 4, 2)


def data_then_hidden_layers(bias, k=3):
    """Two layers of one kind: the first reads data (no input gradient), the second does not."""
    first = SameConv2d(3, 8, k, bias, input_grad=False)
    second = SameConv2d(8, 8, k, bias)
    for conv in (first, second):
        conv.kernel_min_size = 1
        conv.set_cpu_kernel(True)
    return nn.SequentialCell([first, second])


@pytest.mark.skipif(not HAS_CONV_KERNEL, reason='the oneDNN kernels are unavailable')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize(
    'bias,k,size',
    [(False, 3, (9, 7)), (True, 3, (9, 7)), (False, 1, (9, 7)), (True, 3, (160, 161))],
)
def test_a_layer_reading_data_keeps_its_weight_gradients_and_the_next_layer_its_input_gradient(
    mode, bias, k, size
):
    """The skipped input gradient must stay on the data layer alone: MindSpore keeps one backward
    per custom-op function, so a shared function would give the hidden layer zeros too (and its
    predecessor no weight gradient). At 160 x 161 both layers run on the few-channel kernel where
    AVX-512 is built."""
    ms.set_context(mode=mode)
    try:
        fast = data_then_hidden_layers(bias, k)
        plain = nn.SequentialCell(
            [nn.Conv2d(c, 8, k, pad_mode='pad', padding=k // 2, has_bias=bias) for c in (3, 8)]
        )
        for a, b in zip(fast.get_parameters(), plain.get_parameters()):
            b.set_data(a.data)
        x = ms.Tensor(np.random.default_rng(0).normal(size=(2, 3, *size)).astype(np.float32))
        got, want = outputs_and_grads(fast, x), outputs_and_grads(plain, x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert not got[1].any()  # zeros for the data
    large = size[0] >= 100  # sums of 51,520 products at 160 x 161 (see the few-channel test)
    assert_all_close(got[2:], want[2:], 1e-4 if large else 1e-5, 1e-6 if large else 0.0)


def test_set_input_grad_reaches_the_stem_of_a_conv_bn_act_block():
    block = conv_bn_act(3, 8, 3)
    set_block_input_grad(block, False)
    assert block[0].input_grad is False
    set_block_input_grad(conv_bn_act(3, 8, 3, stride=2), False)  # nn.Conv2d: nothing to declare
