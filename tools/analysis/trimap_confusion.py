"""The T-Net's three classes against the ground-truth trimap: a confusion matrix.

Usage: python tools/analysis/trimap_confusion.py CONFIG CKPT [--split test]
           [--out work_dirs/<config>/trimap_confusion.png] [--cfg-options ...]

Every pixel of the split (at the original resolution, under the config's protocol) counts once:
rows are the ground-truth classes (background, unknown, foreground), columns the predicted ones.
Prints the counts, the row-normalised matrix (recall per class on the diagonal), the per-class
IoU and mIoU (as TrimapIoU), and writes a heat map PNG of the normalised matrix.
"""

import argparse
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

CLASSES = ('background', 'unknown', 'foreground')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="the T-Net's trimap confusion matrix")
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument(
        '--out', help='heat map PNG (default: work_dirs/<config>/trimap_confusion.png)'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def confusion(model, loader):
    """3 x 3 pixel counts (rows ground truth, columns prediction) and the images left out."""
    from shmatting.evaluation import predict_image

    counts, left_out = np.zeros((3, 3), np.int64), []
    for batch in loader:
        if 'error' in batch:
            left_out.append(batch['error'])
            continue
        _, classes = predict_image(model, batch['img'][0], model.test_cfg)
        gt = batch['trimap'][0, 0].astype(np.int64)
        counts += np.bincount(gt.ravel() * 3 + classes.ravel(), minlength=9).reshape(3, 3)
    return counts, left_out


def heat_map(matrix, path, cell=120):
    """The row-normalised matrix as a PNG: white 0 to dark blue 1, values written in."""
    size = cell * 3
    img = np.full((size + 40, size + 110, 3), 255, np.uint8)
    for r in range(3):
        for c in range(3):
            shade = int(255 * (1 - matrix[r, c]))
            x0, y0 = 110 + c * cell, 40 + r * cell
            cv2.rectangle(img, (x0, y0), (x0 + cell - 2, y0 + cell - 2), (255, shade, shade), -1)
            color = (255, 255, 255) if matrix[r, c] > 0.5 else (0, 0, 0)
            cv2.putText(
                img,
                f'{matrix[r, c]:.3f}',
                (x0 + 28, y0 + cell // 2 + 6),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.6,
                color,
                1,
                cv2.LINE_AA,
            )
        cv2.putText(
            img,
            CLASSES[r][:10],
            (4, 40 + r * cell + cell // 2 + 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
        cv2.putText(
            img,
            CLASSES[r][:10],
            (110 + r * cell + 20, 28),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    write_image(path, img)


def main(argv=None):
    from terminaltables import AsciiTable

    from shmatting.apis import load_mattor, load_split
    from shmatting.engine.context import apply_context
    from shmatting.evaluation import protocol_name
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    apply_context(cfg.get('context'))
    model = load_mattor(cfg, args.checkpoint)
    dataset, loader = load_split(cfg, args.split)
    counts, left_out = confusion(model, loader)
    normalised = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    inter = np.diag(counts).astype(float)
    union = counts.sum(0) + counts.sum(1) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan)
    rows = [['ground truth \\ predicted', *CLASSES, 'IoU']]
    for r, name in enumerate(CLASSES):
        cells = [f'{counts[r, c]} ({normalised[r, c]:.3f})' for c in range(3)]
        rows.append([name, *cells, f'{iou[r]:.4f}'])
    for error in left_out:
        print(f'left out: {error}')
    print(
        f'{args.split}: {len(loader) - len(left_out)} of {len(loader)} images, protocol '
        f'{protocol_name(model.test_cfg)}'
    )
    print(AsciiTable(rows).table)
    print(f'mIoU: {np.nanmean(iou):.6f}')
    out = args.out or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0], 'trimap_confusion.png'
    )
    heat_map(normalised, out)
    print(f'heat map: {out}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
