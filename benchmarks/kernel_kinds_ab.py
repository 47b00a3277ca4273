"""Two sets of CPU kernels compared in one process: training steps of the same model, alternated.

Usage:
    python benchmarks/kernel_kinds_ab.py A_KINDS B_KINDS [--config C] [--batch 8] [--rounds 6]
        [--pynative]

``A_KINDS`` and ``B_KINDS`` are ``all``, ``none`` or comma lists of
``shmatting.ops.KERNEL_KINDS`` (``all`` and ``conv,depthwise,norm,pool,upsample`` time the softmax
kernels). Both models are built and compiled (GRAPH) in this process from the same seed and data,
then their steps alternate A, B, B, A, ... so that the machine's drift, which on a shared 2-core
host moves a step by 10% within minutes, falls on both equally. Prints each round's pair and the
medians. ``--pynative`` times PyNative steps instead (no compilation).
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('a', metavar='A_KINDS')
    parser.add_argument('b', metavar='B_KINDS')
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/shm/e2e_8x8.py'))
    parser.add_argument('--batch', type=positive_int, default=8)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--rounds', type=positive_int, default=6)
    parser.add_argument('--pynative', action='store_true', help='PyNative instead of GRAPH')
    args = parser.parse_args(argv)
    from shmatting.ops import parse_kernel_kinds

    try:
        args.kinds = [parse_kernel_kinds(args.a), parse_kernel_kinds(args.b)]
    except ValueError as exc:
        parser.error(str(exc))
    return args


def build_step(cfg, kinds, data):
    """A training step of the config's model on the CPU kernels of ``kinds``, run twice (in
    GRAPH mode: compiled, and the memory pool grown).

    Returns:
        callable: runs one step and waits for it.
    """
    import mindspore as ms

    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.train_step import MattorWithLoss, TrainStep
    from shmatting.models import build_model
    from shmatting.ops import set_cpu_kernels

    ms.set_seed(0)
    model = build_model(cfg.model)
    set_cpu_kernels(model, True, kinds)
    opt = build_optimizer(cfg.optimizer, model.phase_trainable_params(), 1e-4)
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
    step.set_train()
    inputs = [ms.Tensor(data[k]) for k in model.train_inputs()]
    for _ in range(2):  # compile, then one step for the memory pool
        step(*inputs).asnumpy()
    return lambda: step(*inputs).asnumpy()


def alternate(steps, rounds):
    """Seconds per step of each of the two, A B in even rounds and B A in odd ones.

    Returns:
        list[list[float]]: the times of A and of B.
    """
    times = [[], []]
    for r in range(rounds):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            steps[i]()
            times[i].append(time.perf_counter() - start)
    return times


def main(argv=None):
    args = parse_args(argv)
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.utils.profiling import random_batch

    mode = ms.get_context('mode')
    ms.set_context(mode=ms.PYNATIVE_MODE if args.pynative else ms.GRAPH_MODE)
    try:
        cfg = Config.fromfile(args.config)
        data = random_batch(args.batch, *args.shape)
        steps = [build_step(cfg, kinds, data) for kinds in args.kinds]
        a, b = alternate(steps, args.rounds)
    finally:
        ms.set_context(mode=mode)
    for r, (ta, tb) in enumerate(zip(a, b)):
        print(f'round {r + 1}: A {ta:.3f} s, B {tb:.3f} s')
    ma, mb = float(np.median(a)), float(np.median(b))
    print(
        f'A ({args.a}) median {ma:.3f} s, B ({args.b}) median {mb:.3f} s, B/A {mb / ma:.3f}; '
        f'A faster in {sum(x < y for x, y in zip(a, b))} of {args.rounds} rounds'
    )


if __name__ == '__main__':
    main()
