"""The inverted-residual block kernel for inference: the folded block's function (against NumPy,
and against its three folded layers in GRAPH mode), in row bands and as whole maps, and only
where its layers are folded and on their kernels."""

import mindspore as ms
import numpy as np
import pytest

from shmatting.models.backbones.mobilenet_v2 import InvertedResidual
from shmatting.models.layers import fuse_conv_bn
from shmatting.ops import cpu_kernels_enabled, inverted_residual_op, set_cpu_kernels
from tests.test_models.utils import randomize_bn_stats

pytestmark = pytest.mark.skipif(
    not cpu_kernels_enabled('conv') or not cpu_kernels_enabled('depthwise'),
    reason='no oneDNN kernel library',
)

ACTS = {None: lambda v: v, 'relu': lambda v: np.maximum(v, 0), 'relu6': lambda v: np.clip(v, 0, 6)}


def reference(x, weights, stride, residual, act):
    """The block in float64 NumPy: [expansion,] depthwise 3x3 (padding 1), projection."""
    f = ACTS[act]
    x = x.astype(np.float64)
    h = x
    if len(weights) == 6:
        we, be = weights[:2]
        h = f(np.einsum('ec,nchw->nehw', we, x) + be[:, None, None])
    wd, bd, wp, bp = weights[-4:]
    n, e, hh, ww = h.shape
    pad = np.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (hh - 1) // stride + 1, (ww - 1) // stride + 1
    d = np.zeros((n, e, oh, ow))
    for k in range(9):
        i, j = divmod(k, 3)
        tap = pad[
            :, :, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride
        ]
        d += wd[:, k, None, None] * tap
    d = f(d + bd[:, None, None])
    y = np.einsum('oe,nehw->nohw', wp, d) + bp[:, None, None]
    return y + x if residual else y


def random_weights(rng, c, e, o, expand):
    shapes = ([(e, c), (e,)] if expand else []) + [(e, 9), (e,), (o, e), (o,)]
    return [rng.normal(0, 0.4, s).astype(np.float32) for s in shapes]


# (N, C, H, W), expansion, outputs, stride, residual: bands where E * H * W >= 1M floats
CASES = {
    'whole maps, odd size': ((2, 8, 13, 11), 48, 8, 1, True),
    'whole maps, stride 2': ((1, 8, 13, 11), 48, 16, 2, False),
    'whole maps, no expansion': ((2, 16, 9, 7), None, 8, 1, False),
    'bands, several chunks per band': ((1, 8, 151, 149), 48, 8, 1, True),
    'bands, stride 2, odd size, two images': ((2, 8, 151, 149), 48, 16, 2, False),
    'bands, one row per chunk': ((1, 16, 12, 1030), 96, 16, 1, False),
    'bands, one row per chunk, stride 2': ((1, 16, 13, 1031), 96, 24, 2, False),
    'bands, no expansion': ((1, 48, 150, 150), None, 24, 1, False),
    # 24 and 32 inputs (the expansion's few-input GEMM kernel), expanded
    # channels not a multiple of four, rows not a multiple of 16 columns
    'bands, 24 inputs': ((1, 24, 100, 107), 146, 24, 1, True),
    'bands, 32 inputs, stride 2': ((1, 32, 81, 75), 193, 16, 2, False),
}


@pytest.mark.parametrize('act', [None, 'relu', 'relu6'])
@pytest.mark.parametrize('name', list(CASES))
def test_block_kernel_equals_the_block_in_float64(name, act):
    shape, e, o, stride, residual = CASES[name]
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, shape).astype(np.float32)
    weights = random_weights(rng, shape[1], e or shape[1], o if not residual else shape[1], e)
    op = inverted_residual_op(stride, residual, act)
    got = op(ms.Tensor(x), *[ms.Tensor(w) for w in weights]).asnumpy()
    want = reference(x, weights, stride, residual, act)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * np.abs(want).max())


def test_weights_of_the_wrong_size_are_refused():
    op = inverted_residual_op(1, False, 'relu6')
    rng = np.random.default_rng(0)
    weights = random_weights(rng, 8, 48, 8, True)
    weights[4] = weights[4][:, :40]  # projection (8, 40) against 48 expanded channels
    x = ms.Tensor(rng.normal(size=(1, 8, 5, 5)).astype(np.float32))
    with pytest.raises(RuntimeError):
        op(x, *[ms.Tensor(w) for w in weights]).asnumpy()


def folded_block(cin, cout, stride, t, keep_t1_expand=True):
    block = InvertedResidual(cin, cout, stride, t, keep_t1_expand=keep_t1_expand)
    randomize_bn_stats(block)
    block.set_train(False)
    fuse_conv_bn(block)
    return block


@pytest.mark.parametrize(
    'cin, cout, stride, t, size',
    [(16, 16, 1, 6, (150, 120)), (16, 24, 2, 6, (61, 47)), (32, 16, 1, 1, (20, 24))],
)
def test_folded_block_runs_as_one_kernel_with_its_layers_function_in_graph_mode(
    cin, cout, stride, t, size
):
    block = folded_block(cin, cout, stride, t)
    assert block.fused_block.applies(block.conv)
    x = ms.Tensor(np.random.default_rng(4).normal(size=(1, cin, *size)).astype(np.float32))
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        got = block(x).asnumpy()
        layers = folded_block(cin, cout, stride, t)
        layers.fused_block.use_cpu_kernel = False  # the three folded layers, each on its kernel
        ms.load_param_into_net(layers, block.parameters_dict())
        want = layers(x).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_the_block_kernel_runs_only_on_folded_layers_on_their_kernels():
    block = InvertedResidual(16, 16, 1, 6)
    block.set_train(False)
    assert not block.fused_block.applies(block.conv)  # BatchNorms not folded
    fuse_conv_bn(block)
    assert block.fused_block.applies(block.conv)
    set_cpu_kernels(block, True, {'conv'})  # the depthwise layer on MindSpore's operator
    assert not block.fused_block.applies(block.conv)
    set_cpu_kernels(block, False)  # as exports run it
    assert not block.fused_block.applies(block.conv)
    set_cpu_kernels(block, True)
    block.set_train(True)
    assert not block.fused_block.applies(block.conv)
