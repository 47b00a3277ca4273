"""Speed of the SHM network: training step and inference, compile time reported separately.

Usage:
    python tools/analysis/benchmark.py --train CONFIG [--batch 8] [--shape 320 320] [--steps 10]
    python tools/analysis/benchmark.py --infer CONFIG [--shape 320 320] [--steps 20] [--mindir]
        [--onnx] [--no-fuse]
    ... --cpu-kernels none|all|conv,depthwise,upsample,norm,pool,softmax   (which CPU kernels)
    ... --cfg-options context.compile_cache=DIR   (the train step through the compile cache)

Inference is timed as the tools run it: GRAPH mode with the BatchNorms folded into the
convolutions (``--no-fuse`` keeps them); ``--mindir`` and ``--onnx`` also export the network
(MindSpore's own operators, as tools/export_mindir.py does) and time it in ``nn.GraphCell`` and
in ONNX Runtime.

The side-by-side comparison with the PyTorch original is benchmarks/compare_torch.py.

Inputs are random tensors of the requested shape, so no data is needed. The phase, optimizer,
context (GRAPH/PyNative) and model come from the config. Prints seconds per step, images/s and
the peak resident memory of the process; for training also the memory after compiling and the
peak after the first step (MindSpore's memory pool can grow on later steps, when the same tensors
land at other places in it).
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
from shmatting.utils.cli import non_negative_int, positive_int  # noqa: E402
from shmatting.utils.profiling import peak_rss_gb, random_batch, rss_gb  # noqa: E402


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


def timed_compile(step, inputs, cfg, ctx):
    """Compile the train step (GRAPH mode), through the compile cache when the config's
    ``context.compile_cache`` asks for it; returns the seconds and a note for the report."""
    from shmatting.engine.compile_cache import compile_step

    if ctx['mode'] != 'GRAPH':
        return 0.0, ''
    start = time.perf_counter()
    how, _ = compile_step(step, inputs, ctx['compile_cache'], cfg.to_dict(), [repr(ctx)])
    return time.perf_counter() - start, '' if how == 'off' else f' (compile cache: {how})'


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
    compile_s, cached = timed_compile(step, inputs, cfg, ctx)
    compiled_gb = rss_gb()
    times, first_gb = [], None
    for i in range(warmup + steps):
        start = time.perf_counter()
        step(*inputs).asnumpy()
        if i >= warmup:
            times.append(time.perf_counter() - start)
        first_gb = first_gb or peak_rss_gb()
    med = float(np.median(times))
    from shmatting.ops.cpu_kernels import dnnl_arena_bytes

    print(
        f'train {model.train_phase} {ctx["mode"]} batch {batch} {shape[0]}x{shape[1]}: '
        f'compile {compile_s:.1f}s{cached}, {med:.3f} s/step '
        f'(min {min(times):.3f}, max {max(times):.3f}), '
        f'{batch / med:.2f} images/s, peak RSS {peak_rss_gb():.2f} GB ({compiled_gb:.2f} after '
        f'compiling, {first_gb:.2f} after the first step, {dnnl_arena_bytes() / 2**30:.2f} in '
        f"the oneDNN kernels' buffers; {kernel_label(model)})"
    )
    return med


def inference_model(cfg, kinds=None, fuse=True, exportable=None):
    """The config's model in eval mode as the inference tools build it (BatchNorms folded unless
    ``fuse`` is False); ``exportable='MINDIR'|'ONNX'``: as tools/export_mindir.py exports it
    (MindSpore's operators only; ONNX: the exportable pooling)."""
    from shmatting.apis.export import exportable_config
    from shmatting.models import build_model
    from shmatting.models.layers import fuse_conv_bn
    from shmatting.ops import set_cpu_kernels

    if exportable:
        cfg = exportable_config(cfg, exportable)
    model = build_model(cfg.model)
    model.set_train(False)
    if fuse:  # as tools/test.py, the demos and the export run it (apis.load_mattor)
        fuse_conv_bn(model)
    if exportable:
        set_cpu_kernels(model, False)  # as tools/export_mindir.py exports
    else:
        select_kernels(model, kinds)
    return model


def time_exported(cfg, x, fmt, steps, warmup, fuse=True):
    """Median seconds per image of the model exported to ``fmt`` and run in its runtime
    (MINDIR: ``nn.GraphCell``; ONNX: ONNX Runtime with as many threads as MindSpore's pool)."""
    import tempfile

    from shmatting.apis.backends import build_backend
    from shmatting.apis.export import export_network

    model = inference_model(cfg, fuse=fuse, exportable=fmt)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = export_network(model, x, f'{tmp}/bench', fmt)
        runner = build_backend('mindspore' if fmt == 'MINDIR' else 'onnxruntime', path)
        export_s = time.perf_counter() - start
        for _ in range(warmup):
            runner.predict(x)
        med, times = median_time(lambda: runner.predict(x), steps)
    return med, min(times), export_s


def bench_infer(cfg, shape, steps, warmup, exports=(), kinds=None, fuse=True):
    import mindspore as ms

    from shmatting.engine.context import apply_context

    ctx = apply_context(cfg.get('context'))
    model = inference_model(cfg, kinds, fuse)
    x_np = random_batch(1, *shape)['img']
    x = ms.Tensor(x_np)
    compile_s = 0.0
    if ctx['mode'] == 'GRAPH':
        start = time.perf_counter()
        model.compile(x)
        compile_s = time.perf_counter() - start
    for _ in range(warmup):
        model(x)[1].asnumpy()
    med, times = median_time(lambda: model(x)[1].asnumpy(), steps)
    fused = 'BatchNorm folded' if fuse else 'BatchNorm not folded'
    print(
        f'infer {ctx["mode"]} batch 1 {shape[0]}x{shape[1]}: compile {compile_s:.1f}s, '
        f'{med * 1000:.1f} ms/image (min {min(times) * 1000:.1f}), '
        f'peak RSS {peak_rss_gb():.2f} GB ({kernel_label(model)}; {fused})'
    )
    for fmt in exports:
        med_e, min_e, export_s = time_exported(cfg, x_np, fmt, steps, warmup, fuse)
        runtime = 'GraphCell' if fmt == 'MINDIR' else 'ONNX Runtime'
        print(
            f'infer {fmt} ({runtime}) batch 1 {shape[0]}x{shape[1]}: export+load {export_s:.1f}s, '
            f'{med_e * 1000:.1f} ms/image (min {min_e * 1000:.1f}; {fused})'
        )
    return med


def main(argv=None):
    parser = argparse.ArgumentParser(description='benchmark the SHM network')
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument('--train', metavar='CONFIG', help='time the training step of this config')
    mode.add_argument('--infer', metavar='CONFIG', help='time inference (batch 1) of this config')
    parser.add_argument(
        '--batch', type=positive_int, default=None, help='default: samples_per_device'
    )
    parser.add_argument(
        '--shape', type=positive_int, nargs=2, default=[320, 320], metavar=('H', 'W')
    )
    parser.add_argument('--steps', type=positive_int, default=10)
    parser.add_argument('--warmup', type=non_negative_int, default=3)
    parser.add_argument(
        '--mindir',
        action='store_true',
        help='with --infer: also time the exported MINDIR through nn.GraphCell',
    )
    parser.add_argument(
        '--onnx',
        action='store_true',
        help='with --infer: also time the exported ONNX in ONNX Runtime (needs onnx, onnxruntime)',
    )
    parser.add_argument(
        '--no-fuse', action='store_true', help='with --infer: keep the BatchNorms (not folded)'
    )
    parser.add_argument(
        '--cpu-kernels',
        default=None,
        metavar='KINDS',
        help="CPU kernels to use: 'all' (the default where they build), 'none', or "
        'a comma list of conv, depthwise, upsample, norm, pool, softmax',
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
        batch = int(cfg.data.samples_per_device) if args.batch is None else args.batch
        bench_train(cfg, batch, args.shape, args.steps, args.warmup, kinds)
    else:
        exports = [f for f, on in (('MINDIR', args.mindir), ('ONNX', args.onnx)) if on]
        bench_infer(cfg, args.shape, args.steps, args.warmup, exports, kinds, not args.no_fuse)


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
