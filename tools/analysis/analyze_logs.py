"""Plot curves and summarise training time from JSON-lines logs.

Usage:
    python tools/analysis/analyze_logs.py plot_curve LOG.json [LOG2.json ...] --keys loss SAD
        [--out curve.png] [--title T]
    python tools/analysis/analyze_logs.py cal_train_time LOG.json [...]

``plot_curve`` needs matplotlib (``pip install -e ".[optional]"``); train keys are plotted against
the iteration, val keys (SAD, MSE, mIoU...) against the iteration of their evaluation. Without
``--keys`` it plots the loss and every validation metric the logs hold, one panel each.
"""

import argparse
import json
import sys

import numpy as np


def load_log(path):
    """Records of a ``.log.json`` file, split by ``mode``."""
    out = {'train': [], 'val': []}
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line:
                record = json.loads(line)
                out.setdefault(record.get('mode', 'train'), []).append(record)
    return out


NOT_METRICS = ('mode', 'epoch', 'iter', 'protocol', 'convention', 'scored', 'images')


def default_keys(paths):
    """The loss and every validation metric found in the logs."""
    metrics = []
    for path in paths:
        for record in load_log(path)['val']:
            metrics += [k for k in record if k not in NOT_METRICS and k not in metrics]
    return ['loss'] + metrics


def plot_curve(args):
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit(
            'error: plot_curve needs matplotlib: pip install matplotlib '
            '(or pip install -e ".[optional]")'
        )
    args.keys = args.keys or default_keys(args.logs)
    fig, axes = plt.subplots(len(args.keys), 1, figsize=(8, 3 * len(args.keys)), squeeze=False)
    plotted = 0
    for ax, key in zip(axes[:, 0], args.keys):
        for path in args.logs:
            log = load_log(path)
            for mode in ('train', 'val'):
                points = [(r['iter'], r[key]) for r in log[mode] if key in r]
                if points:
                    xs, ys = zip(*points)
                    ax.plot(
                        xs,
                        ys,
                        marker='o' if mode == 'val' else None,
                        label=f'{path.split("/")[-1]} {mode}',
                    )
                    plotted += 1
        ax.set_xlabel('iteration')
        ax.set_ylabel(key)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if not plotted:
        sys.exit(f'error: none of the keys {args.keys} is in the logs')
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'saved {args.out}')


def cal_train_time(args):
    for path in args.logs:
        train = load_log(path)['train']
        times = np.array([r['time'] for r in train if 'time' in r])
        if len(times) == 0:
            print(f'{path}: no timed training records')
            continue
        # the first window includes the graph compilation and the first-touch allocations
        steady = times[1:] if len(times) > 1 else times
        print(
            f'{path}\n  slowest window: {times.max():.3f} s/iter, fastest: {times.min():.3f}\n'
            f'  average (without the first window): {steady.mean():.3f} s/iter, '
            f'std {steady.std():.3f}'
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description='analyse shmatting JSON logs')
    sub = parser.add_subparsers(dest='task', required=True)
    p = sub.add_parser('plot_curve')
    p.add_argument('logs', nargs='+')
    p.add_argument('--keys', nargs='+', default=None, help='default: loss and the val metrics')
    p.add_argument('--out', default='curve.png')
    p.add_argument('--title')
    c = sub.add_parser('cal_train_time')
    c.add_argument('logs', nargs='+')
    args = parser.parse_args(argv)
    plot_curve(args) if args.task == 'plot_curve' else cal_train_time(args)


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
