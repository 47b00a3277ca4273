import mindspore as ms
import numpy as np
import pytest

from shmatting.models.layers import ConvTranspose2dK5S2, MaxPool3x3S2
from shmatting.ops import cpu_kernels_enabled
from tests.test_models.test_layers.test_same_conv import outputs_and_grads
from tests.test_models.zoo_numpy_reference import conv_transpose_k5s2p2op1, maxpool3s2p1


@pytest.mark.parametrize('kernel', [False, True])
def test_transposed_conv_doubles_size_exactly(kernel):
    """Both forms (oneDNN's kernel, MindSpore's Conv2DTranspose) against a NumPy oracle."""
    if kernel and not cpu_kernels_enabled('conv'):
        pytest.skip('the oneDNN convolution kernels are unavailable')
    rng = np.random.default_rng(0)
    layer = ConvTranspose2dK5S2(4, 3, 5)
    layer.set_cpu_kernel(kernel)
    assert layer.use_cpu_kernel == kernel
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


@pytest.mark.skipif(not cpu_kernels_enabled('conv'), reason='oneDNN kernels unavailable')
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', [(2, 4, 5, 7), (1, 8, 1, 1), (1, 3, 6, 6)])
def test_transposed_conv_kernel_gradients_match_mindspore(mode, shape):
    ms.set_context(mode=mode)
    try:
        # in == out channels, as in the M-Net: MindSpore's own Conv2DTranspose gradient fails
        # shape inference when they differ
        c = shape[1]
        kernel, reference = ConvTranspose2dK5S2(c, c), ConvTranspose2dK5S2(c, c)
        reference.set_cpu_kernel(False)
        reference.weight.set_data(kernel.weight.data)
        x = ms.Tensor(np.random.default_rng(1).normal(size=shape).astype(np.float32))
        got, want = outputs_and_grads(kernel, x), outputs_and_grads(reference, x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


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


@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', [(2, 3, 9, 7), (1, 4, 10, 12), (1, 2, 1, 1)])
def test_inference_pooling_without_the_kernel_is_the_padded_pool_for_any_input(mode, shape):
    """The exported form (a one-deep MaxPool3D) pads with -inf like the training form: negative
    inputs, odd and one-pixel maps give the same values, and the gradient is the same."""
    ms.set_context(mode=mode)
    try:
        layer = MaxPool3x3S2('pad')
        layer.set_cpu_kernel(False)
        x = ms.Tensor(np.random.default_rng(2).normal(size=shape).astype(np.float32) - 1)
        layer.set_train(True)
        trained = outputs_and_grads(layer, x)
        layer.set_train(False)
        inferred = outputs_and_grads(layer, x)
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    assert np.array_equal(inferred[0], maxpool3s2p1(x.asnumpy()).astype(np.float32))
    for a, b in zip(inferred, trained):
        assert np.array_equal(a, b)


def test_inference_without_the_kernel_never_runs_the_argmax_pool():
    # MaxPool3DWithArgmax (nn.MaxPool2d's padded mode) was 11% of the exported network's time
    layer = MaxPool3x3S2('pad')
    layer.set_cpu_kernel(False)
    layer.set_train(False)
    layer.pool = None
    assert layer(ms.Tensor(np.zeros((1, 2, 6, 6), np.float32))).shape == (1, 2, 3, 3)
