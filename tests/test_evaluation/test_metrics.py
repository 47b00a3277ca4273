"""Golden values of the metrics on hand-built mattes, in both conventions."""

import numpy as np
import pytest

from shmatting.evaluation import (
    MAD,
    MSE,
    SAD,
    ConnectivityError,
    GradientError,
    TrimapIoU,
    build_metrics,
)
from shmatting.evaluation import functional as F

H, W = 40, 50


def trimap_with_unknown(rows=slice(10, 20)):
    t = np.zeros((H, W), np.uint8)
    t[rows] = 128
    return t


def test_identity_is_zero_everywhere():
    gt = np.random.default_rng(0).uniform(0, 1, (H, W))
    tri = trimap_with_unknown()
    for metric in (SAD, MSE, MAD, GradientError, ConnectivityError):
        for convention in ('p3m', 'dim'):
            m = metric(convention=convention)
            assert m.process(gt, gt.copy(), gt_trimap=tri) == 0.0


def test_constant_offset():
    gt = np.full((H, W), 0.5)
    pred = gt + 0.1
    tri = trimap_with_unknown()
    n_u = int((tri == 128).sum())
    assert SAD().process(pred, gt) == pytest.approx(0.1 * H * W / 1000)
    assert SAD(convention='dim').process(pred, gt, gt_trimap=tri) == pytest.approx(0.1 * n_u / 1000)
    assert MSE().process(pred, gt) == pytest.approx(0.01)
    assert MSE(convention='dim').process(pred, gt, gt_trimap=tri) == pytest.approx(0.01)
    assert MAD().process(pred, gt) == pytest.approx(0.1)
    # a constant offset has no gradient: Grad is 0 in p3m; dim's min-max turns both into zeros
    assert GradientError().process(pred, gt) == pytest.approx(0.0, abs=1e-12)
    assert GradientError(convention='dim').process(pred, gt, gt_trimap=tri) == 0.0


