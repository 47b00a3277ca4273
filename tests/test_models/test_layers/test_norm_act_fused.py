"""The fused BatchNorm + ReLU6 + convolution kernels are the two layers' kernels."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

from shmatting.models.backbones.mobilenet_v2 import InvertedResidual
from shmatting.models.layers.fused_conv import fuse_conv_bn
from shmatting.ops import (
    batch_norm_act_conv1x1_op,
    batch_norm_act_depthwise_op,
    batch_norm_act_ops,
    cpu_kernels,
    cpu_kernels_enabled,
    depthwise3x3_op,
    set_cpu_kernels,
)
from tests.helpers import squared_sum_loss

pytestmark = pytest.mark.skipif(
    not cpu_kernels.cpu_kernels_enabled(),
    reason=f'CPU kernels unavailable: {cpu_kernels.cpu_kernel_status()}',
)


def tensors(shape, seed):
    rng = np.random.default_rng(seed)
    c = shape[1]
    t = lambda a: ms.Tensor(np.asarray(a, np.float32))  # noqa: E731
    return dict(
        x=t(rng.normal(1.0, 3.0, shape)),
        gamma=t(rng.normal(1.0, 0.5, c)),
        beta=t(rng.normal(0.5, 1.0, c)),
        consts=t([1e-5, 0.9, 0.1]),
        moving_mean=t(rng.normal(0.0, 1.0, c)),
        moving_var=t(rng.uniform(0.5, 2.0, c)),
        w=t(rng.normal(0.0, 1.0, (c, 9))),
    )


def fused_and_apart(fused, act, consumer, a):
    """Outputs, moving statistics and gradients (x, gamma, beta, w) of the fused operator and of
    the BatchNorm kernel followed by ``consumer(y, w)``, as pairs of arrays."""
    norm = batch_norm_act_ops(act)[0]
    k, m, v = a['consts'], a['moving_mean'], a['moving_var']

    def run_fused(x, gamma, beta, w):
        out = fused(x, gamma, beta, k, m, v, w)
        return out[0], out[3], out[4]

    def run_apart(x, gamma, beta, w):
        out = norm(x, gamma, beta, k, m, v)
        return consumer(out[0], w), out[3], out[4]

    args = (a['x'], a['gamma'], a['beta'], a['w'])
    outputs = list(zip(run_fused(*args), run_apart(*args)))
    sens = ms.Tensor(np.random.default_rng(9).normal(size=outputs[0][0].shape), ms.float32)
    grad = ops.GradOperation(get_all=True, sens_param=True)
    grads = zip(
        grad(lambda *t: run_fused(*t)[0])(*args, sens),
        grad(lambda *t: run_apart(*t)[0])(*args, sens),
    )
    return [(p.asnumpy(), q.asnumpy()) for p, q in outputs], [
        (p.asnumpy(), q.asnumpy()) for p, q in grads
    ]


@pytest.mark.parametrize(
    'stride, act, shape',
    [
        (1, 'relu6', (2, 5, 7, 9)),
        (2, 'relu6', (3, 4, 8, 11)),
        (2, 'relu', (2, 3, 9, 6)),
        (1, None, (1, 3, 1, 1)),
        (2, None, (2, 2, 1, 2)),
        # planes of 667: the BatchNorm's sums in 512-element pieces that end inside a row
        (1, 'relu6', (2, 3, 23, 29)),
        (2, 'relu6', (2, 3, 23, 29)),
        # stride 1 past the zero-bordered planes' 160 columns: the row kernels
        (1, 'relu6', (1, 2, 3, 167)),
    ],
)
def test_fused_kernel_is_the_norm_kernel_then_the_depthwise_kernel_bit_for_bit(stride, act, shape):
    fused = batch_norm_act_depthwise_op(stride, act)
    outputs, grads = fused_and_apart(fused, act, depthwise3x3_op(stride), tensors(shape, stride))
    for p, q in outputs + grads:  # output, moving statistics; dx, dgamma, dbeta, dw
        np.testing.assert_array_equal(p, q)


@pytest.mark.skipif(not cpu_kernels_enabled('conv'), reason='no oneDNN kernel library')
@pytest.mark.parametrize(
    'act, shape, out_channels',
    [
        ('relu6', (2, 5, 7, 9), 3),
        ('relu6', (2, 24, 48, 48), 8),
        ('relu6', (2, 13, 23, 29), 7),  # a tile of 667 columns: whole vectors and a partial one
        ('relu', (3, 4, 1, 1), 2),
        (None, (1, 3, 5, 2), 4),
        # 16, 24 and 32 outputs: the input gradient on the register kernel (small_k_gemm.h) where
        # the kernels are built for AVX-512
        ('relu6', (2, 40, 23, 29), 24),
        (None, (1, 32, 9, 11), 16),
        ('relu', (2, 20, 17, 19), 32),
    ],
)
def test_fused_1x1_kernel_is_the_norm_kernel_then_mindspores_convolution(act, shape, out_channels):
    a = tensors(shape, seed=5)
    a['w'] = ms.Tensor(np.random.default_rng(6).normal(size=(out_channels, shape[1])), ms.float32)
    conv = ops.Conv2D(out_channels, 1)
    outputs, grads = fused_and_apart(
        batch_norm_act_conv1x1_op(act),
        act,
        lambda y, w: conv(y, w.reshape(out_channels, shape[1], 1, 1)),
        a,
    )
    for p, q in outputs:
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)
    for p, q in grads:  # dx, dgamma, dbeta, dw
        scale = float(np.abs(q).max()) or 1.0
        np.testing.assert_allclose(p / scale, q / scale, atol=1e-5)


def train_block(fused, recompute, steps=2):
    ms.set_seed(0)
    block = InvertedResidual(8, 12, 2, 6)
    block.norm_depthwise.set_cpu_kernel(fused)
    block.norm_project.set_cpu_kernel(fused)
    if recompute:
        block.recompute()
    block.set_train(True)
    assert block.norm_depthwise.applies(block.conv[1], block.conv[3]) == fused
    assert block.norm_project.applies(block.conv[4], block.conv[6]) == (
        fused and cpu_kernels_enabled('conv')
    )
    step = nn.TrainOneStepCell(squared_sum_loss(block), nn.SGD(block.trainable_params(), 0.01))
    x = ms.Tensor(np.random.default_rng(3).normal(size=(2, 8, 9, 11)).astype(np.float32))
    for _ in range(steps):
        step(x)
    return {p.name: p.asnumpy() for p in block.get_parameters()}


@pytest.mark.parametrize('recompute', [False, True])
def test_fused_block_trains_in_graph_mode_as_unfused_with_one_moving_update_per_step(recompute):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        fused, apart = train_block(True, recompute), train_block(False, False)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert fused.keys() == apart.keys()
    for name in fused:
        np.testing.assert_allclose(fused[name], apart[name], rtol=1e-5, atol=1e-6, err_msg=name)
    moving_mean = next(v for k, v in apart.items() if k.endswith('conv.1.moving_mean'))
    assert not np.allclose(moving_mean, 0.0)  # the statistics did move


def fusions(block):
    """Which of the block's two fusions apply now: (depthwise, projection)."""
    c = block.conv
    return (
        block.norm_depthwise.applies(c[1], c[3]),
        block.norm_project.applies(c[4], c[6]),
    )


