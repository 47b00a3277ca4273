"""A convolution reading data (the image) runs no input-gradient pass: read off oneDNN's own log
in a GRAPH training step of two layers. That pass was 50 ms of each step for the zoo network's
3->32 stem at batch 8 x 320 x 320, and its result was thrown away."""

import pytest

from shmatting.ops import cpu_kernels_enabled
from tests.helpers import run_with_kernels

pytestmark = pytest.mark.skipif(
    not cpu_kernels_enabled('conv'), reason='the oneDNN kernels do not build here'
)

PROBE = """
import numpy as np
import mindspore as ms
from mindspore import nn
from shmatting.models.layers import SameConv2d
from tests.helpers import squared_sum_loss

ms.set_context(mode=ms.GRAPH_MODE)
net = nn.SequentialCell([SameConv2d(3, 16, 3, input_grad=False), SameConv2d(16, 8, 3)])
loss = squared_sum_loss(net)
x = ms.Tensor(np.random.default_rng(0).normal(size=(2, 3, 12, 12)).astype(np.float32))
grads = ms.grad(loss, grad_position=None, weights=net.trainable_params())(x)
print('grads', len(grads), [float(abs(g).sum()) > 0 for g in grads], flush=True)
"""


def test_the_data_layer_runs_no_backward_data_pass_and_still_gets_its_weight_gradient():
    stdout = run_with_kernels(PROBE, ONEDNN_VERBOSE='1', timeout=300)
    assert 'grads 2 [True, True]' in stdout
    passes = {
        (fields[fields.index('exec') + 4], fields[-2].split('_')[1])
        for line in stdout.splitlines()
        if line.startswith('onednn_verbose') and ',exec,' in line and ',convolution,' in line
        for fields in [line.split(',')]
    }
    assert ('backward_weights', 'ic3oc16') in passes and ('forward_training', 'ic3oc16') in passes
    assert ('backward_data', 'ic16oc8') in passes
    assert ('backward_data', 'ic3oc16') not in passes, sorted(passes)
