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
from shmatting.datasets.image_io import CorruptSampleError, read_image  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='test split -> .bin model inputs')
    parser.add_argument('sidecar', help='<exported model>.json from tools/export_mindir.py')
    parser.add_argument('--out', default='preprocess_Result')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--config', help='default: the config recorded in the sidecar')
    parser.add_argument('--data-root', help='default: the data_root recorded in the sidecar')
    parser.add_argument('--limit', type=positive_int, default=None, help='only the first N images')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def load_split(args, meta):
    """The split's dataset, from the sidecar's config and absolute data root (the flow runs in
    another folder than the export did)."""
    from shmatting.datasets import build_dataset

    cfg = Config.fromfile(args.config or meta['config'])
    cfg.merge_from_dict(meta.get('cfg_options') or {})
    cfg.merge_from_dict(args.cfg_options)
    data_root = args.data_root or meta.get('data_root') or cfg.get('data_root')
    print(f'reading the {args.split} split of {osp.abspath(data_root)}')
    return build_dataset(dict(cfg.data[args.split], pipeline=[]), data_root=data_root)


def write_sample(args, i, sample, mean, std, size):
    """One sample's three files; a corrupt image or alpha is named (nothing is written)."""
    name = sample_name(i, sample['rel'])
    img = read_image(sample['img_path'], cv2.IMREAD_COLOR)
    read_image(sample['alpha_path'], cv2.IMREAD_GRAYSCALE)
    x = cv2.resize((img.astype(np.float32) - mean) / std, size, interpolation=cv2.INTER_CUBIC)
    x.transpose(2, 0, 1)[None].astype('<f4').tofile(osp.join(args.out, 'img_data', name + '.bin'))
    shutil.copyfile(sample['alpha_path'], osp.join(args.out, 'label', name + '.png'))
    shutil.copyfile(sample['img_path'], osp.join(args.out, 'clip_data', name + '.jpg'))


def main(argv=None):
    from shmatting.utils import ProgressBar

    args = parse_args(argv)
    meta = load_sidecar(args.sidecar)
    dataset = load_split(args, meta)
    n, c, h, w = meta['input']['shape']
    mean = np.asarray(meta['input']['mean'], np.float32)
    std = np.asarray(meta['input']['std'], np.float32)
    for sub in ('img_data', 'label', 'clip_data'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    count = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    bar = ProgressBar(count, desc='preprocess')
    left_out = []
    for i in range(count):
        try:
            write_sample(args, i, dataset.samples[i], mean, std, (w, h))
        except CorruptSampleError as exc:  # named and left out, as tools/test.py does
            left_out.append(f'{dataset.samples[i]["rel"]}: {exc}')
        bar.update()
    for line in left_out:
        print(f'left out {line}')
    print(
        f'wrote {count - len(left_out)} of {count} inputs of {n}x{c}x{h}x{w} float32 to '
        f'{osp.join(args.out, "img_data")}'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