def test_fusion_runs_only_while_training_with_both_layers_on_their_kernels():
    has_conv = cpu_kernels_enabled('conv')
    block = InvertedResidual(8, 8, 1, 6)
    block.set_train(True)
    assert fusions(block) == (True, has_conv)
    block.set_train(False)
    assert fusions(block) == (False, False)  # inference: the moving statistics
    block.set_train(True)
    set_cpu_kernels(block, True, {'depthwise', 'conv'})  # BatchNorms on MindSpore's operators
    assert fusions(block) == (False, False)
    set_cpu_kernels(block, True, {'depthwise', 'norm'})  # no oneDNN convolutions
    assert fusions(block) == (True, False)
    set_cpu_kernels(block, True)
    assert fusions(block) == (True, has_conv)
    block.set_train(False)
    fuse_conv_bn(block)  # folded for inference: each BatchNorm's place is an Identity
    block.set_train(True)
    assert fusions(block) == (False, False)


def test_block_without_expansion_fuses_its_projection_alone():
    block = InvertedResidual(8, 8, 1, 1, keep_t1_expand=False)
    assert block.norm_depthwise is None
    block.set_train(True)
    assert block.norm_project.applies(block.conv[1], block.conv[3]) == cpu_kernels_enabled('conv')
    x = ms.Tensor(np.random.default_rng(0).normal(size=(2, 8, 5, 5)).astype(np.float32))
    fused = block(x).asnumpy()
    block.norm_project.set_cpu_kernel(False)
    np.testing.assert_allclose(fused, block(x).asnumpy(), rtol=1e-5, atol=1e-5)
