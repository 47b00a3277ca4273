"""The CPU kernels against MindSpore's operators, their build cache and the on/off policy."""

import os
import shutil
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
from mindspore import nn, ops

from shmatting.models.layers.depthwise import DepthwiseConv3x3
from shmatting.models.layers.norm_act import BatchNormAct2d
from shmatting.models.layers.pooling import MaxPool3x3S2
from shmatting.models.layers.upsample import BilinearUpsample2x
from shmatting.ops import build as kernel_build
from shmatting.ops import cpu_kernels
from tests.helpers import squared_sum_loss

pytestmark = pytest.mark.skipif(
    not cpu_kernels.cpu_kernels_enabled(),
    reason=f'CPU kernels unavailable: {cpu_kernels.cpu_kernel_status()}',
)


def forward_and_grads(net, x):
    grad_fn = ms.value_and_grad(
        squared_sum_loss(net), grad_position=0, weights=net.trainable_params()
    )
    _, (dx, dws) = grad_fn(x)
    return net(x).asnumpy(), dx.asnumpy(), [d.asnumpy() for d in dws]


def assert_same_function(kernel_net, reference_net, shape, seed=0):
    x = ms.Tensor(np.random.default_rng(seed).normal(size=shape).astype(np.float32))
    y_k, dx_k, dw_k = forward_and_grads(kernel_net, x)
    y_r, dx_r, dw_r = forward_and_grads(reference_net, x)
    assert y_k.shape == y_r.shape
    np.testing.assert_allclose(y_k, y_r, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx_k, dx_r, rtol=1e-5, atol=1e-4)
    assert len(dw_k) == len(dw_r)
    for a, b in zip(dw_k, dw_r):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


# rows of 67 and 70: the backward's vectorised loops over whole rows and their remainders, odd
# and even widths (stride 2 splits them into even and odd columns). With AVX-512 the backward
# takes zero-bordered planes (depthwise_padded.h): stride 1 up to 160 columns (whole vectors; 11
# rows: a partial group of summed rows), the row kernels beyond (167); stride 2 all of them.
DEPTHWISE_SHAPES = [(2, 3, 9, 9), (1, 4, 8, 6), (2, 2, 1, 1), (1, 3, 2, 5), (3, 5, 17, 16)]
DEPTHWISE_SHAPES += [(2, 2, 5, 70), (1, 3, 6, 67), (1, 2, 11, 160), (1, 2, 4, 167)]


@pytest.mark.parametrize('stride', [1, 2])
@pytest.mark.parametrize('shape', DEPTHWISE_SHAPES)
def test_depthwise_kernel_matches_conv2d(stride, shape):
    kernel = DepthwiseConv3x3(shape[1], stride)
    reference = DepthwiseConv3x3(shape[1], stride)
    reference.set_cpu_kernel(False)
    reference.weight.set_data(kernel.weight.data)
    assert kernel.use_cpu_kernel and not reference.use_cpu_kernel
    assert_same_function(kernel, reference, shape)


def test_depthwise_row_kernels_still_match_conv2d_without_avx512(monkeypatch):
    """With AVX-512 the backward of these shapes runs on zero-bordered planes; the row kernels
    remain the path of CPUs without it: the same comparisons (and the fused BatchNorm's) in a
    process whose kernels are built for AVX2."""
    monkeypatch.setenv('SHMATTING_KERNEL_ISA', 'AVX2')
    assert not any(flag.startswith('-mavx512') for flag in kernel_build.compile_flags())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    tests = [
        f'{__file__}::test_depthwise_kernel_matches_conv2d',
        os.path.join(root, 'tests', 'test_models', 'test_layers', 'test_norm_act_fused.py')
        + '::test_fused_kernel_is_the_norm_kernel_then_the_depthwise_kernel_bit_for_bit',
    ]
    run = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', *tests],
        cwd=root,
        env=dict(os.environ),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert ' passed' in run.stdout and 'skipped' not in run.stdout


# rows of 37 and 40: the vectorised interior loops and their remainders; 2: borders only
UPSAMPLE_SHAPES = [(2, 3, 7, 6), (1, 2, 1, 1), (1, 1, 1, 5), (2, 4, 16, 16)]
UPSAMPLE_SHAPES += [(1, 2, 40, 37), (1, 1, 2, 2)]


@pytest.mark.parametrize('shape', UPSAMPLE_SHAPES)
def test_upsample_kernel_matches_exportable_form(shape):
    kernel, reference = BilinearUpsample2x(shape[1]), BilinearUpsample2x(shape[1])
    reference.set_cpu_kernel(False)
    assert kernel.use_cpu_kernel and not reference.use_cpu_kernel
    assert_same_function(kernel, reference, shape)


