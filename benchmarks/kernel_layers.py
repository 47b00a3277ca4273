"""Single layers on the CPU kernels against MindSpore's own operators (GRAPH mode).

Usage:
    python benchmarks/kernel_layers.py [--repeats 3] [--layers all|memory|conv|data]

Times the forward and the gradients with respect to the input and the weights
(``GradOperation``: the graph keeps the forward only where the backward needs its output) of each
kernel-capable layer at the network's largest shapes (batch 8,
320x320 maps), with the kernel and with ``set_cpu_kernel(False)``, and a NumPy copy of the
largest tensor for scale (the kernels are memory-bound). ``--layers data``: the layers that
read data (the T-Net's stem, the M-Net's first layer), on the kernels, with their input gradient
and without it (``set_input_grad(False)``), weights' gradients only as in a training step.
"""

import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import positive_int  # noqa: E402


def forward_backward_cell(net):
    """A cell returning the input and weight gradients of ``net`` for a given output gradient
    (both: a training step needs both, and some layers compute them in one kernel)."""
    from mindspore import ParameterTuple, nn, ops

    class ForwardBackward(nn.Cell):
        def __init__(self, inner):
            super().__init__()
            self.net = inner
            self.weights = ParameterTuple(inner.trainable_params())
            self.grad = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)

        def construct(self, x, sens):
            return self.grad(self.net, self.weights)(x, sens)

    return ForwardBackward(net)


