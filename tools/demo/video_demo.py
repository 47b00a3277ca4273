"""Matte a video file or a camera: python tools/demo/video_demo.py SOURCE --config C --checkpoint K
           --out DIR [--background green|B,G,R|IMAGE] [--max-frames N]

SOURCE is a video path or a camera index (0, 1, ...). Writes ``alpha.mp4`` and ``composite.mp4``.
"""

import argparse
import os
import os.path as osp
import sys
import time

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import positive_int  # noqa: E402


def main(argv=None):
    from shmatting.apis import inference_mattor, init_mattor
    from shmatting.visualization import composite, parse_background

    parser = argparse.ArgumentParser(description='alpha matte and composite of a video')
    parser.add_argument('source', help='video file or camera index')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--out', required=True)
    parser.add_argument('--background', default='green')
    parser.add_argument('--max-frames', type=positive_int, default=None)
    parser.add_argument('--device-target', default='CPU')
    args = parser.parse_args(argv)
    source = int(args.source) if args.source.isdigit() else args.source
    if isinstance(source, str) and not osp.isfile(source):
        sys.exit(f'error: video not found: {source}')
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        sys.exit(f'error: cannot open {args.source}')
    model = init_mattor(args.config, args.checkpoint, args.device_target)
    os.makedirs(args.out, exist_ok=True)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    writers, frames, start = None, 0, time.perf_counter()
    try:
        while args.max_frames is None or frames < args.max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            alpha = inference_mattor(model, frame)
            h, w = frame.shape[:2]
            if writers is None:
                fourcc = cv2.VideoWriter_fourcc(*'mp4v')
                writers = [
                    cv2.VideoWriter(osp.join(args.out, n), fourcc, fps, (w, h))
                    for n in ('alpha.mp4', 'composite.mp4')
                ]
                background = parse_background(args.background, (h, w))
            a8 = np.rint(alpha * 255).astype(np.uint8)
            writers[0].write(cv2.cvtColor(a8, cv2.COLOR_GRAY2BGR))
            writers[1].write(composite(frame, alpha, background))
            frames += 1
    finally:
        cap.release()
        for wr in writers or []:
            wr.release()
    took = time.perf_counter() - start
    print(
        f'{frames} frames in {took:.1f}s ({frames / max(took, 1e-9):.1f} fps) -> '
        f'{args.out}/alpha.mp4, composite.mp4'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
