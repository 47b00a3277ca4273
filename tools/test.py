"""Evaluate a checkpoint on the test split.

Usage: python tools/test.py CONFIG CKPT [--metrics SAD MSE MAD Grad Conn] [--split test]
           [--out results.json] [--show-dir DIR] [--strict] [--launcher none|msrun|rank_table]
           [--cfg-options ...]

Metric names are METRICS types or their keys (SAD, MSE, MAD, Grad, Conn, mIoU); the default is the
model's for its phase, the convention (p3m or dim) is ``default_hooks.eval.convention`` (default
p3m) and the protocol ``model.test_cfg``.

Prints a terminaltables summary (convention, protocol, units, images scored) and ends with
``ave_sad: X`` as the model zoo's eval.py did (``ave_sad_dim: X`` in the dim convention, which
is another quantity). A sample that cannot be read is named, left out and counted ("N of M
images scored"); ``--strict`` then fails. With several ranks (tools/dist_test.sh) each rank
scores its share and the metric states are summed, so the numbers equal a single-process run.
"""

import argparse
import os.path as osp
import sys

if __name__ == '__main__':
    try:  # the installed package (pip install), else this checkout
        import shmatting  # noqa: F401
    except ImportError:
        sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import shmatting  # noqa: E402,F401
from shmatting.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='evaluate an SHM checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--metrics',
        nargs='+',
        default=None,
        help="METRICS names (default: the phase's: SAD MSE MAD, or mIoU for T-Net)",
    )
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--out', help='write per-image and summary results to this JSON file')
    parser.add_argument('--show-dir', help='write alpha PNGs, trimaps and composites here')
    parser.add_argument(
        '--strict', action='store_true', help='fail when any image of the split cannot be scored'
    )
    parser.add_argument('--launcher', choices=['none', 'msrun', 'rank_table'], default='none')
    parser.add_argument('--device-target', choices=['auto', 'CPU', 'GPU', 'Ascend'], default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def build_evaluator(cfg, model, metric_names):
    """The evaluator of the config's convention and the model's protocol."""
    from shmatting.engine.hooks import eval_settings
    from shmatting.evaluation import Evaluator

    settings = eval_settings(cfg)
    names = metric_names or settings['metrics'] or model.default_metrics()
    return Evaluator(
        names,
        model.test_cfg,
        use_gt_trimap=model.eval_uses_gt_trimap,
        convention=settings['convention'],
    )


def warn_phase(checkpoint, model):
    """Warn when the checkpoint was trained in another phase than the config's."""
    from shmatting.engine.checkpoint import read_meta

    phase = read_meta(checkpoint).get('phase')
    if phase and phase != model.train_phase:
        print(
            f'warning: {checkpoint} was trained in phase {phase!r} but the config is phase '
            f'{model.train_phase!r}: the config decides the metrics and the protocol',
            file=sys.stderr,
        )


def show_callback(show_dir, dataset):
    """``on_result`` that writes visualisations, or None."""
    if not show_dir:
        return None
    from shmatting.visualization import save_visualization

    def show(index, alpha, classes):
        sample = dataset.samples[index]
        save_visualization(show_dir, sample['rel'], sample['img_path'], alpha, classes)

    return show


def main(argv=None):
    from shmatting.apis import load_mattor
    from shmatting.datasets import build_dataloader, build_dataset
    from shmatting.engine.context import apply_context
    from shmatting.engine.dist import all_reduce_sum, init_dist
    from shmatting.evaluation import last_line, report_lines, write_results_json
    from shmatting.registry import METRICS
    from shmatting.utils import ProgressBar
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    for name in args.metrics or []:  # a misspelt metric fails before anything is loaded
        METRICS.get(name)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    ctx = apply_context(cfg.get('context'), args.device_target, launcher=args.launcher)
    rank, world = init_dist(args.launcher, ctx['device_target'])
    model = load_mattor(cfg, args.checkpoint)
    warn_phase(args.checkpoint, model)
    evaluator = build_evaluator(cfg, model, args.metrics)
    dataset = build_dataset(cfg.data[args.split], data_root=cfg.get('data_root'), seed=0)
    loader = build_dataloader(dataset, 1, workers=0, rank=rank, world_size=world, mode='eval')
    bar = ProgressBar(len(loader), desc='test') if rank == 0 else None
    per_image = []
    results = evaluator.evaluate(
        model,
        loader,
        all_reduce=all_reduce_sum,
        progress=bar.update if bar else None,
        per_image=per_image,
        on_result=show_callback(args.show_dir, dataset),
    )
    if rank != 0:
        return results
    print('\n'.join(report_lines(results, args.split, f'checkpoint {args.checkpoint}')))
    if args.out:
        write_results_json(
            args.out,
            results,
            per_image,
            dataset.samples,
            config=args.config,
            checkpoint=args.checkpoint,
            split=args.split,
        )
    if args.strict and not results.complete:
        raise ValueError(f'--strict: {results.coverage_line()} of the {args.split} split')
    if last_line(results):
        print(last_line(results))
    return results


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
