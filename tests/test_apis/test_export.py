"""export_network: the MINDIR carries the operator forms MindSpore's CPU operators run faster
(few-output convolutions transposed, 1x1 expansions with their bias as an input channel,
``ResizeBilinearV2``), with the network's function; ONNX keeps every layer in its plain form."""

import collections
import importlib.util

import mindspore as ms
import numpy as np
import pytest

from shmatting.apis.export import export_network, exportable_config
from shmatting.config import Config
from shmatting.models import build_model
from shmatting.models.layers import BilinearUpsample2x, fuse_conv_bn, set_operator_forms
from shmatting.ops import set_cpu_kernels
from tests.helpers import ROOT
from tests.test_models.utils import randomize_bn_stats

HAS_ONNX = importlib.util.find_spec('onnx') is not None
X = np.random.default_rng(0).uniform(-0.6, 0.6, (1, 3, 64, 64)).astype(np.float32)


def exportable_model(fmt, forms=True):
    cfg = exportable_config(Config.fromfile(f'{ROOT}/configs/shm/e2e_8x8.py'), fmt)
    model = build_model(cfg.model)
    randomize_bn_stats(model)
    model.set_train(False)
    fuse_conv_bn(model)
    set_cpu_kernels(model, False)
    set_operator_forms(model, forms)
    return model


def mindir_op_counts(path):
    from mindspore.train.mind_ir_pb2 import ModelProto

    proto = ModelProto()
    with open(path, 'rb') as f:
        proto.ParseFromString(f.read())
    # node op types read 'REF::Conv2D:12'
    return collections.Counter(n.op_type.split('::')[-1].split(':')[0] for n in proto.graph.node)


def count_cells(model, attribute):
    return sum(bool(getattr(c, attribute, False)) for _, c in model.cells_and_names())


def test_the_mindir_runs_the_operator_forms_with_the_same_outputs(tmp_path):
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = exportable_model('MINDIR')
        # the M-Net's 16->1 5x5 and the T-Net's 16->3 3x3 output layers
        assert count_cells(model, 'transposed_form_supported') == 2
        # MobileNetV2's sixteen 1x1 expansions (the first block has none)
        assert count_cells(model, 'bias_channel_supported') == 16
        upsamplings = sum(isinstance(c, BilinearUpsample2x) for _, c in model.cells_and_names())
        forms = count_cells(model, 'operator_form')
        assert forms == 2 + 16 + upsamplings
        path = export_network(model, X, str(tmp_path / 'net'), 'MINDIR')
        got = [t.asnumpy() for t in ms.nn.GraphCell(ms.load(path))(ms.Tensor(X))]
        plain = exportable_model('MINDIR', forms=False)
        ms.load_param_into_net(plain, {p.name: p for p in model.get_parameters()})
        want = [t.asnumpy() for t in plain(ms.Tensor(X))]
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    counts = mindir_op_counts(path)
    assert counts['Conv2DBackpropInput'] == 2 and counts['Conv2DTranspose'] == 4
    assert counts['ResizeBilinearV2'] == upsamplings
    assert not any(op.startswith('Custom') for op in counts)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not HAS_ONNX, reason='onnx is not installed')
def test_onnx_keeps_every_layer_in_its_plain_form(tmp_path):
    import onnx

    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = exportable_model('ONNX')
        path = export_network(model, X, str(tmp_path / 'net'), 'ONNX')
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)
    ops = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    assert ops['ConvTranspose'] == 4  # the M-Net decoder's transposed convolutions only
    assert count_cells(model, 'operator_form') == 0
    assert count_cells(model, 'operator_form_supported') > 0
