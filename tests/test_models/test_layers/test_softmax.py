"""ChannelSoftmax and SoftmaxNLL: the CPU kernels compute what the element-wise form and float64
NumPy compute, with the same gradients, in PyNative and GRAPH mode."""

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn

from shmatting.models.layers import ChannelSoftmax, SoftmaxNLL
from shmatting.ops import cpu_kernels_enabled

PATHS = [False] + ([True] if cpu_kernels_enabled('softmax') else [])


def numpy_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def numpy_nll(x, label):
    log_p = np.log(numpy_softmax(x))
    valid = (label >= 0) & (label < x.shape[1])
    picked = np.take_along_axis(log_p, np.where(valid, label, 0)[:, None], axis=1)[:, 0]
    return np.where(valid, -picked, 0.0)


class Objective(nn.Cell):
    """A scalar that weighs every output differently, so each gradient entry is checked."""

    def __init__(self, softmax, nll, weight):
        super().__init__()
        self.softmax = softmax
        self.nll = nll
        self.weight = ms.Tensor(weight)

    def construct(self, x, label):
        return (self.softmax(x) * self.weight).sum() + (self.nll(x, label) ** 2).sum()


def run(kernel, x, label, mode):
    ms.set_context(mode=mode)
    try:
        softmax, nll = ChannelSoftmax(), SoftmaxNLL(x.shape[1])
        for layer in (softmax, nll):
            layer.set_cpu_kernel(kernel)
            assert layer.use_cpu_kernel == kernel
        weight = np.random.default_rng(3).normal(size=x.shape).astype(np.float32)
        objective = Objective(softmax, nll, weight)
        xt, lt = ms.Tensor(x), ms.Tensor(label)
        grad = ms.grad(objective, 0)(xt, lt).asnumpy()
        return softmax(xt).asnumpy(), nll(xt, lt).asnumpy(), grad
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def inputs(shape, scale, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * scale).astype(np.float32)
    # -1 and C are outside the classes: no loss, no gradient
    label = rng.integers(-1, shape[1] + 1, size=(shape[0],) + shape[2:]).astype(np.int32)
    return x, label


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('kernel', PATHS)
@pytest.mark.parametrize('shape', [(2, 3, 5, 7), (1, 3, 1, 300), (3, 4, 17, 19)])
def test_softmax_and_nll_equal_float64_numpy(mode, kernel, shape):
    x, label = inputs(shape, scale=8.0)
    probs, nll, _ = run(kernel, x, label, mode)
    rtol = 2e-6 if kernel else 5e-5  # MindSpore's CPU Exp is less exact than the kernel's
    np.testing.assert_allclose(probs, numpy_softmax(x.astype(np.float64)), rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(nll, numpy_nll(x.astype(np.float64), label), rtol=rtol, atol=1e-6)


@pytest.mark.skipif(len(PATHS) < 2, reason='the CPU kernels are unavailable')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('scale', [1.0, 60.0])
def test_kernel_gradients_equal_the_element_wise_form(mode, scale):
    x, label = inputs((2, 3, 9, 11), scale, seed=1)
    _, _, want = run(False, x, label, mode)
    _, _, got = run(True, x, label, mode)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize('kernel', PATHS)
def test_out_of_range_labels_add_no_loss_and_no_gradient(kernel):
    x, _ = inputs((1, 3, 2, 2), scale=1.0)
    label = np.array([[[-1, 3], [7, -5]]], np.int32)
    _, nll, _ = run(kernel, x, label, ms.PYNATIVE_MODE)
    assert np.all(nll == 0)
    nll_only = SoftmaxNLL(3)
    nll_only.set_cpu_kernel(kernel)
    grad = ms.grad(lambda t: nll_only(t, ms.Tensor(label)).sum())(ms.Tensor(x)).asnumpy()
    assert np.all(grad == 0)


@pytest.mark.parametrize('kernel', PATHS)
def test_logits_far_apart_give_finite_probabilities_and_loss(kernel):
    x = np.array([[[[0.0]], [[-200.0]], [[90.0]]]], np.float32)
    label = np.array([[[1]]], np.int32)
    probs, nll, grad = run(kernel, x, label, ms.PYNATIVE_MODE)
    assert np.isfinite(probs).all() and np.isfinite(nll).all() and np.isfinite(grad).all()
    np.testing.assert_allclose(probs[0, :, 0, 0], [0.0, 0.0, 1.0], atol=1e-30)
    np.testing.assert_allclose(nll, [[[290.0]]], rtol=1e-6)


@pytest.mark.parametrize('kernel', PATHS)
def test_a_nan_logit_gives_nan_at_its_pixel_only(kernel):
    x, label = inputs((1, 3, 2, 3), scale=1.0)
    label = np.clip(label, 0, 2)
    x[0, 1, 1, 2] = np.nan
    probs, nll, _ = run(kernel, x, label, ms.PYNATIVE_MODE)
    assert np.isnan(probs[0, :, 1, 2]).all() and np.isnan(nll[0, 1, 2])
    assert np.isfinite(np.delete(probs.reshape(3, -1), 5, axis=1)).all()
    assert np.isfinite(np.delete(nll.reshape(-1), 5)).all()
