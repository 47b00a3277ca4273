"""Matte images: python tools/demo/image_demo.py IMG [IMG ...] --config C --checkpoint K --out DIR
           [--background green|B,G,R|IMAGE]

Writes ``<name>_alpha.png`` and ``<name>_composite.jpg`` per image, at the image's own size.
"""

import argparse
import os
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401


def main(argv=None):
    from shmatting.apis import inference_mattor, init_mattor
    from shmatting.datasets.image_io import (
        CorruptSampleError,
        as_uint8_bgr,
        read_image,
        write_image,
    )
    from shmatting.visualization import composite, parse_background

    parser = argparse.ArgumentParser(description='alpha mattes and composites of images')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--background', default='green')
    parser.add_argument('--device-target', default='CPU')
    args = parser.parse_args(argv)
    model = init_mattor(args.config, args.checkpoint, args.device_target)
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    for path in args.images:
        try:
            image = read_image(path, cv2.IMREAD_UNCHANGED)  # uint16/float/grey by the API's rule
            alpha = inference_mattor(model, image)
            image = as_uint8_bgr(image)
        except (CorruptSampleError, ValueError, TypeError) as exc:
            print(f'skipped {path}: {exc}', file=sys.stderr)
            failed += 1
            continue
        stem = osp.splitext(osp.basename(path))[0]
        write_image(osp.join(args.out, stem + '_alpha.png'), np.rint(alpha * 255).astype(np.uint8))
        write_image(
            osp.join(args.out, stem + '_composite.jpg'),
            composite(image, alpha, parse_background(args.background, image.shape[:2])),
        )
        print(f'{path} -> {osp.join(args.out, stem)}_alpha.png, _composite.jpg')
    if failed:
        raise ValueError(f'{failed} of {len(args.images)} images could not be matted (named above)')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