@pytest.mark.parametrize(
    'shape', [(2, 3, 9, 9), (1, 2, 8, 6), (2, 2, 1, 1), (1, 3, 2, 5), (2, 3, 37, 41), (1, 2, 6, 40)]
)
def test_maxpool_kernel_matches_mindspore_pooling(shape):
    kernel, reference = MaxPool3x3S2('pad'), MaxPool3x3S2('pad')
    reference.set_cpu_kernel(False)
    assert kernel.use_cpu_kernel and not reference.use_cpu_kernel
    assert not MaxPool3x3S2('zero_pad').use_cpu_kernel  # the exportable form stays as it is
    assert_same_function(kernel, reference, shape)


def test_maxpool_kernel_propagates_nan_and_routes_ties_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 3, 3] = np.nan
    y = MaxPool3x3S2('pad')(ms.Tensor(x)).asnumpy()
    assert np.isnan(y[0, 0, 1, 1]) and (y[0, 0].ravel()[:3] == 0).all()
    grad = ms.grad(MaxPool3x3S2('pad'))(ms.Tensor(np.ones((1, 1, 3, 3), np.float32))).asnumpy()
    # all-equal windows: each output's gradient lands on its window's top-left element
    np.testing.assert_array_equal(grad[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_maxpool_kernel_propagates_nan_across_wide_rows_like_a_window_max():
    """Rows wide enough for the vectorised interior loop: a NaN anywhere in a window makes that
    output NaN, the other outputs are the window's maximum (padding never wins)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(1, 2, 23, 53)).astype(np.float32)
    x.reshape(-1)[rng.choice(x.size, 12, replace=False)] = np.nan
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    want = np.full((1, 2, 12, 27), -np.inf, np.float32)
    for i in range(3):
        for j in range(3):
            want = np.fmax(want, padded[:, :, i : i + 23 : 2, j : j + 53 : 2])
    nan_windows = np.zeros_like(want, bool)
    for i in range(3):
        for j in range(3):
            nan_windows |= np.isnan(padded[:, :, i : i + 23 : 2, j : j + 53 : 2])
    want[nan_windows] = np.nan
    got = MaxPool3x3S2('pad')(ms.Tensor(x)).asnumpy()
    np.testing.assert_array_equal(got, want)


def first_max_routing(x, dy):
    """dx of a 3x3 / 2 / pad 1 max pool in NumPy: each output's gradient on the first element
    (row, then column order) of its window equal to its maximum, or its first NaN."""
    n, c, h, w = x.shape
    oh, ow = dy.shape[2:]
    dx = np.zeros_like(x, dtype=np.float64)
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        rows = range(max(0, 2 * i - 1), min(h, 2 * i + 2))
        cols = range(max(0, 2 * j - 1), min(w, 2 * j + 2))
        window = [(r, q) for r in rows for q in cols]
        values = np.array([x[b, ch, r, q] for r, q in window])
        nan = np.isnan(values)
        k = int(np.argmax(nan)) if nan.any() else int(np.argmax(values == values.max()))
        dx[b, ch][window[k]] += dy[b, ch, i, j]
    return dx


# odd and even sizes: with an even height the last input row is read by the last output row only
@pytest.mark.parametrize('height, width', [(13, 45), (14, 46)])
def test_maxpool_gradient_goes_to_the_first_maximum_or_nan_across_wide_rows(height, width):
    rng = np.random.default_rng(6)
    x = (np.round(rng.normal(size=(2, 2, height, width)) * 2) / 2).astype(np.float32)  # ties
    x.reshape(-1)[rng.choice(x.size, 10, replace=False)] = np.nan
    dy = rng.normal(size=(2, 2, (height + 1) // 2, (width + 1) // 2)).astype(np.float32)
    grad = ms.grad(lambda t: (MaxPool3x3S2('pad')(t) * ms.Tensor(dy)).sum())(ms.Tensor(x))
    np.testing.assert_allclose(grad.asnumpy(), first_max_routing(x, dy), rtol=1e-6, atol=1e-6)


def make_bn_pair(channels, act, seed=0):
    rng = np.random.default_rng(seed)
    gamma = ms.Tensor(rng.normal(1.0, 0.5, channels).astype(np.float32))
    beta = ms.Tensor(rng.normal(0.5, 1.0, channels).astype(np.float32))
    kernel, reference = BatchNormAct2d(channels, act=act), BatchNormAct2d(channels, act=act)
    reference.set_cpu_kernel(False)
    for net in (kernel, reference):
        net.gamma.set_data(gamma)
        net.beta.set_data(beta)
    return kernel, reference


@pytest.mark.parametrize('act', [None, 'relu', 'relu6'])
@pytest.mark.parametrize('shape', [(4, 3, 9, 7), (2, 2, 1, 1), (1, 5, 33, 40)])
def test_batch_norm_act_kernel_matches_batchnorm_then_activation(act, shape):
    kernel, reference = make_bn_pair(shape[1], act)
    assert kernel.use_cpu_kernel and not reference.use_cpu_kernel
    rng = np.random.default_rng(1)
    x = ms.Tensor((rng.normal(size=shape) * 3 + 2).astype(np.float32))
    for net in (kernel, reference):
        net.set_train(True)
    assert_same_function(kernel, reference, shape, seed=2)  # training: batch statistics
    for _ in range(3):  # moving statistics, updated once per forward
        kernel(x)
        reference(x)
    np.testing.assert_allclose(
        kernel.moving_mean.asnumpy(), reference.moving_mean.asnumpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        kernel.moving_variance.asnumpy(), reference.moving_variance.asnumpy(), rtol=1e-5, atol=1e-6
    )
    for net in (kernel, reference):
        net.set_train(False)
    np.testing.assert_allclose(kernel(x).asnumpy(), reference(x).asnumpy(), rtol=1e-5, atol=1e-5)
    assert_same_function(kernel, reference, shape, seed=3)  # gradients in eval mode too


def packed_around(center, size, rng):
    """``size`` float32 values with mean ~``center``: half at ``center +- 1``, half ``center`` plus
    or minus a few thousand ulps, where the normalised value is within rounding of zero."""
    center = np.float32(center)
    quarter = size // 4
    spread = np.repeat(np.array([center + 1, center - 1], np.float32), quarter)
    steps = np.arange(-quarter, quarter, dtype=np.float32) * np.spacing(center)
    return rng.permutation(np.concatenate([spread, center + steps]).astype(np.float32))


@pytest.mark.parametrize('act', ['relu', 'relu6'])
def test_batch_norm_backward_never_passes_gradient_where_the_forward_clamped(act):
    """The backward recomputes the activation's mask from x; a rounding different from the
    forward's would let gradient through elements the forward clamped (or block others). Values
    packed ulp by ulp around the clamping points: with an all-ones output gradient, dbeta of each
    channel must count exactly the outputs strictly inside the activation's open range."""
    ms.set_context(mode=ms.PYNATIVE_MODE)
    train = cpu_kernels.batch_norm_act_ops(act)[0]
    rng = np.random.default_rng(0)
    x = np.stack([packed_around(c, 2 * 64 * 64, rng) for c in (0.3, -1.7, 0.3)], axis=0)
    x = x.reshape(3, 2, 64, 64).transpose(1, 0, 2, 3).copy()
    gamma = np.array([1.0, 3.0, 0.7], np.float32)
    beta = np.array([0.0, 6.0, 0.013], np.float32)
    consts = ms.Tensor(np.array([1e-5, 0.9, 0.1], np.float32))
    moving = [ms.Tensor(np.zeros(3, np.float32)), ms.Tensor(np.ones(3, np.float32))]
    args = [ms.Tensor(v) for v in (x, gamma, beta)] + [consts] + moving
    y = train(*args)[0].asnumpy()

    def first_output(*a):
        return train(*a)[0]

    _, dbeta = ms.grad(first_output, grad_position=(1, 2))(*args)
    inside = (y > 0) & ((y < 6) if act == 'relu6' else True)
    np.testing.assert_array_equal(dbeta.asnumpy(), inside.sum(axis=(0, 2, 3)).astype(np.float32))


def test_batch_norm_act_is_a_batchnorm_with_its_parameter_names():
    layer = BatchNormAct2d(4, act='relu6')
    assert isinstance(layer, nn.BatchNorm2d)
    assert sorted(p.name for p in layer.get_parameters()) == ['beta', 'gamma', 'mean', 'variance']
    with pytest.raises(KeyError, match="'gleu' is not in the ACTIVATIONS registry"):
        BatchNormAct2d(4, act='gleu')


def test_an_activation_the_kernel_does_not_fuse_runs_after_mindspores_batchnorm():
    layer = BatchNormAct2d(4, act=dict(type='LeakyReLU', alpha=0.1))
    assert not layer.use_cpu_kernel and layer.act_name == 'LeakyReLU'
    layer.set_train(False)
    x = ms.Tensor(np.random.default_rng(0).normal(size=(2, 4, 5, 5)).astype(np.float32))
    plain = nn.BatchNorm2d(4, eps=layer.eps)
    plain.set_train(False)
    expected = nn.LeakyReLU(0.1)(plain(x)).asnumpy()
    np.testing.assert_allclose(layer(x).asnumpy(), expected, rtol=1e-6, atol=1e-6)


def test_batch_norm_act_trains_in_graph_mode_with_one_moving_update_per_step():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        results = []
        for use_kernel in (True, False):
            net = nn.SequentialCell(
                [
                    nn.Conv2d(3, 4, 3, has_bias=False, weight_init='ones'),
                    BatchNormAct2d(4, act='relu6'),
                ]
            )
            net[1].set_cpu_kernel(use_kernel)
            net.set_train(True)
            step = nn.TrainOneStepCell(squared_sum_loss(net), nn.SGD(net.trainable_params(), 0.01))
            x = ms.Tensor(np.random.default_rng(3).random((2, 3, 8, 8)).astype(np.float32))
            for _ in range(2):
                step(x)
            results.append([p.asnumpy() for p in net.get_parameters()])
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_upsample_kernel_matches_interpolate_in_graph_mode():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        x = ms.Tensor(np.random.default_rng(1).random((2, 3, 10, 12)).astype(np.float32))
        got = BilinearUpsample2x(3)(x).asnumpy()
        want = ops.interpolate(x, size=(20, 24), mode='bilinear', align_corners=False).asnumpy()
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_depthwise_layer_keeps_conv2d_parameter_names():
    layer = DepthwiseConv3x3(8, 2)
    assert isinstance(layer, nn.Conv2d)
    assert [p.name for p in layer.get_parameters()] == ['weight']
    assert layer.weight.shape == (8, 1, 3, 3)


def test_mode_switch_and_validation(monkeypatch):
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', '0')
    assert not cpu_kernels.cpu_kernels_enabled()
    assert not DepthwiseConv3x3(4).use_cpu_kernel and not BilinearUpsample2x(4).use_cpu_kernel
    assert cpu_kernels.cpu_kernel_status().startswith('off')
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', 'yes')
    with pytest.raises(ValueError, match='SHMATTING_CPU_KERNELS must be one of auto, 0, 1'):
        cpu_kernels.cpu_kernels_enabled()


def test_parse_kernel_kinds():
    assert cpu_kernels.parse_kernel_kinds('all') == set(cpu_kernels.KERNEL_KINDS)
    assert cpu_kernels.parse_kernel_kinds('none') == set()
    assert cpu_kernels.parse_kernel_kinds(' depthwise, norm ') == {'depthwise', 'norm'}
    with pytest.raises(ValueError, match='unknown CPU kernel kind\\(s\\) gemm; choose from'):
        cpu_kernels.parse_kernel_kinds('norm,gemm')


def test_set_cpu_kernels_by_kind():
    net = nn.SequentialCell([DepthwiseConv3x3(4), BatchNormAct2d(4), MaxPool3x3S2()])
    assert cpu_kernels.set_cpu_kernels(net, True, kinds={'norm'}) == 1
    assert [cell.use_cpu_kernel for cell in net] == [False, True, False]


def test_set_cpu_kernels_switches_every_capable_layer():
    net = nn.SequentialCell(
        [DepthwiseConv3x3(4), BilinearUpsample2x(4), BatchNormAct2d(4), MaxPool3x3S2(), nn.ReLU()]
    )
    assert cpu_kernels.set_cpu_kernels(net, False) == 4
    assert not any(cell.use_cpu_kernel for cell in list(net)[:4])
    cpu_kernels.set_cpu_kernels(net, True)
    assert all(cell.use_cpu_kernel for cell in list(net)[:4])


def test_missing_compiler_falls_back_with_one_warning_or_fails_when_required(monkeypatch):
    fresh = {lib: {'path': None, 'error': None, 'warned': False} for lib in ('core', 'dnnl')}
    monkeypatch.setattr(cpu_kernels, '_STATE', fresh)
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', 'auto')  # CI runs with 1
    monkeypatch.setenv('CXX', 'no-such-compiler-xyz')
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler: 'no-such-compiler-xyz'"):
        assert not cpu_kernels.cpu_kernels_enabled()
    assert not DepthwiseConv3x3(4).use_cpu_kernel  # no second warning needed, still off
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', '1')
    with pytest.raises(RuntimeError, match='SHMATTING_CPU_KERNELS=1 but the CPU kernels are'):
        cpu_kernels.cpu_kernels_enabled()


@pytest.mark.skipif(not shutil.which('nm'), reason='no nm (binutils) here')
def test_kernel_libraries_share_no_inline_statics_with_another_build():
    """An inline function's static (a kernel's thread-local scratch) compiled as a GNU unique
    symbol is one object across every library in the process: two builds of different layouts
    loaded side by side (benchmarks/kernel_builds_ab.py) corrupted the heap that way."""
    kinds = ['core'] + (['dnnl'] if cpu_kernels.cpu_kernels_enabled('conv') else [])
    for kind in kinds:
        path = kernel_build.build_kernel_library(kind)
        nm = ['nm', '-D', '--defined-only', path]
        symbols = subprocess.run(nm, capture_output=True, text=True)
        assert symbols.returncode == 0, symbols.stderr
        unique = [line for line in symbols.stdout.splitlines() if line.split()[1:2] == ['u']]
        assert not unique, f'{kind}: {unique[:3]}'


def test_build_caches_by_content_and_reports_compile_errors(tmp_path, monkeypatch):
    monkeypatch.setenv('SHMATTING_KERNEL_CACHE', str(tmp_path / 'cache'))
    first = kernel_build.build_kernel_library()
    assert os.path.dirname(first) == str(tmp_path / 'cache')
    stamp = os.stat(first).st_mtime_ns
    assert kernel_build.build_kernel_library() == first and os.stat(first).st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / 'cache').iterdir()] == [os.path.basename(first)]

    broken = tmp_path / 'broken.cc'
    broken.write_text('int f( {\n')
    monkeypatch.setattr(kernel_build, 'SOURCE', str(broken))
    with pytest.raises(kernel_build.KernelBuildError, match='broken.cc failed \\(exit 1\\)'):
        kernel_build.build_kernel_library()
    # no half-written library left behind
    assert [p.name for p in (tmp_path / 'cache').iterdir()] == [os.path.basename(first)]