def timed(fn, repeats):
    """Milliseconds per call after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def conv(cin, cout, k):
    """A SameConv2d; 1x1 ones take the kernels here on any machine (the network only where
    ``pointwise_convs_on_kernels()``: AVX-512 GEMMs), to show where it pays."""
    from shmatting.models.layers import SameConv2d

    def build():
        layer = SameConv2d(cin, cout, k)
        layer.kernel_min_size = 1
        return layer

    return build


def conv_with_bias(cin, cout, k):
    """A SameConv2d with a bias (the T-Net head's layers): inside the kernel, or a BiasAdd."""
    from shmatting.models.layers import SameConv2d

    return lambda: SameConv2d(cin, cout, k, has_bias=True)


def nll_of_labels(num_classes, shape):
    """SoftmaxNLL of fixed random class indices, as a one-input layer."""
    import mindspore as ms
    from mindspore import nn

    from shmatting.models.layers import SoftmaxNLL

    class WithLabels(nn.Cell):
        def __init__(self):
            super().__init__()
            self.nll = SoftmaxNLL(num_classes)
            labels = np.random.default_rng(0).integers(0, num_classes, shape)
            self.label = ms.Tensor(labels.astype(np.int32))

        def set_cpu_kernel(self, enabled):
            self.nll.set_cpu_kernel(enabled)

        def construct(self, x):
            return self.nll(x, self.label)

    return WithLabels


def layer_cases(which):
    from shmatting.models.layers import (
        BatchNormAct2d,
        BilinearUpsample2x,
        ChannelSoftmax,
        ConvTranspose2dK5S2,
        DepthwiseConv3x3,
        MaxPool3x3S2,
    )

    memory_bound = [
        ('BatchNorm + ReLU6', lambda: BatchNormAct2d(96, act='relu6'), (8, 96, 320, 320)),
        ('depthwise 3x3, stride 2', lambda: DepthwiseConv3x3(96, 2), (8, 96, 320, 320)),
        ('depthwise 3x3, stride 1', lambda: DepthwiseConv3x3(32, 1), (8, 32, 320, 320)),
        ('bilinear x2', lambda: BilinearUpsample2x(16), (8, 16, 160, 160)),
        ('max pool 3x3/2', lambda: MaxPool3x3S2('pad'), (8, 16, 320, 320)),
        ('softmax over 3 channels', ChannelSoftmax, (8, 3, 320, 320)),
        ('cross-entropy per pixel', nll_of_labels(3, (8, 320, 320)), (8, 3, 320, 320)),
    ]
    # dense layers of the zoo network, one per kind of shape; 'MindSpore' is the path the layer
    # takes without the kernel (Conv2D, or the forward-convolution input gradient)
    convolutions = [
        ('conv 3x3 24->16', conv(24, 16, 3), (8, 24, 320, 320)),
        ('conv 3x3 16->16', conv(16, 16, 3), (8, 16, 320, 320)),
        ('conv 3x3 16->16 + bias', conv_with_bias(16, 16, 3), (8, 16, 320, 320)),
        ('conv 3x3 6->16', conv(6, 16, 3), (8, 6, 320, 320)),
        ('conv 3x3 32->64', conv(32, 64, 3), (8, 32, 80, 80)),
        ('conv 3x3 320->96', conv(320, 96, 3), (8, 320, 40, 40)),
        ('conv 5x5 16->1', conv(16, 1, 5), (8, 16, 320, 320)),
        ('deconv 5x5/2 16->16', lambda: ConvTranspose2dK5S2(16, 16), (8, 16, 160, 160)),
        ('deconv 5x5/2 64->64', lambda: ConvTranspose2dK5S2(64, 64), (8, 64, 40, 40)),
        ('conv 1x1 16->96', conv(16, 96, 1), (8, 16, 320, 320)),
        ('conv 1x1 32->32', conv(32, 32, 1), (8, 32, 320, 320)),
        ('conv 1x1 96->24', conv(96, 24, 1), (8, 96, 160, 160)),
        ('conv 1x1 96->576', conv(96, 576, 1), (8, 96, 40, 40)),
        ('conv 1x1 576->96', conv(576, 96, 1), (8, 576, 40, 40)),
    ]
    return {'memory': memory_bound, 'conv': convolutions, 'all': memory_bound + convolutions}[which]


def time_layer(build, x, use_kernel, repeats):
    """Forward and forward+backward milliseconds of one layer, kernel on or off."""
    import mindspore as ms

    net = build()
    net.set_cpu_kernel(use_kernel)
    net.set_train(True)
    sens = ms.Tensor(np.ones(net(x).shape, np.float32))
    step = forward_backward_cell(net)
    return (
        timed(lambda: net(x).asnumpy(), repeats),
        timed(lambda: step(x, sens)[0][0].asnumpy(), repeats),
    )


def weights_grad_cell(net):
    """A cell returning the weights' gradients of ``sum(net(x) ** 2)`` (what a training step
    takes of a layer reading data)."""
    import mindspore as ms
    from mindspore import nn

    class WeightsGrad(nn.Cell):
        def __init__(self, inner):
            super().__init__()
            self.net = inner
            self.weights = inner.trainable_params()

        def construct(self, x):
            return ms.grad(lambda v: (self.net(v) ** 2).sum(), None, self.weights)(x)

    return WeightsGrad(net)


def time_data_layers(repeats):
    """Rows of (layer, input, ms with the input gradient, ms without) on the kernels."""
    import mindspore as ms

    from shmatting.models.layers import SameConv2d

    rows = [['layer reading data', 'input', 'with input gradient (ms)', 'weights only (ms)']]
    for cin, cout in ((3, 32), (6, 16)):
        x = ms.Tensor(np.random.default_rng(0).random((8, cin, 320, 320), dtype=np.float32))
        times = []
        for input_grad in (True, False):
            step = weights_grad_cell(SameConv2d(cin, cout, 3, input_grad=input_grad))
            times.append(timed(lambda: step(x)[0].asnumpy(), repeats))
        rows.append([f'conv 3x3 {cin}->{cout}', f'8x{cin}x320x320'] + [f'{t:.1f}' for t in times])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=positive_int, default=3)
    parser.add_argument(
        '--layers',
        choices=['all', 'memory', 'conv', 'data'],
        default='all',
        help='which layers to time',
    )
    args = parser.parse_args(argv)
    import mindspore as ms
    from terminaltables import AsciiTable

    from shmatting.ops import cpu_kernels_enabled

    if not cpu_kernels_enabled() or not cpu_kernels_enabled('conv'):
        sys.exit('error: the CPU kernels are unavailable here (see tools/misc/collect_env.py)')
    ms.set_context(mode=ms.GRAPH_MODE)
    if args.layers == 'data':
        table = AsciiTable(time_data_layers(args.repeats), title=' input gradient or not ')
        print(table.table)
        return
    rows = [['layer', 'input', 'fwd MS (ms)', 'fwd kernel', 'gradients MS', 'gradients kernel']]
    rng = np.random.default_rng(0)
    for name, build, shape in layer_cases(args.layers):
        x = ms.Tensor(rng.random(shape, dtype=np.float32))
        plain, kernel = (time_layer(build, x, k, args.repeats) for k in (False, True))
        rows.append(
            [name, 'x'.join(map(str, shape))]
            + [f'{v:.1f}' for v in (plain[0], kernel[0], plain[1], kernel[1])]
        )
    big = rng.random((8, 96, 320, 320), dtype=np.float32)
    out = np.empty_like(big)
    copy_ms = timed(lambda: np.copyto(out, big), args.repeats)
    print(AsciiTable(rows, title=' CPU kernels vs MindSpore operators ').table)
    print(f'NumPy copy of an 8x96x320x320 float32 tensor (315 MB): {copy_ms:.1f} ms')


if __name__ == '__main__':
    main()
