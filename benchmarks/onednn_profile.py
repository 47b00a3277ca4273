"""Where the time goes inside oneDNN: per-primitive totals from ``ONEDNN_VERBOSE=1``.

Usage: python benchmarks/onednn_profile.py train|infer [--config C] [--batch 8] [--shape 320 320]
           [--steps 2]

Runs the measured steps in a child process with oneDNN's verbose log on, then sums the execution
time of every primitive per kind (convolution split into depthwise / 1x1 / other, forward and
backward), with the implementation oneDNN chose. MindSpore kernels outside oneDNN (element-wise,
slicing, optimizer) are not in this log: their share is the step time minus the oneDNN total.
"""

import argparse
import collections
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

CHILD = r"""
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
import shmatting
import mindspore as ms
from shmatting.config import Config
from shmatting.models import build_model
ms.set_device('CPU'); ms.set_context(mode=ms.GRAPH_MODE)
cfg = Config.fromfile({config!r})
model = build_model(cfg.model)
rng = np.random.default_rng(0)
b, h, w = {batch}, {h}, {w}
x = ms.Tensor(rng.uniform(-.5, .5, (b, 3, h, w)).astype(np.float32))
if {train}:
    from shmatting.engine.optimizers import build_optimizer
    from shmatting.engine.train_step import MattorWithLoss, TrainStep
    opt = build_optimizer(cfg.optimizer, model.phase_trainable_params(), 1e-4)
    step = TrainStep(MattorWithLoss(model), opt, len(model.loss_names)); step.set_train()
    args = (x, ms.Tensor(rng.integers(0, 3, (b, 1, h, w)).astype(np.int32)),
            ms.Tensor(rng.uniform(0, 1, (b, 1, h, w)).astype(np.float32)),
            ms.Tensor(rng.uniform(0, 1, (b, 3, h, w)).astype(np.float32)),
            ms.Tensor(rng.uniform(0, 1, (b, 3, h, w)).astype(np.float32)))
    run = lambda: step(*args).asnumpy()
else:
    model.set_train(False)
    if {fuse}:  # as the inference tools run it
        from shmatting.models.layers import fuse_conv_bn
        fuse_conv_bn(model)
    run = lambda: model(x)[1].asnumpy()
for _ in range(2):
    run()
print('@@MEASURE_START', flush=True)
start = time.perf_counter()
for _ in range({steps}):
    run()
print('@@MEASURE_END %.6f' % ((time.perf_counter() - start) / {steps}), flush=True)
"""


def classify(fields):
    kind, impl, prop = fields[5], fields[6], fields[7]
    desc = fields[-2] if len(fields) > 2 else ''
    if kind == 'convolution':
        groups = re.match(r'g(\d+)', desc)
        k = re.search(r'kh(\d+)', desc)
        if groups and int(groups.group(1)) > 1:
            sub = 'depthwise'
        elif k and k.group(1) == '1':
            sub = '1x1'
        else:
            sub = 'kxk'
        kind = f'conv {sub}'
    elif kind == 'deconvolution':
        kind = 'deconv'
    direction = 'bwd' if 'backward' in prop else 'fwd'
    return f'{kind} {direction}', impl


def parse_args(argv=None):
    sys.path.insert(0, ROOT)
    from shmatting.utils.cli import positive_int

    parser = argparse.ArgumentParser(description='oneDNN time per primitive kind')
    parser.add_argument('mode', choices=['train', 'infer'])
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/shm/e2e_8x8.py'))
    parser.add_argument('--batch', type=positive_int, default=None)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--steps', type=positive_int, default=2)
    parser.add_argument(
        '--no-fuse', action='store_true', help='infer: keep the BatchNorms (not folded)'
    )
    return parser.parse_args(argv)


def parse_verbose(stdout):
    """oneDNN milliseconds and implementations per primitive kind, and the measured step time."""
    totals, impls, step_time, on = collections.Counter(), {}, None, False
    for line in stdout.splitlines():
        if line.startswith('@@MEASURE_START'):
            on = True
        elif line.startswith('@@MEASURE_END'):
            step_time = float(line.split()[1])
            on = False
        elif on and line.startswith('onednn_verbose') and ',exec,' in line:
            fields = line.split(',')
            key, impl = classify(fields)
            totals[key] += float(fields[-1])
            impls.setdefault(key, set()).add(impl)
    return totals, impls, step_time


def main(argv=None):
    from terminaltables import AsciiTable

    args = parse_args(argv)
    batch = args.batch or (8 if args.mode == 'train' else 1)
    code = CHILD.format(
        root=ROOT,
        config=args.config,
        batch=batch,
        h=args.shape[0],
        w=args.shape[1],
        train=args.mode == 'train',
        steps=args.steps,
        fuse=not args.no_fuse,
    )
    env = dict(os.environ, ONEDNN_VERBOSE='1', GLOG_v='3')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(out.stderr[-2000:])
    totals, impls, step_time = parse_verbose(out.stdout)
    per_step = {k: v / args.steps for k, v in totals.items()}
    total, step_ms = sum(per_step.values()), step_time * 1000
    rows = [['primitive', 'ms/step', '% of step', 'oneDNN implementation']]
    for key, ms_ in sorted(per_step.items(), key=lambda kv: -kv[1]):
        rows.append(
            [key, f'{ms_:.1f}', f'{100 * ms_ / step_ms:.1f}', ', '.join(sorted(impls[key]))]
        )
    rows.append(['oneDNN total', f'{total:.1f}', f'{100 * total / step_ms:.1f}', ''])
    rows.append(
        [
            'outside oneDNN (MindSpore kernels, framework)',
            f'{step_ms - total:.1f}',
            f'{100 - 100 * total / step_ms:.1f}',
            '',
        ]
    )
    title = (
        f' {args.mode} batch {batch} {args.shape[0]}x{args.shape[1]}: '
        f'{step_time:.3f} s/step (verbose on) '
    )
    print(AsciiTable(rows, title=title).table)


if __name__ == '__main__':
    main()