def test_without_onednn_headers_convolutions_fall_back_alone(monkeypatch):
    """The oneDNN library failing to build leaves the other kernels on and the convolutions on
    MindSpore's operators, with one warning; required kernels make it an error."""
    fresh = {lib: {'path': None, 'error': None, 'warned': False} for lib in ('core', 'dnnl')}
    monkeypatch.setattr(cpu_kernels, '_STATE', fresh)
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', 'auto')  # CI runs with 1
    monkeypatch.setenv('SHMATTING_ONEDNN_INCLUDE', '/nonexistent')

    def no_headers():
        raise kernel_build.KernelBuildError('oneDNN headers not found (test)')

    monkeypatch.setattr(kernel_build, '_onednn_include', no_headers)
    with pytest.warns(RuntimeWarning, match='oneDNN headers not found'):
        assert not cpu_kernels.cpu_kernels_enabled('conv')
    assert cpu_kernels.cpu_kernels_enabled('depthwise')
    from shmatting.models.layers import ConvTranspose2dK5S2, SameConv2d

    assert not SameConv2d(4, 4, 3).use_cpu_kernel and not ConvTranspose2dK5S2(4, 4).use_cpu_kernel
    assert DepthwiseConv3x3(4).use_cpu_kernel
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', '1')
    with pytest.raises(RuntimeError, match='SHMATTING_CPU_KERNELS=1 but the CPU kernels are'):
        cpu_kernels.cpu_kernels_enabled('conv')


