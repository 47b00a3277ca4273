"""Offline inference, step 2: run the exported model on every ``.bin`` input.

Usage: python tools/deploy/infer.py MODEL --input-dir preprocess_Result/img_data
           [--output-dir result_Files] [--time-dir time_Result]
           [--backend mindspore|onnxruntime|lite] [--device-target CPU|GPU|Ascend] [--device-id 0]

Backends (``shmatting.apis.backends``): ``mindspore`` loads the MINDIR with ``ms.load`` +
``nn.GraphCell`` (CPU, GPU, Ascend); ``onnxruntime`` runs the exported ONNX file (the CPU runtime
a deployer picks); ``lite`` uses MindSpore Lite (``mindspore_lite``, for the Ascend 310 / an OM
or MINDIR model). The optional runtimes are imported only when chosen. Each input's outputs go
to ``<name>_0.bin`` (trimap logits) and ``<name>_1.bin`` (alpha); only the predict call is timed,
and
``time_Result/test_perform_static.txt`` reads
``NN inference cost average time: X ms of infer_count N``.
"""

import argparse
import os
import os.path as osp
import time

import numpy as np
from _common import load_sidecar

import shmatting  # noqa: F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='run an exported SHM model on .bin inputs')
    parser.add_argument('model', help='.mindir (mindspore, lite) or .onnx (onnxruntime)')
    parser.add_argument('--input-dir', required=True)
    parser.add_argument('--output-dir', default='result_Files')
    parser.add_argument('--time-dir', default='time_Result')
    parser.add_argument(
        '--backend', default='mindspore', choices=['mindspore', 'onnxruntime', 'lite']
    )
    parser.add_argument('--device-target', default='CPU', choices=['CPU', 'GPU', 'Ascend'])
    parser.add_argument('--device-id', type=int, default=0)
    parser.add_argument('--sidecar', help='default: <model>.json')
    return parser.parse_args(argv)


def list_inputs(input_dir):
    if not osp.isdir(input_dir):
        raise FileNotFoundError(f'input folder not found: {input_dir} (run preprocess.py first)')
    files = sorted(f for f in os.listdir(input_dir) if f.endswith('.bin'))
    if not files:
        raise FileNotFoundError(f'no .bin files in {input_dir}')
    return files


def read_input(path, shape):
    """One input, checked: the model's size, finite values."""
    expected = int(np.prod(shape)) * 4
    if osp.getsize(path) != expected:
        raise ValueError(
            f'{path} has {osp.getsize(path)} bytes, the model expects {expected} (float32 {shape})'
        )
    x = np.fromfile(path, '<f4').reshape(shape)
    if not np.isfinite(x).all():
        raise ValueError(f'{path} holds NaN or Inf values')
    return x


def main(argv=None):
    from shmatting.apis.backends import build_backend

    args = parse_args(argv)
    files = list_inputs(args.input_dir)
    shape = load_sidecar(args.sidecar or args.model + '.json')['input']['shape']
    backend = build_backend(args.backend, args.model, args.device_target, args.device_id)
    os.makedirs(args.output_dir, exist_ok=True)
    os.makedirs(args.time_dir, exist_ok=True)
    times = []
    for name in files:
        x = read_input(osp.join(args.input_dir, name), shape)
        start = time.perf_counter()
        outputs = backend.predict(x)
        times.append((time.perf_counter() - start) * 1000)
        for k, out in enumerate(outputs):
            out_path = osp.join(args.output_dir, f'{name[:-4]}_{k}.bin')
            np.ascontiguousarray(out, np.float32).tofile(out_path)
    line = f'NN inference cost average time: {np.mean(times):.3f} ms of infer_count {len(files)}'
    with open(osp.join(args.time_dir, 'test_perform_static.txt'), 'w') as f:
        f.write(line + '\n')
    print(line)


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
