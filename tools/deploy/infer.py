"""Offline inference, step 2: run the exported model on every ``.bin`` input.

Usage: python tools/deploy/infer.py MODEL --input-dir preprocess_Result/img_data
           [--output-dir result_Files] [--time-dir time_Result]
           [--backend mindspore|lite] [--device-target CPU|GPU|Ascend] [--device-id 0]

Backends: ``mindspore`` loads the MINDIR with ``ms.load`` + ``nn.GraphCell`` (CPU, GPU, Ascend);
``lite`` uses MindSpore Lite (``mindspore_lite``, for the Ascend 310 / an OM or MINDIR model),
imported only when chosen. Each input's outputs go to ``<name>_0.bin`` (trimap logits) and
``<name>_1.bin`` (alpha); only the predict call is timed, and
``time_Result/test_perform_static.txt`` reads
``NN inference cost average time: X ms of infer_count N``.
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
import shmatting  # noqa: E402,F401


class MindSporeBackend:
    def __init__(self, model, device_target, device_id):
        import mindspore as ms
        from mindspore import nn

        ms.set_device(device_target, device_id)
        ms.set_context(mode=ms.GRAPH_MODE)
        self.ms = ms
        self.graph = nn.GraphCell(ms.load(model))

    def predict(self, x):
        return [t.asnumpy() for t in self.graph(self.ms.Tensor(x))]


class LiteBackend:
    def __init__(self, model, device_target, device_id):
        try:
            import mindspore_lite as mslite
        except ImportError:
            raise SystemExit(
                'error: --backend lite needs MindSpore Lite (the mindspore_lite '
                'package of the Ascend 310 / Lite release); it is not installed here. '
                'Use --backend mindspore for a MINDIR on CPU/GPU/Ascend.'
            ) from None
        context = mslite.Context()
        target = {'CPU': 'cpu', 'GPU': 'gpu', 'Ascend': 'ascend'}[device_target]
        context.target = [target]
        if target == 'ascend':
            context.ascend.device_id = device_id
        self.model = mslite.Model()
        self.model.build_from_file(model, mslite.ModelType.MINDIR, context)

    def predict(self, x):
        inputs = self.model.get_inputs()
        inputs[0].set_data_from_numpy(x)
        return [t.get_data_to_numpy() for t in self.model.predict(inputs)]


def main(argv=None):
    parser = argparse.ArgumentParser(description='run an exported SHM model on .bin inputs')
    parser.add_argument('model', help='.mindir (or a Lite model with --backend lite)')
    parser.add_argument('--input-dir', required=True)
    parser.add_argument('--output-dir', default='result_Files')
    parser.add_argument('--time-dir', default='time_Result')
    parser.add_argument('--backend', default='mindspore', choices=['mindspore', 'lite'])
    parser.add_argument('--device-target', default='CPU', choices=['CPU', 'GPU', 'Ascend'])
    parser.add_argument('--device-id', type=int, default=0)
    parser.add_argument('--sidecar', help='default: <model>.json')
    args = parser.parse_args(argv)
    if not osp.isfile(args.model):
        sys.exit(f'error: model not found: {args.model}')
    sidecar = args.sidecar or args.model + '.json'
    if not osp.isfile(sidecar):
        sys.exit(f'error: sidecar not found: {sidecar} (it gives the input shape)')
    shape = json.load(open(sidecar))['input']['shape']
    files = sorted(f for f in os.listdir(args.input_dir) if f.endswith('.bin'))
    if not files:
        sys.exit(f'error: no .bin files in {args.input_dir}')
    backend = (LiteBackend if args.backend == 'lite' else MindSporeBackend)(
        args.model, args.device_target, args.device_id
    )
    os.makedirs(args.output_dir, exist_ok=True)
    os.makedirs(args.time_dir, exist_ok=True)
    expected = int(np.prod(shape)) * 4
    times = []
    for name in files:
        path = osp.join(args.input_dir, name)
        if osp.getsize(path) != expected:
            sys.exit(
                f'error: {path} has {osp.getsize(path)} bytes, the model expects {expected} '
                f'(float32 {shape})'
            )
        x = np.fromfile(path, '<f4').reshape(shape)
        start = time.perf_counter()
        outputs = backend.predict(x)
        times.append((time.perf_counter() - start) * 1000)
        stem = name[:-4]
        for k, out in enumerate(outputs):
            np.ascontiguousarray(out, np.float32).tofile(
                osp.join(args.output_dir, f'{stem}_{k}.bin')
            )
    avg = float(np.mean(times))
    line = f'NN inference cost average time: {avg:.3f} ms of infer_count {len(files)}'
    with open(osp.join(args.time_dir, 'test_perform_static.txt'), 'w') as f:
        f.write(line + '\n')
    print(line)


if __name__ == '__main__':
    main()
