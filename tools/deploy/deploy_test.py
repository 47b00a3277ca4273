"""Score an exported model on a split, as tools/test.py scores a checkpoint.

Usage: python tools/deploy/deploy_test.py CONFIG MODEL [--backend mindspore|onnxruntime|lite]
           [--metrics SAD MSE MAD Grad Conn] [--split test] [--out r.json] [--strict]
           [--device-target CPU|GPU|Ascend] [--device-id 0] [--cfg-options ...]

MODEL is a MINDIR (``mindspore``, ``lite``) or an ONNX file (``onnxruntime``); the backend follows
the file's extension unless given. The sidecar written beside it (``<model>.json``) gives the
input size; the protocol is the exported model's: squash to that size (bicubic), the network,
the alpha resized back (bicubic) and clipped as the sidecar says. The evaluator, the table, the
protocol line, the coverage line and ``ave_sad: X`` are tools/test.py's, so the numbers equal
``tools/test.py CONFIG CKPT --cfg-options model.test_cfg.resize=squash model.test_cfg.size=S`` on
the checkpoint that was exported (up to the runtime's rounding).
"""

import argparse
import os.path as osp

import numpy as np
from _common import load_sidecar

import shmatting  # noqa: F401
from shmatting.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='score an exported SHM model on a split')
    parser.add_argument('config')
    parser.add_argument('model', help='an exported .mindir or .onnx (with its .json sidecar)')
    parser.add_argument(
        '--backend',
        choices=['mindspore', 'onnxruntime', 'lite'],
        help='default: onnxruntime for .onnx, mindspore otherwise',
    )
    parser.add_argument('--metrics', nargs='+', default=None)
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--out', help='per-image and summary results as JSON')
    parser.add_argument('--strict', action='store_true', help='fail when an image is left out')
    parser.add_argument('--device-target', default='CPU', choices=['CPU', 'GPU', 'Ascend'])
    parser.add_argument('--device-id', type=int, default=0)
    parser.add_argument('--sidecar', help='default: <model>.json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


class ExportedMattor:
    """An exported model seen as a mattor by the evaluator: ``model(x) -> (logits, alpha)`` at
    the export size; its ``test_cfg`` is the export's protocol."""

    training = False
    size_divisor = 1

    def __init__(self, backend, meta):
        _, _, h, w = meta['input']['shape']
        self.backend = backend
        self.test_cfg = dict(
            resize='squash', size=(h, w), clamp=bool(meta['protocol'].get('clamp', True))
        )

    def __call__(self, x):
        x = x.asnumpy() if hasattr(x, 'asnumpy') else np.asarray(x)
        return tuple(self.backend.predict(x))

    def set_train(self, mode=True):
        return self


def main(argv=None):
    from shmatting.apis.backends import build_backend
    from shmatting.datasets import build_dataloader, build_dataset
    from shmatting.engine.hooks import eval_settings
    from shmatting.evaluation import Evaluator, last_line, report_lines, write_results_json
    from shmatting.models.mattors.shm import PHASE_METRICS
    from shmatting.utils import ProgressBar
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    meta = load_sidecar(args.sidecar or args.model + '.json')
    backend_name = args.backend or ('onnxruntime' if args.model.endswith('.onnx') else 'mindspore')
    model = ExportedMattor(
        build_backend(backend_name, args.model, args.device_target, args.device_id), meta
    )
    settings = eval_settings(cfg)
    phase = cfg.model.get('train_cfg', {}).get('phase', 'e2e')
    names = args.metrics or settings['metrics'] or list(PHASE_METRICS[phase])
    evaluator = Evaluator(names, model.test_cfg, convention=settings['convention'])
    dataset = build_dataset(cfg.data[args.split], data_root=cfg.get('data_root'), seed=0)
    loader = build_dataloader(dataset, 1, workers=0, mode='eval')
    bar, per_image = ProgressBar(len(loader), desc=backend_name), []
    results = evaluator.evaluate(model, loader, progress=bar.update, per_image=per_image)
    source = f'{backend_name} {osp.basename(args.model)}'
    print('\n'.join(report_lines(results, args.split, source)))
    if args.out:
        write_results_json(
            args.out,
            results,
            per_image,
            dataset.samples,
            config=args.config,
            model=args.model,
            backend=backend_name,
            split=args.split,
        )
    if args.strict and not results.complete:
        raise ValueError(f'--strict: {results.coverage_line()} of the {args.split} split')
    if last_line(results):
        print(last_line(results))


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
