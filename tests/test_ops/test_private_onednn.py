"""The kernels on AVX-512: their own copy of MindSpore's oneDNN, lifted to AVX-512 while MindSpore's
convolutions stay capped at AVX2 (uncapped, its plain-layout k x k convolutions fall to oneDNN's
reference kernel, 100x slower)."""

import os

import numpy as np
import pytest

from shmatting.ops import build as kernel_build
from tests.helpers import run_with_kernels

AVX2, AVX512_CORE = 0x7, 0x27

PROBE = """
import ctypes, os
import numpy as np
import shmatting
import mindspore as ms
from shmatting.models.layers import SameConv2d
from shmatting.ops.build import build_kernel_library
ms.set_context(mode=ms.PYNATIVE_MODE)
conv = SameConv2d(8, 8, 3)
assert conv.use_cpu_kernel
conv(ms.Tensor(np.ones((1, 8, 12, 12), np.float32))).asnumpy()
ours = ctypes.CDLL(build_kernel_library('dnnl')).shm_dnnl_effective_isa()
theirs = ctypes.CDLL(os.path.join(os.path.dirname(ms.__file__), 'lib', 'libdnnl.so.3'))
from shmatting.ops.cpu_kernels import dnnl_kernel_isa
print(dnnl_kernel_isa(), ours, theirs.dnnl_get_effective_cpu_isa())
"""


def run_probe(code, *args, **env):
    """The stdout words of ``code`` run in a fresh process with the kernels required."""
    return run_with_kernels(code, *args, **env).split()


def effective_isas(**env):
    name, ours, theirs = run_probe(PROBE, **env)[-3:]
    assert name == {AVX2: 'avx2', AVX512_CORE: 'avx512_core'}[int(ours)]  # collect_env's line
    return int(ours), int(theirs)


def test_the_kernels_run_avx512_while_mindspores_own_onednn_stays_capped():
    kernel_build.build_kernel_library('dnnl')  # SHMATTING_CPU_KERNELS=1: must build
    best = AVX512_CORE if 'avx512f' in kernel_build._cpu_flags() else AVX2
    assert effective_isas() == (best, AVX2)
    assert effective_isas(SHMATTING_KERNEL_ISA='AVX2') == (AVX2, AVX2)


def test_the_private_copy_differs_from_the_library_in_its_soname_only(tmp_path, monkeypatch):
    monkeypatch.setenv('SHMATTING_KERNEL_CACHE', str(tmp_path / 'cache'))
    lib = tmp_path / 'libdnnl.so.3'
    body = b'\x7fELF head' + b'libdnnl.so.3\0' + b'tail'
    lib.write_bytes(body)
    copy = kernel_build.private_onednn(str(lib))
    assert os.path.basename(copy) == 'libdnnp.so.3'
    assert open(copy, 'rb').read() == body.replace(b'libdnnl.so.3\0', b'libdnnp.so.3\0')
    assert kernel_build.private_onednn(str(lib)) == copy  # made once


