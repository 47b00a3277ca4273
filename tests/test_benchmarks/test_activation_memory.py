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


def test_the_network_tally_names_every_kind_of_layer_and_scales_with_the_batch(capsys):
    one = activation_memory.main(['--batch', '1', '--shape', '32', '32'])
    two = activation_memory.main(['--batch', '2', '--shape', '32', '32'])
    out = capsys.readouterr().out
    for kind in ('BatchNormAct2d input', 'SameConv2d input', 'DepthwiseConv3x3 input'):
        assert kind in out
    # 32x32 float32 images: the input of the first convolution alone is 3*32*32*4 bytes
    assert two == 2 * one and one > 3 * 32 * 32 * 4 * 10
