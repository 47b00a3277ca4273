"""Offline inference, step 1: test images -> float32 ``.bin`` inputs (the model zoo's 310 flow).

Usage: python tools/deploy/preprocess.py SIDECAR_JSON --out preprocess_Result [--split test]
           [--limit N] [--cfg-options ...]

For line ``i`` of the split, writes (same names and formats as the zoo):
    img_data/matting_{i:04d}_{name}.bin    float32 NCHW at the export size, little-endian
    label/matting_{i:04d}_{name}.png       the ground-truth alpha
    clip_data/matting_{i:04d}_{name}.jpg   the original image
The image is normalised with the sidecar's mean/std, then resized bicubically to the export size:
the same arithmetic as ``tools/test.py`` with ``test_cfg.resize='squash'``.
"""

import argparse
import os
import os.path as osp
import shutil

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _common import load_sidecar, sample_name

import shmatting  # noqa: E402,F401
from shmatting.config import Config, DictAction  # noqa: E402


def main(argv=None):
    from shmatting.datasets import build_dataset
    from shmatting.utils import ProgressBar

    parser = argparse.ArgumentParser(description='test split -> .bin model inputs')
    parser.add_argument('sidecar', help='<exported model>.json from tools/export_mindir.py')
    parser.add_argument('--out', default='preprocess_Result')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--config', help='default: the config recorded in the sidecar')
    parser.add_argument('--limit', type=int, default=None, help='only the first N images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    meta = load_sidecar(args.sidecar)
    cfg = Config.fromfile(args.config or meta['config'])
    cfg.merge_from_dict(meta.get('cfg_options') or {})
    cfg.merge_from_dict(args.cfg_options)
    dataset = build_dataset(dict(cfg.data[args.split], pipeline=[]), data_root=cfg.get('data_root'))
    n, c, h, w = meta['input']['shape']
    mean = np.asarray(meta['input']['mean'], np.float32)
    std = np.asarray(meta['input']['std'], np.float32)
    for sub in ('img_data', 'label', 'clip_data'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    count = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    bar = ProgressBar(count, desc='preprocess')
    for i in range(count):
        sample = dataset.samples[i]
        name = sample_name(i, sample['rel'])
        img = cv2.imread(sample['img_path'], cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f'error: unreadable image {sample["img_path"]}')
        x = (img.astype(np.float32) - mean) / std
        x = cv2.resize(x, (w, h), interpolation=cv2.INTER_CUBIC)
        x.transpose(2, 0, 1)[None].astype('<f4').tofile(
            osp.join(args.out, 'img_data', name + '.bin')
        )
        shutil.copyfile(sample['alpha_path'], osp.join(args.out, 'label', name + '.png'))
        shutil.copyfile(sample['img_path'], osp.join(args.out, 'clip_data', name + '.jpg'))
        bar.update()
    print(f'wrote {count} inputs of {n}x{c}x{h}x{w} float32 to {osp.join(args.out, "img_data")}')


if __name__ == '__main__':
    main()
