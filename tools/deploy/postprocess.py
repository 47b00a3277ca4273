"""Offline inference, step 3: alpha back to the original size, SAD per image, composites.

Usage: python tools/deploy/postprocess.py SIDECAR_JSON --result-dir result_Files
           --data-dir preprocess_Result [--out postprocess_Result]

Reads the sorted ``*_1.bin`` alphas, resizes each bicubically to its original image's size, clips
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


def main(argv=None):
    parser = argparse.ArgumentParser(description='score offline inference results')
    parser.add_argument('sidecar')
    parser.add_argument('--result-dir', default='result_Files')
    parser.add_argument('--data-dir', default='preprocess_Result')
    parser.add_argument('--out', default='postprocess_Result')
    args = parser.parse_args(argv)
    meta = load_sidecar(args.sidecar)
    _, _, h, w = meta['input']['shape']
    clamp = meta['protocol'].get('clamp', True)
    os.makedirs(args.out, exist_ok=True)
    files = sorted(f for f in os.listdir(args.result_dir) if f.endswith('_1.bin'))
    if not files:
        raise SystemExit(f'error: no *_1.bin results in {args.result_dir}')
    sads = []
    for name in files:
        stem = name[: -len('_1.bin')]
        alpha = np.fromfile(osp.join(args.result_dir, name), '<f4').reshape(h, w)
        image = cv2.imread(osp.join(args.data_dir, 'clip_data', stem + '.jpg'), cv2.IMREAD_COLOR)
        label = cv2.imread(osp.join(args.data_dir, 'label', stem + '.png'), cv2.IMREAD_GRAYSCALE)
        if image is None or label is None:
            raise SystemExit(
                f'error: missing clip_data/{stem}.jpg or label/{stem}.png in {args.data_dir}'
            )
        alpha = cv2.resize(alpha, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
        if clamp:
            alpha = np.clip(alpha, 0, 1)
        sad = float(np.abs(alpha.astype(np.float64) - label / 255.0).sum() / 1000)
        sads.append(sad)
        print(f'{osp.join(args.data_dir, "clip_data", stem + ".jpg")}\tsad\t{sad}')
        composite = np.clip(alpha[..., None] * image, 0, 255).astype(np.uint8)
        cv2.imwrite(osp.join(args.out, stem + '.jpg'), composite)
    print(f'Total images: {len(sads)}, total sad: {sum(sads)}, ave sad: {np.mean(sads)}')


if __name__ == '__main__':
    main()
