"""Convert a state_dict of the PyTorch original (lizhengwei1992/Semantic_Human_Matting).

Usage: python tools/model_converters/torch2shmatting.py SRC.pth DST.ckpt [--config CONFIG]

SRC is a ``.pth`` state_dict (read with ``torch.load(..., weights_only=True)``; torch must be
installed) or an ``.npz`` of the same names (no torch needed). BatchNorm tensors are renamed,
``num_batches_tracked`` and the unused ``m_net.en_conv_bn_relu_5.*`` dropped, ``module.`` prefixes
and optimizer entries stripped. A pickled whole model (``model_obj.pth``) is refused: save its
``state_dict()`` first.
"""

import argparse
import os.path as osp
import sys

import numpy as np
from _common import DEFAULT_CONFIG, expected_shapes, print_report

from shmatting.engine.checkpoint import save_checkpoint_atomic
from shmatting.models.converters import ConversionError, convert_torch_state, strip_wrapper_keys

PICKLE_HINT = (
    '{src} holds a pickled model object, not a state_dict; in the PyTorch repo run '
    "torch.save(torch.load('{src}').state_dict(), 'state_dict.pth') and convert that"
)


def read_torch(path):
    """Read a ``.pth`` state_dict into numpy arrays (torch required)."""
    try:
        import torch
    except ImportError:
        raise SystemExit(
            f'error: reading {path} needs PyTorch (pip install torch); torch is an '
            'optional dependency. Alternatively convert the state_dict to .npz '
            'with numpy where torch is available.'
        ) from None
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # weights_only refuses pickled classes
        msg = str(exc)
        if 'weights_only' in msg or 'Unsupported global' in msg or 'GLOBAL' in msg:
            raise SystemExit('error: ' + PICKLE_HINT.format(src=path)) from None
        raise SystemExit(f'error: cannot read {path}: {msg.splitlines()[0]}') from None
    if not isinstance(obj, dict):
        raise SystemExit('error: ' + PICKLE_HINT.format(src=path))

    def to_np(v):
        return v.detach().cpu().numpy() if hasattr(v, 'detach') else v

    if isinstance(obj.get('state_dict'), dict):
        obj = dict(obj, state_dict={k: to_np(v) for k, v in obj['state_dict'].items()})
    return {k: v if k == 'state_dict' else to_np(v) for k, v in obj.items()}


def read_npz(path):
    """The named arrays of an ``.npz`` (no pickles), or one line saying why not."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:  # a zip error, a pickle, a truncated file: all one user mistake
        raise ValueError(f'{path} is not a readable .npz of named arrays ({exc})') from None


def main(argv=None):
    parser = argparse.ArgumentParser(description='PyTorch SHM state_dict -> shmatting checkpoint')
    parser.add_argument('src', help='.pth state_dict or .npz')
    parser.add_argument('dst', help='output .ckpt')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='config of the target model')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'source not found: {args.src}')
    state = read_npz(args.src) if args.src.endswith('.npz') else read_torch(args.src)
    try:
        state, report = strip_wrapper_keys(state)
        converted, dropped = convert_torch_state(state, expected_shapes(args.config))
    except ConversionError as exc:
        sys.exit(f'error: {exc}')
    print_report(report, dropped)
    save_checkpoint_atomic(converted, args.dst)
    print(f'converted {len(converted)} tensors: {args.src} -> {args.dst}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
