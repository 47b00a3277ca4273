"""Speed of the SHM network: training step and inference, compile time reported separately.

Usage:
    python tools/analysis/benchmark.py --train CONFIG [--batch 8] [--shape 320 320] [--steps 10]
    python tools/analysis/benchmark.py --infer CONFIG [--shape 320 320] [--steps 20] [--mindir]
    ... --cpu-kernels none|all|depthwise,upsample,norm,pool   (which CPU kernels to use)

The side-by-side comparison with the PyTorch original is benchmarks/compare_torch.py.

Inputs are random tensors of the requested shape, so no data is needed. The phase, optimizer,
context (GRAPH/PyNative) and model come from the config. Prints seconds per step, images/s and
the peak resident memory of the process.
"""

import argparse
import os.path as osp
import sys
import time

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.config import Config, DictAction  # noqa: E402
from shmatting.utils.profiling import peak_rss_gb, random_batch  # noqa: E402


def median_time(fn, steps):
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), times


def select_kernels(model, kinds):
    """Use the CPU kernels of ``kinds`` only (None: leave the default, all available)."""
    if kinds is not None:
        from shmatting.ops import set_cpu_kernels

        set_cpu_kernels(model, True, kinds)


def kernel_label(model):
    """Which CPU kernels the model's layers run on, for the printed line."""
    kinds = sorted(
        {
            cell.cpu_kernel_kind
            for _, cell in model.cells_and_names()
            if getattr(cell, 'use_cpu_kernel', False)
        }
    )
    return 'CPU kernels: ' + (','.join(kinds) if kinds else 'none')


def bench_train(cfg, batch, shape, steps, warmup, kinds=None):
    import mindspore as ms

    from shmatting.engine.context import apply_context, apply_recompute
    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.train_step import MattorWithLoss, TrainStep
    from shmatting.models import build_model

    ctx = apply_context(cfg.get('context'))
    model = build_model(cfg.model)
    select_kernels(model, kinds)
    apply_recompute(model, cfg.get('recompute'))
    opt = build_optimizer(cfg.optimizer, model.phase_trainable_params(), float(cfg.optimizer.lr))
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
    step.set_train()
    data = random_batch(batch, *shape)
    inputs = tuple(ms.Tensor(data[k]) for k in model.train_inputs())
    compile_s = 0.0
    if ctx['mode'] == 'GRAPH':
        start = time.perf_counter()
        step.compile(*inputs)
        compile_s = time.perf_counter() - start
    for _ in range(warmup):
        step(*inputs).asnumpy()
    med, times = median_time(lambda: step(*inputs).asnumpy(), steps)
    print(
        f'train {model.train_phase} {ctx["mode"]} batch {batch} {shape[0]}x{shape[1]}: '
        f'compile {compile_s:.1f}s, {med:.3f} s/step (min {min(times):.3f}, max {max(times):.3f}), '
        f'{batch / med:.2f} images/s, peak RSS {peak_rss_gb():.2f} GB ({kernel_label(model)})'
    )
    return med


def bench_infer(cfg, shape, steps, warmup, mindir=False, kinds=None):
    import mindspore as ms

    from shmatting.engine.context import apply_context
    from shmatting.models import build_model

    ctx = apply_context(cfg.get('context'))
    model = build_model(cfg.model)
    select_kernels(model, kinds)
    model.set_train(False)
    x = ms.Tensor(random_batch(1, *shape)['img'])
    compile_s = 0.0
    if ctx['mode'] == 'GRAPH':
        start = time.perf_counter()
        model.compile(x)
        compile_s = time.perf_counter() - start
    for _ in range(warmup):
        model(x)[1].asnumpy()
    med, times = median_time(lambda: model(x)[1].asnumpy(), steps)
    print(
        f'infer {ctx["mode"]} batch 1 {shape[0]}x{shape[1]}: compile {compile_s:.1f}s, '
        f'{med * 1000:.1f} ms/image (min {min(times) * 1000:.1f}), '
        f'peak RSS {peak_rss_gb():.2f} GB ({kernel_label(model)})'
    )
    if mindir:
        import tempfile

        from mindspore import nn

        from shmatting.ops import set_cpu_kernels

        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            set_cpu_kernels(model, False)  # as tools/export_mindir.py exports
            ms.export(model, x, file_name=f'{tmp}/bench', file_format='MINDIR')
            graph = nn.GraphCell(ms.load(f'{tmp}/bench.mindir'))
            export_s = time.perf_counter() - start
            for _ in range(warmup):
                graph(x)[1].asnumpy()
            med_m, times_m = median_time(lambda: graph(x)[1].asnumpy(), steps)
        print(
            f'infer MINDIR (GraphCell) batch 1 {shape[0]}x{shape[1]}: export+load {export_s:.1f}s, '
            f'{med_m * 1000:.1f} ms/image (min {min(times_m) * 1000:.1f})'
        )
    return med


def main(argv=None):
    parser = argparse.ArgumentParser(description='benchmark the SHM network')
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--train', metavar='CONFIG', help='time the training step of this config')
    mode.add_argument('--infer', metavar='CONFIG', help='time inference (batch 1) of this config')
    parser.add_argument('--batch', type=int, default=None, help='default: samples_per_device')
    parser.add_argument('--shape', type=int, nargs=2, default=[320, 320], metavar=('H', 'W'))
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--mindir',
        action='store_true',
        help='with --infer: also time the exported MINDIR through nn.GraphCell',
    )
    parser.add_argument(
        '--cpu-kernels',
        default=None,
        metavar='KINDS',
        help="CPU kernels to use: 'all' (the default where they build), 'none', or "
        'a comma list of depthwise, upsample, norm, pool',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    kinds = None
    if args.cpu_kernels is not None:
        from shmatting.ops import parse_kernel_kinds

        try:
            kinds = parse_kernel_kinds(args.cpu_kernels)
        except ValueError as exc:
            parser.error(str(exc))
    cfg = Config.fromfile(args.train or args.infer)
    cfg.merge_from_dict(args.cfg_options)
    if args.train:
        batch = args.batch or int(cfg.data.samples_per_device)
        bench_train(cfg, batch, args.shape, args.steps, args.warmup, kinds)
    else:
        bench_infer(cfg, args.shape, args.steps, args.warmup, args.mindir, kinds)


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
