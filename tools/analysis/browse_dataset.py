"""Look at what the training pipeline produces: a grid of images, trimaps and alphas.

Usage: python tools/analysis/browse_dataset.py CONFIG [--num 8] [--epoch 0] [--out grid.png]
           [--cfg-options ...]

Each row is one sample after the train pipeline (de-normalised image, trimap classes as
0/128/255, alpha), to check crops, flips, compositing and trimap widths.
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.config import Config, DictAction  # noqa: E402
from shmatting.datasets.image_io import write_image  # noqa: E402
from shmatting.utils.cli import non_negative_int, positive_int  # noqa: E402


def main(argv=None):
    from shmatting.apis import get_norm_cfg
    from shmatting.datasets import build_dataset

    parser = argparse.ArgumentParser(description='grid of training samples after the pipeline')
    parser.add_argument('config')
    parser.add_argument('--num', type=positive_int, default=8)
    parser.add_argument('--epoch', type=non_negative_int, default=0)
    parser.add_argument('--out', default='dataset_grid.png')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    dataset = build_dataset(cfg.data.train, data_root=cfg.get('data_root'), seed=0)
    norm = get_norm_cfg(cfg, 'train')
    rows = []
    for i in range(min(args.num, len(dataset))):
        inputs = dataset.get_sample(i, args.epoch)['inputs']
        img = inputs['img'].transpose(1, 2, 0) * np.asarray(norm['std']) + np.asarray(norm['mean'])
        img = np.clip(img, 0, 255).astype(np.uint8)
        tri = inputs['trimap'][0]
        tri = (tri * 127.5).round().astype(np.uint8) if tri.max() <= 2 else tri.astype(np.uint8)
        alpha = (inputs['alpha'][0] * 255).round().astype(np.uint8)
        rows.append(
            np.hstack(
                [
                    img,
                    cv2.cvtColor(tri, cv2.COLOR_GRAY2BGR),
                    cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR),
                ]
            )
        )
    if not rows:
        sys.exit('error: the dataset is empty')
    height = max(r.shape[0] for r in rows)
    grid = np.vstack([cv2.resize(r, (r.shape[1] * height // r.shape[0], height)) for r in rows])
    write_image(args.out, grid)
    print(f'saved {args.out}: {len(rows)} samples (image | trimap | alpha) of epoch {args.epoch}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
