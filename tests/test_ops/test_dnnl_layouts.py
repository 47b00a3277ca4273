"""The activations' layouts the oneDNN kernels ask for: every dense and transposed convolution
shape of the zoo network, forward and both gradients, read off oneDNN's own log
(``ONEDNN_VERBOSE``). A layout oneDNN has only its reference kernel for would be 100-1000x slower
(a 6->16 3x3 layer forced onto 8-channel blocks took 13 s; a transposed convolution forced onto
16-channel blocks without AVX-512 ran as ``conv:any+ref:any``, a reference kernel inside a composed
implementation); the kernels then fall back to oneDNN's own choice. On an AVX-512 CPU each test
also runs with the kernels capped at AVX2 (``SHMATTING_KERNEL_ISA=AVX2``, what a CPU without
AVX-512 runs). Transposed convolutions run on blocks of the kernels' vector width (not NHWC); on
AVX-512 the measured preferences hold: maps of 24 channels on 8-channel blocks where AVX-512 runs
on 256-bit units (AMD Zen 4: padded 16-channel ones reorder on oneDNN's generic kernel) and on
oneDNN's padded 16-channel blocks elsewhere (faster with full-width units)."""

import re

import pytest

from shmatting.ops import build as kernel_build
from shmatting.ops import cpu_kernels_enabled
from tests.helpers import avx512_on_256_bit_units, run_with_kernels

pytestmark = pytest.mark.skipif(
    not cpu_kernels_enabled('conv'), reason='the oneDNN kernels do not build here'
)

# (kind, in, out, kernel, size): the zoo network's shapes at a small size
LAYERS = [
    ('conv', 3, 32, 3, 12),
    ('conv', 6, 16, 3, 12),
    ('conv', 16, 16, 3, 12),
    ('conv', 24, 16, 3, 12),
    ('conv', 24, 24, 3, 10),
    ('conv', 32, 24, 3, 10),
    ('conv', 32, 32, 3, 10),
    ('conv', 96, 32, 3, 8),
    ('conv', 320, 96, 3, 6),
    ('conv', 128, 128, 3, 6),
    ('deconv', 16, 16, 5, 8),
    ('deconv', 128, 128, 5, 4),
]

PROBE = """
import sys
import numpy as np
import mindspore as ms
import shmatting
from mindspore import ops
from benchmarks.kernel_layers import forward_backward_cell
from shmatting.models.layers import ConvTranspose2dK5S2, SameConv2d
from shmatting.ops.cpu_kernels import dnnl_kernel_isa

for kind, cin, cout, k, size in LAYERS:
    net = SameConv2d(cin, cout, k) if kind == 'conv' else ConvTranspose2dK5S2(cin, cout)
    assert net.use_cpu_kernel
    x = ms.Tensor(np.random.default_rng(0).normal(size=(2, cin, size, size)).astype(np.float32))
    print(f'layer {kind} {cin} {cout}', flush=True)
    y = net(x)
    forward_backward_cell(net)(x, ops.ones_like(y))[0][0].asnumpy()
print('isa', dnnl_kernel_isa(), flush=True)
"""


def primitives_by_layer(isa_env):
    """{(kind, in, out): [(primitive, implementation, propagation, layouts), ...]} and the
    kernels' ISA, from one process running every layer's forward and gradients with oneDNN's log
    on (``isa_env`` added to its environment)."""
    stdout = run_with_kernels(f'LAYERS = {LAYERS!r}\n' + PROBE, ONEDNN_VERBOSE='1', **isa_env)
    layers, isa, current = {}, None, None
    for line in stdout.splitlines():
        if line.startswith('layer '):
            _, kind, cin, cout = line.split()
            current = (kind, int(cin), int(cout))
            layers[current] = []
        elif line.startswith('isa '):
            isa = line.split()[1]
        elif line.startswith('onednn_verbose') and ',exec,' in line and current is not None:
            fields = line.split(',')
            at = fields.index('exec')
            layers[current].append((fields[at + 2], fields[at + 3], fields[at + 4], fields[at + 5]))
    return layers, isa


# without AVX-512 the kernels run AVX2 anyway: the capped run would repeat the native one
ISA_RUNS = ['native', 'AVX2'] if 'avx512f' in kernel_build._cpu_flags() else ['native']


