"""The zoo network's MobileNetV2 blocks for inference: the block kernel against its three layers.

Usage:
    python benchmarks/inverted_residual_blocks.py [--size 320] [--rounds 3] [--steps 30]
        [--pynative]

Each block of the zoo T-Net encoder (stride-1 stem, so the first blocks run at the input's full
size) is built, its BatchNorms folded as the inference tools fold them, and run at batch 1 as
one kernel (``FusedInvertedResidual``) and as its three folded layers, each on its own kernel;
the two forms alternate round by round. Prints the median milliseconds per block and the
total. The kernel's choice between row bands and whole maps is in
``shmatting/ops/csrc/inverted_residual.h`` (``in_bands``).
"""

import argparse
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import positive_int  # noqa: E402

# name, input channels, output channels, stride, expansion, input size as a fraction of --size
BLOCKS = (
    ('1', 32, 16, 1, 1, 1),
    ('2.0', 16, 24, 2, 6, 1),
    ('2.1', 24, 24, 1, 6, 2),
    ('3.0', 24, 32, 2, 6, 2),
    ('3.1', 32, 32, 1, 6, 4),
    ('4.0', 32, 64, 2, 6, 4),
    ('4.1', 64, 64, 1, 6, 8),
    ('5.0', 64, 96, 1, 6, 8),
    ('5.1', 96, 96, 1, 6, 8),
    ('6.0', 96, 160, 2, 6, 8),
    ('6.1', 160, 160, 1, 6, 16),
    ('7', 160, 320, 1, 6, 16),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=positive_int, default=320, help='the network input size')
    parser.add_argument('--rounds', type=positive_int, default=3)
    parser.add_argument('--steps', type=positive_int, default=30)
    parser.add_argument('--pynative', action='store_true', help='PyNative instead of GRAPH')
    return parser.parse_args(argv)


def folded_block(cin, cout, stride, t, kernel):
    """A zoo block in eval mode, BatchNorms folded; ``kernel``: run as the block kernel."""
    from shmatting.models.backbones.mobilenet_v2 import InvertedResidual
    from shmatting.models.layers import fuse_conv_bn

    block = InvertedResidual(cin, cout, stride, t)
    block.set_train(False)
    fuse_conv_bn(block)
    if not kernel:
        block.fused_block.use_cpu_kernel = False
    return block


def median_ms(run, steps):
    for _ in range(2):
        run()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def time_block(spec, size, rounds, steps):
    """Median ms of the block kernel and of the three layers, alternated over ``rounds``."""
    import mindspore as ms

    name, cin, cout, stride, t, div = spec
    shape = (1, cin, size // div, size // div)
    x = ms.Tensor(np.random.default_rng(0).normal(size=shape), ms.float32)
    forms = [folded_block(cin, cout, stride, t, kernel) for kernel in (True, False)]
    if not forms[0].fused_block.applies(forms[0].conv):
        raise SystemExit('error: the block kernel is unavailable here (no oneDNN kernel library)')
    times = [[], []]
    for r in range(rounds):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            times[i].append(median_ms(lambda: forms[i](x).asnumpy(), steps))
    return [float(np.median(ts)) for ts in times]


def main(argv=None):
    args = parse_args(argv)
    import mindspore as ms

    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE if args.pynative else ms.GRAPH_MODE)
    total = np.zeros(2)
    try:
        for spec in BLOCKS:
            kernel, layers = time_block(spec, args.size, args.rounds, args.steps)
            total += (kernel, layers)
            name, cin, cout, stride, t, div = spec
            print(
                f'block {name:4s} {cin}->{cin * t}->{cout} stride {stride} at '
                f'{args.size // div}x{args.size // div}: kernel {kernel:.2f} ms, '
                f'three layers {layers:.2f} ms'
            )
    finally:
        ms.set_context(mode=mode)
    print(f'all blocks: kernel {total[0]:.2f} ms, three layers {total[1]:.2f} ms')


if __name__ == '__main__':
    main()