def test_a_library_newer_than_the_headers_threadpool_interface_is_refused(monkeypatch, tmp_path):
    """oneDNN 3.11 added a virtual method to its thread-pool interface: a pool compiled with
    older headers would be called through the wrong slot, so that build is refused."""
    include = tmp_path / 'include' / 'oneapi' / 'dnnl'
    include.mkdir(parents=True)
    (include / 'dnnl.hpp').write_text('')
    (include / 'dnnl_version.h').write_text('#define DNNL_VERSION_MINOR 2\n')
    monkeypatch.setenv('SHMATTING_ONEDNN_INCLUDE', str(tmp_path / 'include'))
    monkeypatch.setattr(kernel_build, '_library_minor', lambda lib: 11)
    with pytest.raises(kernel_build.KernelBuildError, match='older than 3.11'):
        kernel_build.onednn_paths()


def test_a_changed_shared_header_rebuilds_the_library(tmp_path, monkeypatch):
    monkeypatch.setenv('SHMATTING_KERNEL_CACHE', str(tmp_path / 'cache'))
    first = kernel_build.build_kernel_library()
    header = tmp_path / 'batch_norm.h'
    header.write_bytes(open(kernel_build.HEADERS[0], 'rb').read() + b'\n// changed\n')
    monkeypatch.setattr(kernel_build, 'HEADERS', (str(header),))
    assert kernel_build.build_kernel_library() != first  # a stale library is never reused