def test_ramp_gradient_in_both_conventions():
    x = np.tile(np.linspace(0, 1, W), (H, 1))  # unit slope of 1/(W-1) per pixel
    flat = np.full((H, W), 0.5)
    slope = 1 / (W - 1)
    # p3m: |grad| of a ramp is its slope away from the borders (a true derivative; the 13-tap
    # truncation loses 1e-4 of it)
    mag = F.p3m_gradient_magnitude(x)
    assert np.allclose(mag[:, 8:-8], slope, rtol=2e-4)
    assert GradientError().process(flat, x) == pytest.approx((mag**2).sum() / 10)
    # dim: min-max keeps the ramp; the L2-normalised 9x9 kernel amplifies a unit slope ~9.68x
    dmag = F.dim_gradient_magnitude(x)
    assert dmag[H // 2, W // 2] / slope == pytest.approx(9.68, abs=0.01)
    tri = trimap_with_unknown()
    expected_dim = (dmag[tri == 128] ** 2).sum() / 1000
    assert GradientError(convention='dim').process(flat, x, gt_trimap=tri) == pytest.approx(
        expected_dim
    )


def test_p3m_gradient_matches_scipy():
    scipy_ndimage = pytest.importorskip('scipy.ndimage')
    a = np.random.default_rng(1).uniform(0, 1, (23, 31))
    gx = scipy_ndimage.gaussian_filter(a, 1.4, order=[0, 1])
    gy = scipy_ndimage.gaussian_filter(a, 1.4, order=[1, 0])
    assert np.abs(F.p3m_gradient_magnitude(a) - np.sqrt(gx**2 + gy**2)).max() < 1e-12


def test_step_edge():
    gt = np.zeros((H, W))
    gt[:, 25:] = 1.0
    pred = np.zeros((H, W))
    pred[:, 24:] = 1.0  # shifted by one column
    assert SAD().process(pred, gt) == pytest.approx(H / 1000)
    assert MAD().process(pred, gt) == pytest.approx(1 / W)
    assert GradientError().process(pred, gt) > 0
    # both are binary and opaque where they agree: phi differs only on the shifted column
    conn = ConnectivityError().process(pred, gt)
    assert conn == pytest.approx(H * 1.0 / 1000)


def test_hole_connectivity():
    gt = np.ones((H, W))
    pred = np.ones((H, W))
    pred[15:25, 20:30] = 0.5  # a semi-transparent hole
    # largest component at levels > 0.5 excludes the hole: l = 0.5 there, d = 0 for pred, 0.5 gt
    expected = 100 * 0.5 / 1000
    assert ConnectivityError().process(pred, gt) == pytest.approx(expected)
    tri = np.zeros((H, W), np.uint8)
    tri[15:25, 20:25] = 128
    assert ConnectivityError(convention='dim').process(pred, gt, gt_trimap=tri) == pytest.approx(
        50 * 0.5 / 1000
    )


def test_153_over_255_passes_the_0_6_threshold():
    gt = np.zeros((8, 8), np.uint8)
    gt[2:6, 2:6] = 153  # exactly 0.6
    pred = np.zeros((8, 8), np.uint8)
    pred[2:6, 2:6] = 153
    pred[2, 2] = 160
    # with float64 arange thresholds (0.6000000000000001) the 153 pixels would drop out at 0.6
    l_cut = F.connectivity_error(pred / 255.0, gt / 255.0)
    assert l_cut == pytest.approx(0.0)
    assert np.arange(0, 1.1, 0.1)[6] > 153 / 255  # the trap this avoids
    assert ConnectivityError().process(pred, gt) == pytest.approx(0.0)


def test_dim_without_trimap_uses_a_generated_one():
    gt = np.zeros((H, W))
    gt[10:30, 10:40] = 1.0
    pred = gt.copy()
    pred[0, 0] = 1.0  # an error far from the boundary: outside the generated unknown band
    assert SAD(convention='dim', trimap_kernel=5).process(pred, gt) == 0.0
    pred2 = gt.copy()
    pred2[10, 20] = 0.0  # on the boundary: inside the band
    assert SAD(convention='dim', trimap_kernel=5).process(pred2, gt) == pytest.approx(1 / 1000)


def test_inputs_are_never_modified_and_uint8_is_scaled():
    gt = (np.random.default_rng(2).uniform(0, 1, (H, W)) * 255).astype(np.uint8)
    pred = gt.copy()
    pred[0] = 0
    g0, p0 = gt.copy(), pred.copy()
    tri = trimap_with_unknown()
    for metric in build_metrics(['SAD', 'MSE', 'MAD', 'GradientError', 'ConnectivityError']):
        metric.process(pred, gt, gt_trimap=tri)
    assert np.array_equal(gt, g0) and np.array_equal(pred, p0)
    assert SAD().process(pred, gt) == pytest.approx(np.abs(pred / 255 - gt / 255).sum() / 1000)


def test_state_all_reduces_and_averages_over_images():
    a, b = SAD(), SAD()
    a.process(np.ones((2, 2)), np.zeros((2, 2)))
    b.process(np.zeros((2, 2)), np.zeros((2, 2)))
    b.process(np.ones((2, 2)) * 0.5, np.zeros((2, 2)))
    assert SAD().compute(a.state + b.state) == pytest.approx((4 + 0 + 2) / 1000 / 3)


def test_trimap_iou():
    gt = np.array([[0, 1, 2, 2]])
    pred = np.array([[0, 1, 1, 2]])
    m = TrimapIoU()
    assert m.process(pred_trimap=pred, gt_trimap=gt) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m.rule == 'greater' and SAD.rule == 'less'
    assert TrimapIoU().process(
        pred_trimap=pred, gt_trimap=np.array([[0, 128, 255, 255]])
    ) == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_shape_mismatch_and_bad_convention():
    with pytest.raises(ValueError, match='original resolution'):
        SAD().process(np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match='convention'):
        SAD(convention='rvm')


@pytest.mark.parametrize('values', [(0.16, 0.2, 0.25, 0.29), (0.151, 0.299)])
def test_connectivity_counts_differences_between_theta_and_0_3_exactly(values):
    """Golden case: isolated pixels off the opaque region, each alpha strictly between theta=0.15
    and 0.3 in the prediction and 0 in the ground truth. Each lies outside every connected level
    (l = 0), so d = alpha >= 0.15 and phi = 1 - alpha: Conn = sum(alpha) / 1000. Any other theta
    in (0.15, 0.3] drops some of them."""
    gt = np.zeros((H, W))
    gt[:, :10] = 1.0  # the opaque source region Omega
    pred = gt.copy()
    for i, v in enumerate(values):
        pred[5 + 3 * i, 30] = v  # isolated: never 4-connected to Omega
    assert ConnectivityError().process(pred, gt) == pytest.approx(sum(values) / 1000, abs=1e-12)
    below = pred.copy()
    below[5, 30] = 0.149  # under theta: phi stays 1, the pixel adds nothing
    expected = (sum(values) - values[0]) / 1000
    assert ConnectivityError().process(below, gt) == pytest.approx(expected, abs=1e-12)


def test_dim_region_from_class_index_and_from_0_128_255_trimaps_agree():
    rng = np.random.default_rng(5)
    gt, pred = rng.random((H, W)), rng.random((H, W))
    index = rng.integers(0, 3, (H, W))
    encoded = np.array([0, 128, 255], np.uint8)[index]
    for metric in (SAD, MSE, GradientError, ConnectivityError):
        a = metric(convention='dim').process(pred, gt, gt_trimap=index)
        b = metric(convention='dim').process(pred, gt, gt_trimap=encoded)
        assert a == pytest.approx(b) and a > 0, metric.__name__
    unknown_only = SAD(convention='dim').process(pred, gt, gt_trimap=index)
    assert unknown_only == pytest.approx(np.abs(pred - gt)[index == 1].sum() / 1000)


def test_trimap_iou_takes_the_loaders_one_channel_maps():
    rng = np.random.default_rng(6)
    gt, pred = rng.integers(0, 3, (H, W)), rng.integers(0, 3, (H, W))
    assert TrimapIoU().process(pred_trimap=pred, gt_trimap=gt[None]) == pytest.approx(
        TrimapIoU().process(pred_trimap=pred, gt_trimap=gt)
    )
