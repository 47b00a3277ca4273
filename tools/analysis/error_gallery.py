"""Look rather than read: the worst images of a split by SAD, side by side.

Usage: python tools/analysis/error_gallery.py CONFIG CKPT [--split test] [--num 8]
           [--out work_dirs/<config>/gallery] [--cfg-options ...]

Scores every image of the split under the config's protocol (as tools/test.py does), then writes
for the ``--num`` worst by SAD a contact sheet ``<rank>_<name>.png`` (input | ground truth |
prediction | error map, blue 0 to red 1 | composite on green), all of them stacked in
``worst.png``, and one static page ``index.html`` with the rank, name, SAD and MSE of each.
"""

import argparse
import html
import os
import os.path as osp
import sys

if __name__ == '__main__':
    try:  # the installed package (pip install), else this checkout
        import shmatting  # noqa: F401
    except ImportError:
        sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.config import DictAction  # noqa: E402
from shmatting.datasets.image_io import write_image  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='the worst images by SAD, side by side')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--num', type=positive_int, default=8, help='how many of the worst images')
    parser.add_argument('--out', help='default: work_dirs/<config>/gallery')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def score_all(model, loader):
    """Per-image SAD and MSE of the split (p3m), images that cannot be read left out."""
    from shmatting.evaluation import Evaluator

    per_image = []
    evaluator = Evaluator(['SAD', 'MSE'], model.test_cfg, use_gt_trimap=model.eval_uses_gt_trimap)
    results = evaluator.evaluate(model, loader, per_image=per_image)
    return results, per_image


def sheet(model, dataset, index):
    """One image's row: input, ground truth, prediction, error, composite."""
    from shmatting.evaluation import predict_image
    from shmatting.visualization import composite, error_map, gray, labelled_row, parse_background

    sample = dataset.samples[index]
    image = cv2.imread(sample['img_path'], cv2.IMREAD_COLOR)
    gt = cv2.imread(sample['alpha_path'], cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    alpha, _ = predict_image(model, dataset.get_sample(index)['inputs']['img'], model.test_cfg)
    tiles = [
        image,
        gray(gt),
        gray(alpha),
        error_map(alpha, gt),
        composite(image, alpha, parse_background('green', gt.shape)),
    ]
    return labelled_row(tiles, ['input', 'ground truth', 'prediction', '|error|', 'composite'])


def write_page(out, rows, results):
    """index.html: one table row per image with its sheet."""
    lines = [
        '<!doctype html><meta charset="utf-8"><title>worst images by SAD</title>',
        f'<h1>worst {len(rows)} images by SAD</h1>',
        f'<p>protocol {html.escape(results.protocol)}, {results.convention} convention, '
        f'{html.escape(results.coverage_line())}; mean SAD {results["SAD"]:.4f}</p>',
        '<table><tr><th>rank</th><th>image</th><th>SAD</th><th>MSE</th><th></th></tr>',
    ]
    for rank, (record, png) in enumerate(rows, 1):
        lines.append(
            f'<tr><td>{rank}</td><td>{html.escape(record["name"])}</td>'
            f'<td>{record["SAD"]:.4f}</td><td>{record["MSE"]:.5f}</td>'
            f'<td><img src="{html.escape(png)}" height="160"></td></tr>'
        )
    lines.append('</table>')
    with open(osp.join(out, 'index.html'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def main(argv=None):
    from shmatting.apis import load_mattor, load_split
    from shmatting.engine.context import apply_context
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    apply_context(cfg.get('context'))
    model = load_mattor(cfg, args.checkpoint)
    dataset, loader = load_split(cfg, args.split)
    results, per_image = score_all(model, loader)
    worst = sorted(per_image, key=lambda r: -r['SAD'])[: args.num]
    out = args.out or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0], 'gallery')
    os.makedirs(out, exist_ok=True)
    rows, sheets = [], []
    for rank, record in enumerate(worst, 1):
        record['name'] = dataset.samples[record['index']]['rel']
        png = f'{rank:03d}_{osp.basename(record["name"])}.png'
        sheets.append(sheet(model, dataset, record['index']))
        write_image(osp.join(out, png), sheets[-1])
        rows.append((record, png))
    width = max(s.shape[1] for s in sheets)
    stacked = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0))) for s in sheets]
    write_image(osp.join(out, 'worst.png'), np.concatenate(stacked, axis=0))
    write_page(out, rows, results)
    print(
        f'{len(rows)} worst of {results.coverage_line()} ({results.protocol}): '
        f'{osp.join(out, "index.html")}, {osp.join(out, "worst.png")}'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
