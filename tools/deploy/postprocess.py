"""Offline inference, step 3: alpha back to the original size, SAD per image, composites.

Usage: python tools/deploy/postprocess.py SIDECAR_JSON --result-dir result_Files
           --data-dir preprocess_Result [--out postprocess_Result]

For every input the preprocessing wrote (``img_data/<name>.bin``) reads ``<name>_1.bin`` (a
missing, short or non-finite result file stops the flow with its name: no image is silently
dropped from the score), resizes the alpha bicubically to the original image's size, clips
to [0, 1] when the sidecar's protocol says so, prints ``{path}\tsad\t{sad}`` per image (SAD = sum of
|alpha - label/255| / 1000) and ``Total images: N, total sad: S, ave sad: A``, and writes
``alpha * image`` composites to ``postprocess_Result/<name>.jpg``.
"""

import argparse
import os
import os.path as osp

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _common import load_sidecar

from shmatting.datasets.image_io import read_image, write_image


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='score offline inference results')
    parser.add_argument('sidecar')
    parser.add_argument('--result-dir', default='result_Files')
    parser.add_argument('--data-dir', default='preprocess_Result')
    parser.add_argument('--out', default='postprocess_Result')
    return parser.parse_args(argv)


def expected_stems(data_dir):
    """Every input the preprocessing wrote: each must have its result."""
    inputs = osp.join(data_dir, 'img_data')
    if not osp.isdir(inputs):
        raise FileNotFoundError(f'no preprocessed inputs: {inputs} does not exist')
    stems = sorted(f[: -len('.bin')] for f in os.listdir(inputs) if f.endswith('.bin'))
    if not stems:
        raise FileNotFoundError(f'no .bin inputs in {inputs}')
    return stems


def read_alpha(path, h, w):
    """The alpha output of one input, checked: present, complete, finite."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'missing result file {path} (inference did not write it)')
    if osp.getsize(path) != h * w * 4:
        raise ValueError(
            f'result file {path} has {osp.getsize(path)} bytes, expected '
            f'{h * w * 4} (float32 {h}x{w}): truncated or from another model'
        )
    alpha = np.fromfile(path, '<f4').reshape(h, w)
    if not np.isfinite(alpha).all():
        raise ValueError(f'result file {path} holds NaN or Inf values')
    return alpha


def score(args, stem, alpha, clamp):
    """SAD of one image at its original size; writes its composite."""
    image = read_image(osp.join(args.data_dir, 'clip_data', stem + '.jpg'), cv2.IMREAD_COLOR)
    label = read_image(osp.join(args.data_dir, 'label', stem + '.png'), cv2.IMREAD_GRAYSCALE)
    alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    if clamp:
        alpha = np.clip(alpha, 0, 1)
    composite = np.clip(alpha[..., None] * image, 0, 255).astype(np.uint8)
    write_image(osp.join(args.out, stem + '.jpg'), composite)
    return float(np.abs(alpha.astype(np.float64) - label / 255.0).sum() / 1000)


def main(argv=None):
    args = parse_args(argv)
    meta = load_sidecar(args.sidecar)
    _, _, h, w = meta['input']['shape']
    clamp = meta['protocol'].get('clamp', True)
    stems = expected_stems(args.data_dir)
    alphas = {s: read_alpha(osp.join(args.result_dir, f'{s}_1.bin'), h, w) for s in stems}
    os.makedirs(args.out, exist_ok=True)
    sads = []
    for stem in stems:
        sads.append(score(args, stem, alphas[stem], clamp))
        print(f'{osp.join(args.data_dir, "clip_data", stem + ".jpg")}\tsad\t{sads[-1]}')
    print(f'Total images: {len(sads)}, total sad: {sum(sads)}, ave sad: {np.mean(sads)}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
