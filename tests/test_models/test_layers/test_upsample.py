import mindspore as ms
import numpy as np
import pytest
from mindspore import ops

from shmatting.models.layers.upsample import BilinearUpsample2x, build_upsample
from tests.test_models.zoo_numpy_reference import upsample_bilinear2x


def upsample_on(path, channels):
    up = BilinearUpsample2x(channels)
    up.set_cpu_kernel(path == 'kernel')
    up.operator_form = path == 'ResizeBilinearV2'
    up.set_train(False)
    return up


# the kernel (where it builds), the exportable form (ONNX) and MindSpore's ResizeBilinearV2 (the
# operator form inference takes without the kernels: the exported MINDIR)
@pytest.mark.parametrize('path', ['kernel', 'exportable', 'ResizeBilinearV2'])
@pytest.mark.parametrize('mode', [ms.PYNATIVE_MODE, ms.GRAPH_MODE])
@pytest.mark.parametrize('shape', [(2, 5, 7, 9), (1, 3, 1, 4), (1, 16, 20, 20)])
def test_exact_against_interpolate_and_numpy(path, mode, shape):
    ms.set_context(mode=mode)
    try:
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        y = upsample_on(path, shape[1])(ms.Tensor(x)).asnumpy()
        ref = ops.interpolate(
            ms.Tensor(x), size=(2 * shape[2], 2 * shape[3]), mode='bilinear', align_corners=False
        ).asnumpy()
        assert y.shape == (shape[0], shape[1], 2 * shape[2], 2 * shape[3])
        assert np.abs(y - ref).max() <= 1e-6
        assert np.abs(y - upsample_bilinear2x(x.astype(np.float64))).max() <= 1e-6
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_gradient_matches_interpolate():
    x = ms.Tensor(np.random.default_rng(1).normal(size=(2, 4, 6, 5)).astype(np.float32))
    w = ms.Tensor(np.random.default_rng(2).normal(size=(2, 4, 12, 10)).astype(np.float32))
    ours, theirs = build_upsample(4, 'pixel_shuffle'), build_upsample(4, 'interpolate')
    g1 = ms.grad(lambda t: (ours(t) * w).sum())(x).asnumpy()
    g2 = ms.grad(lambda t: (theirs(t) * w).sum())(x).asnumpy()
    assert np.abs(g1 - g2).max() < 1e-5


def test_training_keeps_the_exportable_form_whose_gradient_is_tested():
    up = upsample_on('ResizeBilinearV2', 4)
    assert up.operator_form_supported
    up.set_train(True)
    x = ms.Tensor(np.random.default_rng(3).normal(size=(1, 4, 6, 5)).astype(np.float32))
    want = upsample_on('exportable', 4)(x).asnumpy()
    np.testing.assert_array_equal(up(x).asnumpy(), want)


def test_no_parameters_and_bad_impl():
    assert not list(BilinearUpsample2x(8).get_parameters())
    with pytest.raises(ValueError, match='upsample impl'):
        build_upsample(3, 'bicubic')
