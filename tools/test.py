"""Evaluate a checkpoint on the test split.

Usage: python tools/test.py CONFIG CKPT [--metrics SAD MSE MAD Grad Conn] [--split test]
           [--out results.json] [--show-dir DIR] [--launcher none|msrun|rank_table]
           [--cfg-options ...]

Metric names are METRICS types or their keys (SAD, MSE, MAD, Grad, Conn, mIoU); the convention
(p3m or dim) comes from ``--cfg-options`` on ``evaluation.convention`` (default p3m) and the
protocol from ``model.test_cfg``.

Prints a terminaltables summary (convention, protocol, units) and ends with ``ave_sad: X`` as the
model zoo's eval.py did. With several ranks (tools/dist_test.sh) each rank scores its share and the
metric states are summed, so the numbers equal a single-process run.
"""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import shmatting  # noqa: E402,F401
from shmatting.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='evaluate an SHM checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--metrics', nargs='+', default=None,
                        help='METRICS names (default: SAD MSE MAD, or TrimapIoU for a T-Net config)')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--out', help='write per-image and summary results to this JSON file')
    parser.add_argument('--show-dir', help='write alpha PNGs, trimaps and composites here')
    parser.add_argument('--launcher', choices=['none', 'msrun', 'rank_table'], default='none')
    parser.add_argument('--device-target', choices=['auto', 'CPU', 'GPU', 'Ascend'], default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def main(argv=None):
    from terminaltables import AsciiTable
    from shmatting.datasets import build_dataloader, build_dataset
    from shmatting.apis import load_mattor
    from shmatting.engine.dist import all_reduce_sum, init_dist
    from shmatting.engine.runner import apply_context
    from shmatting.evaluation import Evaluator
    from shmatting.utils import ProgressBar

    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint not found: {args.checkpoint}')
    ctx = apply_context(cfg.get('context'), args.device_target, launcher=args.launcher)
    rank, world = init_dist(args.launcher, ctx['device_target'])
    try:
        model = load_mattor(cfg, args.checkpoint)
    except ValueError as exc:
        sys.exit(f'error: {exc}')
    phase = model.train_phase
    names = args.metrics or (['TrimapIoU'] if phase == 'tnet' else ['SAD', 'MSE', 'MAD'])
    convention = (cfg.get('evaluation') or {}).get('convention', 'p3m')
    aliases = dict(Grad='GradientError', Conn='ConnectivityError', mIoU='TrimapIoU')
    metrics = [dict(type=aliases.get(n, n)) if aliases.get(n, n) == 'TrimapIoU' else
               dict(type=aliases.get(n, n), convention=convention) for n in names]
    evaluator = Evaluator(metrics, model.test_cfg, use_gt_trimap=phase == 'mnet')
    dataset = build_dataset(cfg.data[args.split], data_root=cfg.get('data_root'), seed=0)
    loader = build_dataloader(dataset, 1, workers=0, rank=rank, world_size=world, mode='eval')
    bar = ProgressBar(len(loader), desc='test') if rank == 0 else None
    per_image = []
    show = None
    if args.show_dir:
        from shmatting.visualization import save_visualization

        def show(index, alpha, classes):
            sample = dataset.samples[index]
            save_visualization(args.show_dir, sample['rel'], sample['img_path'], alpha, classes)

    results = evaluator.evaluate(model, loader, all_reduce=all_reduce_sum,
                                 progress=bar.update if bar else None, per_image=per_image,
                                 on_result=show)
    if rank != 0:
        return results
    rows = [['Metric', 'Value', 'Rule', 'Unit / region']]
    for m in evaluator.metrics:
        rows.append([m.key, f'{results[m.key]:.5f}', m.rule, m.description])
    print(f'{args.split}: {len(dataset)} images, protocol {evaluator.protocol}, '
          f'{evaluator.metrics[0].convention} convention, checkpoint {args.checkpoint}')
    print(AsciiTable(rows).table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        for record in per_image:
            record['name'] = dataset.samples[record['index']]['rel']
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint, split=args.split,
                           protocol=evaluator.protocol, convention=evaluator.metrics[0].convention,
                           metrics=results, per_image=per_image), f, indent=1)
    if 'SAD' in results:
        print(f"ave_sad: {results['SAD']:.10f}")
    return results


if __name__ == '__main__':
    main()
