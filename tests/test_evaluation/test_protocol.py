"""The test protocols against independent re-computations with cv2/NumPy: long_side (resize, pad,
network, crop, resize back), clamp on and off, horizontal-flip and multi-scale averaging, and the
memory guard for photos too large to run at full size."""

import logging

import cv2
import mindspore as ms
import numpy as np
import pytest

from shmatting.evaluation import predict_image, protocol_name
from shmatting.models import build_model
from tests.test_models.utils import make_input_sensitive, zoo_config


@pytest.fixture(scope='module')
def model():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    net = build_model(zoo_config())
    make_input_sensitive(net)
    net.set_train(False)
    return net


@pytest.fixture(scope='module')
def image():
    return np.random.default_rng(3).uniform(-0.6, 0.6, (3, 50, 83)).astype(np.float32)


def network(model, chw):
    """The model on one C x H x W input whose sides are multiples of 16: (alpha, logits)."""
    logits, alpha = model(ms.Tensor(chw[None]))
    return alpha.asnumpy()[0, 0], logits.asnumpy()[0]


def hwc_resize(chw, w, h):
    return cv2.resize(
        np.ascontiguousarray(chw.transpose(1, 2, 0)), (w, h), interpolation=cv2.INTER_CUBIC
    ).transpose(2, 0, 1)


def test_long_side_is_resize_pad_network_crop_resize_back(model, image):
    # 83 x 50 capped at 40: 40 x 24 (rounded), padded to 48 x 32, cropped, back to 83 x 50
    small = hwc_resize(image, 40, 24)
    padded = np.pad(small, ((0, 0), (0, 8), (0, 8)), mode='edge')
    alpha, logits = network(model, padded)
    expected = cv2.resize(alpha[:24, :40], (83, 50), interpolation=cv2.INTER_CUBIC)
    cfg = dict(resize='long_side', long_side=40)
    got, classes = predict_image(model, image, dict(cfg, clamp=False))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.min() < 0 or got.max() > 1  # bicubic overshoot: what clamp=False keeps
    clamped, _ = predict_image(model, image, cfg)
    np.testing.assert_allclose(clamped, np.clip(expected, 0, 1), atol=1e-6)
    nearest = cv2.resize(
        logits[:, :24, :40].argmax(0).astype(np.uint8), (83, 50), interpolation=cv2.INTER_NEAREST
    )
    assert np.array_equal(classes, nearest)
    assert protocol_name(cfg) == 'long_side 40, clamp'


def test_flip_averages_with_the_flipped_prediction_flipped_back(model, image):
    img = image[:, :48, :80]  # multiples of 16: pad adds nothing
    straight, logits = network(model, img)
    mirrored, mlogits = network(model, np.ascontiguousarray(img[:, :, ::-1]))
    expected = np.clip((straight + mirrored[:, ::-1]) / 2, 0, 1)
    got, classes = predict_image(model, img, dict(resize='pad', flip=True))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - np.clip(straight, 0, 1)).max() > 1e-3  # the flip changed something

    def softmax(x):
        e = np.exp(x - x.max(0))
        return e / e.sum(0)

    probs = (softmax(logits) + softmax(mlogits)[:, :, ::-1]) / 2
    assert (classes == probs.argmax(0)).mean() > 0.999
    assert protocol_name(dict(resize='pad', flip=True)) == 'pad, clamp, flip'


def test_scales_average_the_network_at_each_scale(model, image):
    img = image[:, :48, :80]
    cfg = dict(resize='pad', scales=[0.5, 1.0], clamp=False)
    half = np.pad(hwc_resize(img, 40, 24), ((0, 0), (0, 8), (0, 8)), mode='edge')
    a_half = cv2.resize(network(model, half)[0][:24, :40], (80, 48), interpolation=cv2.INTER_CUBIC)
    a_full = network(model, img)[0]
    got, _ = predict_image(model, img, cfg)
    np.testing.assert_allclose(got, (a_half + a_full) / 2, atol=1e-5)
    assert protocol_name(cfg) == 'pad, no clamp, scales 0.5/1'
    with pytest.raises(ValueError, match='not squash'):
        predict_image(model, img, dict(resize='squash', scales=[1.0, 2.0]))


def test_a_photo_too_large_for_memory_runs_smaller_with_a_warning(model, image, caplog):
    cfg = dict(resize='pad', max_pixels=32 * 32)  # as if memory held 1024 pixels of network
    with caplog.at_level(logging.WARNING, logger='shmatting'):
        got, classes = predict_image(model, image, cfg)
    assert got.shape == (50, 83) and classes.shape == (50, 83)
    assert "under the 'pad' protocol needs about" in caplog.text and 'instead' in caplog.text
    assert 'test_cfg.max_pixels' in caplog.text
    scale = (32 * 32 / (50 * 83)) ** 0.5
    h, w = int(50 * scale), int(83 * scale)
    small = hwc_resize(image, w, h)
    pad = ((0, 0), (0, -h % 16), (0, -w % 16))
    expected = cv2.resize(
        network(model, np.pad(small, pad, mode='edge'))[0][:h, :w],
        (83, 50),
        interpolation=cv2.INTER_CUBIC,
    )
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1e-6)


def test_squash_is_resize_network_resize_back(model, image):
    alpha, logits = network(model, hwc_resize(image, 32, 32))
    expected = cv2.resize(alpha, (83, 50), interpolation=cv2.INTER_CUBIC)
    got, classes = predict_image(model, image, dict(resize='squash', size=32, clamp=False))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert classes.shape == (50, 83)
    rect, _ = predict_image(model, image, dict(resize='squash', size=(32, 48), clamp=False))
    alpha2 = network(model, hwc_resize(image, 48, 32))[0]
    np.testing.assert_allclose(
        rect, cv2.resize(alpha2, (83, 50), interpolation=cv2.INTER_CUBIC), atol=1e-6
    )
    assert protocol_name(dict(resize='squash', size=(32, 48))) == 'squash 32x48, clamp'


def test_the_default_pixel_budget_comes_from_the_available_memory():
    from shmatting.evaluation.protocol import BYTES_PER_PIXEL, pixel_budget

    info = dict(line.split(':', 1) for line in open('/proc/meminfo'))
    available = int(info['MemAvailable'].split()[0]) * 1024
    budget = pixel_budget({})
    assert abs(budget - 0.8 * available / BYTES_PER_PIXEL) < 0.05 * budget
    assert pixel_budget(dict(max_pixels=1000)) == 1000


@pytest.mark.parametrize('scales', [[0.0], [1.0, -0.5]])
def test_a_scale_that_is_not_positive_is_refused(model, image, scales):
    with pytest.raises(ValueError, match='test_cfg.scales must be positive'):
        predict_image(model, image, dict(resize='pad', scales=scales))
