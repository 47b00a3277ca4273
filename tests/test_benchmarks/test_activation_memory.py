"""benchmarks/activation_memory.py: each held tensor counted once, the sum linear in the batch."""

from benchmarks import activation_memory


class Held:
    def __init__(self, n):
        self.nbytes = n


def test_a_tensor_two_layers_hold_is_counted_once():
    shared, other = Held(100), Held(7)
    held = [
        ('a', 'BatchNormAct2d', 'input', shared),
        ('b', 'SameConv2d', 'input', shared),  # the same tensor read by a second gradient
        ('c', 'MaxPool3x3S2', 'output', other),
    ]
    per_kind, tensors = activation_memory.tally(held, batch=3)
    assert dict(per_kind) == {'BatchNormAct2d input': 300, 'MaxPool3x3S2 output': 21}
    assert [t[0] for t in tensors] == [300, 21]


def test_the_network_tally_holds_the_layers_real_inputs_at_their_sizes(capsys):
    tensors = activation_memory.main(['--batch', '2', '--shape', '32', '32'])
    out = capsys.readouterr().out
    for kind in ('BatchNormAct2d input', 'SameConv2d input', 'NormActDepthwise input'):
        assert kind in out
    assert 'DepthwiseConv3x3 input' not in out  # every depthwise layer runs fused in training
    size = {(layer, role): nbytes for nbytes, layer, role in tensors}
    # the image into the first convolution, and MobileNetV2's widest map (96 channels at full
    # size): the first expansion's output, held once; the BatchNorm + ReLU6 output the depthwise
    # reads is never stored
    assert size[('tnet.backbone.head_conv.0', 'input')] == 2 * 3 * 32 * 32 * 4
    widest = 2 * 96 * 32 * 32 * 4
    assert tensors[0][:2] == (widest, 'tnet.backbone.block_2.0.norm_depthwise')
    assert tensors[1][0] < widest