@pytest.fixture(scope='module', params=ISA_RUNS)
def logged(request):
    env = {} if request.param == 'native' else {'SHMATTING_KERNEL_ISA': 'AVX2'}
    return primitives_by_layer(env)


def runs_a_reference_kernel(implementation):
    """Whether oneDNN's implementation name has a reference kernel in it, alone (``ref:any``) or
    as a part of a composed one (``conv:any+ref:any``)."""
    return any(part.startswith('ref') for part in implementation.split('+'))


def test_no_layer_runs_on_onednns_reference_kernel(logged):
    layers, _ = logged
    assert len(layers) == len(LAYERS)
    for layer, prims in layers.items():
        assert prims, f'{layer}: no oneDNN primitive ran'
        slow = [p for p in prims if runs_a_reference_kernel(p[1])]
        assert not slow, f'{layer} runs on oneDNN reference kernels: {slow}'


def test_measured_layout_preferences_hold_on_avx512(logged):
    layers, isa = logged
    if isa != 'avx512_core':
        pytest.skip(f'the kernels run on {isa}: oneDNN picks 8-channel blocks anyway')

    def check(layer, layout):
        prims = [p for p in layers[layer] if p[0] in ('convolution', 'deconvolution')]
        assert {p[2] for p in prims} == {'forward_training', 'backward_data', 'backward_weights'}
        # the flags between the type and 'blocked' are 'ap' where the channels are padded
        src = re.compile(rf'src:f32:\w*:blocked:{layout}:')
        assert all(src.search(p[3]) for p in prims), (layer, prims)

    eights = 'aBcd8b' if avx512_on_256_bit_units() else 'aBcd16b'
    check(('conv', 24, 24), eights)
    check(('conv', 32, 24), eights)


def test_transposed_convolutions_run_on_blocks_of_the_kernels_vector_width(logged):
    # 16-channel blocks have only a reference kernel on AVX2; 8-channel ones keep every
    # primitive of the layer on one blocked layout (no NHWC forward, no reorder between them)
    layers, isa = logged
    block = 'aBcd16b' if isa == 'avx512_core' else 'aBcd8b'
    prims = [p for p in layers[('deconv', 128, 128)] if p[0] == 'deconvolution']
    assert {p[2] for p in prims} == {'forward_training', 'backward_data', 'backward_weights'}
    assert all(f'src:f32::blocked:{block}:' in p[3] for p in prims), prims


ROUTING_PROBE = """
import numpy as np
import mindspore as ms
from mindspore import ops
from benchmarks.kernel_layers import forward_backward_cell
from shmatting.models.layers import SameConv2d
from shmatting.ops.cpu_kernels import dnnl_kernel_isa

print('isa', dnnl_kernel_isa(), flush=True)
for size in (12, 160):
    net = SameConv2d(24, 16, 3)
    assert net.use_cpu_kernel
    x = ms.Tensor(np.random.default_rng(0).normal(size=(1, 24, size, size)).astype(np.float32))
    print(f'size {size}', flush=True)
    y = net(x)
    forward_backward_cell(net)(x, ops.ones_like(y))[0][0].asnumpy()
"""


@pytest.mark.parametrize('isa', ISA_RUNS)
def test_few_channel_layers_on_large_maps_leave_onednn_only_where_avx512_is_built(isa):
    # the few-channel kernel (few_channel_conv.h) is AVX-512 code: a build without it must keep a
    # layer on oneDNN, and a small map stays there either way (oneDNN's weight gradient is faster)
    env = {} if isa == 'native' else {'SHMATTING_KERNEL_ISA': 'AVX2'}
    stdout = run_with_kernels(ROUTING_PROBE, ONEDNN_VERBOSE='1', **env)
    convolutions, size, built_for = {12: 0, 160: 0}, None, None
    for line in stdout.splitlines():
        if line.startswith('isa '):
            built_for = line.split()[1]
        elif line.startswith('size '):
            size = int(line.split()[1])
        elif line.startswith('onednn_verbose') and ',exec,' in line and ',convolution,' in line:
            convolutions[size] += 1
    avx512 = built_for == 'avx512_core'  # compile flags and oneDNN cap follow one setting
    assert not (isa == 'AVX2' and avx512)
    assert convolutions[12] >= 3  # forward, backward data, backward weights
    assert (convolutions[160] == 0) == avx512, convolutions
