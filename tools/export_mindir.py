"""Export a trained model for deployment: MINDIR (default), ONNX, or AIR (Ascend only).

Usage: python tools/export_mindir.py CONFIG CKPT [--input-shape 1 3 320 320]
           [--format MINDIR|AIR|ONNX] [--out PATH] [--cfg-options ...]

The exported network takes one normalised BGR image ``x`` (N x 3 x H x W float32) and returns the
trimap logits (N x 3 x H x W) and the alpha (N x 1 x H x W, unclamped), as the model zoo's export.
Beside it, ``<out>.json`` describes the preprocessing (mean/std, channel order, input size,
protocol) and the outputs. A MINDIR is reloaded with ``ms.load`` + ``nn.GraphCell`` and its largest
absolute difference to the network is printed. For ONNX the M-Net max-pools are exported in their
zero-pad + valid form (exact after ReLU), MindSpore's invalid ConvTranspose ``output_shape``
attribute is fixed (needs the ``onnx`` package) and, when onnxruntime is installed, its output is
checked too.
"""

import argparse
import json
import os
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.config import DictAction  # noqa: E402

OUTPUT_NAMES = ('trimap_logits', 'alpha')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='export an SHM checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--input-shape', type=int, nargs=4, default=[1, 3, 320, 320], metavar=('N', 'C', 'H', 'W')
    )
    parser.add_argument('--format', default='MINDIR', choices=['MINDIR', 'AIR', 'ONNX'])
    parser.add_argument(
        '--out', help='output path without extension (default: work_dirs/<config>/shm_export)'
    )
    parser.add_argument('--device-target', default='CPU', choices=['auto', 'CPU', 'GPU', 'Ascend'])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def sidecar(cfg, args, model, out_file, fmt, max_diff):
    from shmatting.apis import get_norm_cfg

    norm = get_norm_cfg(cfg)
    n, c, h, w = args.input_shape
    return dict(
        model_file=osp.basename(out_file),
        format=fmt,
        config=osp.abspath(args.config),
        cfg_options=args.cfg_options,
        checkpoint=osp.abspath(args.checkpoint),
        # absolute: the offline flow runs from another folder (the work dir) and reads its
        # test images here unless told otherwise (preprocess.py --data-root)
        data_root=osp.abspath(cfg.data_root) if cfg.get('data_root') else None,
        shmatting_version=shmatting.__version__,
        input=dict(
            name='x',
            shape=[n, c, h, w],
            dtype='float32',
            layout='NCHW',
            channel_order='BGR',
            mean=norm['mean'],
            std=norm['std'],
            formula='(image_uint8 - mean) / std',
        ),
        protocol=dict(
            resize='squash',
            size=[h, w],
            interpolation='bicubic',
            note='resize the image to the input size, resize alpha back (bicubic), '
            'then clip to [0, 1]',
            clamp=bool(model.test_cfg.get('clamp', True)),
        ),
        outputs=[
            dict(
                name=OUTPUT_NAMES[0],
                shape=[n, 3, h, w],
                meaning='trimap logits, channels (background, unknown, foreground)',
            ),
            dict(
                name=OUTPUT_NAMES[1],
                shape=[n, 1, h, w],
                range='unclamped; clip to [0, 1] after resizing back',
            ),
        ],
        roundtrip_max_abs_diff=max_diff,
    )


def check_args(args, target):
    """Refuse impossible requests before anything is built (nothing is written for them)."""
    n, c, h, w = args.input_shape
    if n < 1 or c != 3 or h < 1 or w < 1:
        raise ValueError(
            f'--input-shape must be N 3 H W with positive N, H and W, got '
            f'{" ".join(map(str, args.input_shape))}'
        )
    if args.format == 'AIR' and target != 'Ascend':
        raise ValueError(
            'AIR export needs an Ascend device (MindSpore exports AIR only there); '
            'use --format MINDIR here and convert on the Ascend host'
        )
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')


def build_export_model(args, cfg):
    """The model in eval mode, on MindSpore's own operators (portable), H and W checked."""
    from shmatting.apis import load_mattor
    from shmatting.apis.export import exportable_config
    from shmatting.ops import set_cpu_kernels

    model = load_mattor(exportable_config(cfg, args.format), args.checkpoint)
    model.set_train(False)
    # the exported file must run wherever MindSpore runs: no Custom ops of this machine's kernels
    set_cpu_kernels(model, False)
    _, _, h, w = args.input_shape
    if h % model.size_divisor or w % model.size_divisor:
        raise ValueError(
            f'--input-shape: H and W must be multiples of {model.size_divisor}, got '
            f'{" ".join(map(str, args.input_shape))}'
        )
    return model


def output_stem(args):
    """The output path without its extension."""
    name = osp.splitext(osp.basename(args.config))[0]
    out = args.out or osp.join('work_dirs', name, 'shm_export')
    if osp.splitext(out)[1].lower() in ('.mindir', '.onnx', '.air'):
        out = osp.splitext(out)[0]
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    return out


def verify(fmt, out_file, model, x):
    """Largest difference between the exported file and the network (None when not checked)."""
    import mindspore as ms
    from mindspore import nn

    ref = [t.asnumpy() for t in model(ms.Tensor(x))]
    if fmt == 'MINDIR':
        got = [t.asnumpy() for t in nn.GraphCell(ms.load(out_file))(ms.Tensor(x))]
        max_diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
        print(f'MINDIR round trip (ms.load + nn.GraphCell): max abs diff {max_diff:.3g}')
        return max_diff
    if fmt != 'ONNX':
        return None
    try:
        import onnxruntime as ort
    except ImportError:
        print('onnxruntime is not installed: the ONNX output was not checked')
        return None
    sess = ort.InferenceSession(out_file, providers=['CPUExecutionProvider'])
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
    print(f'onnxruntime vs network: max abs diff {max_diff:.3g}')
    return max_diff


def main(argv=None):
    import mindspore as ms

    from shmatting.apis.export import export_network
    from shmatting.engine.context import resolve_device_target
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    target = resolve_device_target(args.device_target)
    check_args(args, target)
    cfg = load_config(args.config, args.cfg_options)
    ms.set_device(target)
    ms.set_context(mode=ms.GRAPH_MODE)
    model = build_export_model(args, cfg)
    out = output_stem(args)
    x = np.random.default_rng(0).uniform(-0.6, 0.6, args.input_shape).astype(np.float32)
    out_file = export_network(model, x, out, args.format)
    max_diff = verify(args.format, out_file, model, x)
    meta = sidecar(cfg, args, model, out_file, args.format, max_diff)
    with open(out_file + '.json.tmp', 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
    os.replace(out_file + '.json.tmp', out_file + '.json')
    print(f'exported {out_file} (+ {osp.basename(out_file)}.json)')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