def test_a_library_whose_soname_cannot_be_replaced_links_as_before(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('SHMATTING_KERNEL_CACHE', str(tmp_path / 'cache'))
    lib = tmp_path / 'libdnnl.so.3'
    lib.write_bytes(b'libdnnl.so.3\0 twice libdnnl.so.3\0')
    with pytest.raises(kernel_build.KernelBuildError, match='not found exactly once'):
        kernel_build.private_onednn(str(lib))
    flags = kernel_build._dnnl_link_flags(str(lib))
    # MindSpore's own file, and no SHM_PRIVATE_ONEDNN: the kernels must not touch its ISA cap
    assert flags == [str(lib), f'-Wl,-rpath,{tmp_path}', '-ldl']
    assert capsys.readouterr().err.count('\n') == 1


def test_the_kernels_are_compiled_for_avx512_only_where_the_cpu_has_it(monkeypatch):
    avx512 = {'avx2', 'fma', 'avx512f', 'avx512vl', 'avx512bw', 'avx512dq'}
    monkeypatch.setattr(kernel_build, '_cpu_flags', lambda: avx512)
    assert '-mavx512f' in kernel_build.compile_flags()
    monkeypatch.setenv('SHMATTING_KERNEL_ISA', 'AVX2')
    assert '-mavx512f' not in kernel_build.compile_flags()
    assert '-mavx2' in kernel_build.compile_flags()
    monkeypatch.delenv('SHMATTING_KERNEL_ISA')
    monkeypatch.setattr(kernel_build, '_cpu_flags', lambda: avx512 - {'avx512bw'})
    assert not any(f.startswith('-mavx512') for f in kernel_build.compile_flags())


@pytest.mark.parametrize(
    'cpu',
    [{'avx2', 'fma', 'avx512f', 'avx512vl', 'avx512bw', 'avx512dq'}, {'avx2', 'fma'}],
    ids=['avx512-cpu', 'avx2-cpu'],
)
def test_a_misspelt_kernel_isa_is_refused_in_one_line_on_any_cpu(monkeypatch, cpu):
    monkeypatch.setattr(kernel_build, '_cpu_flags', lambda: cpu)
    monkeypatch.setenv('SHMATTING_KERNEL_ISA', 'avx2')
    assert kernel_build.kernel_isa() == 'AVX2'
    monkeypatch.setenv('SHMATTING_KERNEL_ISA', 'AVX-512')
    with pytest.raises(kernel_build.KernelBuildError, match="must be one of .*'AVX-512'"):
        kernel_build.compile_flags()


GEMM_PROBE = """
import sys
import numpy as np
import mindspore as ms
from mindspore import ParameterTuple, nn, ops
import shmatting
from shmatting.models.layers import BatchNormAct2d, SameConv2d
from shmatting.models.layers.norm_act_fused import NormActConv1x1
from shmatting.ops.cpu_kernels import dnnl_gemm_isa

class Projection(nn.Cell):
    def __init__(self):
        super().__init__()
        self.norm, self.conv = BatchNormAct2d(24, act='relu6'), SameConv2d(24, 8, 1)
        self.fused = NormActConv1x1('relu6')

    def construct(self, x):
        return self.fused(x, self.norm, self.conv)

ms.set_seed(0)
net = Projection()
net.set_train(True)
assert net.fused.applies(net.norm, net.conv)
grad = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)
x = ms.Tensor(np.random.default_rng(0).normal(size=(2, 24, 13, 11)).astype(np.float32))
sens = ms.Tensor(np.random.default_rng(1).normal(size=(2, 8, 13, 11)).astype(np.float32))
(dx,), dws = grad(net, ParameterTuple(net.trainable_params()))(x, sens)
np.savez(sys.argv[1], y=net(x).asnumpy(), dx=dx.asnumpy(), *[d.asnumpy() for d in dws])
print(dnnl_gemm_isa())
"""


def training_gemms(out, **env):
    return run_probe(GEMM_PROBE, str(out), **env)[-1], np.load(out)


def test_the_training_gemms_run_where_kernel_gemm_isa_says_with_the_same_results(tmp_path):
    kernel_build.build_kernel_library('dnnl')
    # the kernels' own ISA by default, AMD Zen 4 included (its per-tile path is faster there)
    own = 'avx512_core' if 'avx512f' in kernel_build._cpu_flags() else 'avx2'
    isa, by_default = training_gemms(tmp_path / 'auto.npz')
    isa_other, by_other = training_gemms(tmp_path / 'other.npz', SHMATTING_KERNEL_GEMM_ISA='AVX2')
    assert (isa, isa_other) == (own, 'avx2')
    assert sorted(by_default.files) == sorted(by_other.files) and len(by_other.files) == 5
    for name in by_other.files:  # y, dx, and the gradients of gamma, beta and the weight
        np.testing.assert_allclose(by_default[name], by_other[name], rtol=1e-5, atol=1e-5)


def test_a_misspelt_gemm_isa_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv('SHMATTING_KERNEL_GEMM_ISA', 'avx2')
    assert kernel_build.kernel_gemm_isa() == 'AVX2'
    monkeypatch.setenv('SHMATTING_KERNEL_GEMM_ISA', 'AVX-512')
    with pytest.raises(kernel_build.KernelBuildError, match="must be one of AUTO, .*'AVX-512'"):
        kernel_build._dnnl_link_flags('/nonexistent/libdnnl.so.3')


def test_avx512_core_gemms_do_not_build_a_second_copy_of_the_default_library(monkeypatch):
    lib = kernel_build.onednn_paths()[1]
    flags = {}
    for choice in ('AUTO', 'AVX512_CORE', 'AVX2'):
        monkeypatch.setenv('SHMATTING_KERNEL_GEMM_ISA', choice)
        flags[choice] = kernel_build._dnnl_link_flags(lib)
    assert flags['AVX512_CORE'] == flags['AUTO']
    assert sorted(flags['AVX2']) == sorted([*flags['AUTO'], '-DSHM_GEMM_ISA_AVX2'])
