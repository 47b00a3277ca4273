"""MindSpore's own profiler: time per operator type for a few training or inference steps.

Usage: python benchmarks/ms_profile.py train|infer [--config C] [--batch 2] [--shape 320 320]
           [--steps 2] [--out work_dirs/ms_profile] [--by-layer]

Uses ``mindspore.profiler.Profiler`` (CPU op timing) and prints the op types by total time from
its ``cpu_op_type_info_*.csv``; with ``--by-layer``, the project's kernels (``Custom`` operators)
by the layer class that runs them, forward and backward apart, from ``cpu_op_detail_info_*.csv``
(a GRAPH backward's scope names can point at another layer of the same class, never at another
class). The raw output stays under ``--out``.
"""

import argparse
import csv
import glob
import os
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import positive_int  # noqa: E402
from shmatting.utils.profiling import random_batch  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='MindSpore profiler, time per op type')
    parser.add_argument('mode', choices=['train', 'infer'])
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/shm/e2e_8x8.py'))
    parser.add_argument('--batch', type=positive_int, default=2)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--steps', type=positive_int, default=2)
    parser.add_argument('--out', default='work_dirs/ms_profile')
    parser.add_argument('--top', type=positive_int, default=15)
    parser.add_argument(
        '--by-layer', action='store_true', help='the kernels by layer class, forward / backward'
    )
    parser.add_argument(
        '--no-fuse', action='store_true', help='infer: keep the BatchNorms (not folded)'
    )
    return parser.parse_args(argv)


def build_run(args):
    """A function running one training step or one inference of the config's model."""
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.train_step import MattorWithLoss, TrainStep
    from shmatting.models import build_model

    cfg = Config.fromfile(args.config)
    model = build_model(cfg.model)
    data = random_batch(args.batch if args.mode == 'train' else 1, *args.shape)
    if args.mode == 'train':
        opt = build_optimizer(cfg.optimizer, model.phase_trainable_params(), 1e-4)
        step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names))
        step.set_train()
        inputs = [ms.Tensor(data[k]) for k in model.train_inputs()]
        return lambda: step(*inputs).asnumpy(), data['img'].shape[0]
    model.set_train(False)
    if not args.no_fuse:  # as the inference tools run it
        from shmatting.models.layers import fuse_conv_bn

        fuse_conv_bn(model)
    x = ms.Tensor(data['img'])
    return lambda: model(x)[1].asnumpy(), 1


def newest_csv(out_dir: str, kind: str) -> str:
    """The newest run's ``{kind}_*.csv`` under ``out_dir`` (exits with an error line if none)."""
    files = glob.glob(osp.join(out_dir, '**', f'{kind}_*.csv'), recursive=True)
    if not files:
        sys.exit(f'error: the profiler wrote no {kind} csv under {out_dir}')
    return max(files, key=os.path.getmtime)


def op_type_totals(out_dir):
    """Total milliseconds per op type from the profiler's cpu_op_type_info csv."""
    totals = {}
    with open(newest_csv(out_dir, 'cpu_op_type_info')) as f:
        for row in csv.DictReader(f):
            name = row.get('op_type') or row.get('Op Type') or list(row.values())[0]
            time_key = next(k for k in row if 'total' in k.lower() and 'time' in k.lower())
            totals[name] = totals.get(name, 0.0) + float(row[time_key])
    return totals


def layer_kind(full_op_name: str) -> str:
    """``'forward Cls'`` / ``'backward Cls'`` for a kernel, from its scope, e.g.
    ``Gradients/Default/.../0-SameConv2d/Grad_Custom/Custom-op3`` -> ``'backward SameConv2d'``.

    Args:
        full_op_name: the profiler's ``full_op_name`` of a ``Custom`` operator.

    Returns:
        The direction and the innermost cell class of the scope.
    """
    classes = re.findall(r'/[^/-]+-([A-Za-z_][A-Za-z0-9_]*)(?=/)', full_op_name)
    direction = 'backward' if full_op_name.startswith('Gradients/') else 'forward'
    return f'{direction} {classes[-1] if classes else "(no layer)"}'


def layer_totals(detail_csv: str) -> dict:
    """Milliseconds per layer kind (``Custom`` operators) and per MindSpore op type (the rest).

    Args:
        detail_csv: the profiler's ``cpu_op_detail_info_*.csv``.

    Returns:
        ``{name: total ms}`` over the profiled steps.
    """
    totals = {}
    with open(detail_csv) as f:
        for row in csv.DictReader(f):
            kind = row['op_type']
            name = layer_kind(row['full_op_name']) if kind == 'Custom' else f'MindSpore {kind}'
            totals[name] = totals.get(name, 0.0) + float(row['op_total_time(ms)'])
    return totals


def main(argv=None):
    import mindspore as ms
    from mindspore.profiler import Profiler
    from terminaltables import AsciiTable

    args = parse_args(argv)
    ms.set_device('CPU')
    ms.set_context(mode=ms.GRAPH_MODE)
    run, batch = build_run(args)
    run()
    os.makedirs(args.out, exist_ok=True)
    profiler = Profiler(output_path=args.out)
    for _ in range(args.steps):
        run()
    profiler.stop()
    profiler.analyse()
    if args.by_layer:
        totals = layer_totals(newest_csv(args.out, 'cpu_op_detail_info'))
        label = 'layer kind'
    else:
        totals, label = op_type_totals(args.out), 'op type'
    grand = sum(totals.values())
    rows = [[label, 'ms per step', '%']]
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1])[: args.top]:
        rows.append([name, f'{t / args.steps:.1f}', f'{100 * t / grand:.1f}'])
    title = f' {args.mode}, batch {batch}, {args.shape[0]}x{args.shape[1]} '
    print(AsciiTable(rows, title=title).table)
    print(f'raw profiler output: {args.out} ({np.round(grand / args.steps, 1)} ms of ops per step)')


if __name__ == '__main__':
    main()
