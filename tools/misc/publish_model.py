"""Publish weights: keep only the model's tensors and put a sha256 prefix in the file name.

Usage: python tools/misc/publish_model.py IN_CKPT OUT_PREFIX  ->  OUT_PREFIX-<sha256[:8]>.ckpt
"""

import argparse
import hashlib
import os
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import shmatting  # noqa: E402,F401


def main(argv=None):
    from shmatting.engine.checkpoint import load_checkpoint_arrays, save_checkpoint_atomic

    parser = argparse.ArgumentParser(description='strip a checkpoint to weights and hash it')
    parser.add_argument('in_file')
    parser.add_argument('out_prefix', help='e.g. work_dirs/shm_e2e_aisegment')
    args = parser.parse_args(argv)
    try:
        params = load_checkpoint_arrays(args.in_file)
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f'error: {exc}')
    weights = {k: v for k, v in params.items() if k.startswith(('tnet.', 'mnet.', 'fusion.'))}
    if not weights:
        sys.exit(f'error: {args.in_file} holds no model tensors (tnet.*, mnet.*)')
    dropped = len(params) - len(weights)
    tmp = args.out_prefix + '.unhashed.ckpt'
    save_checkpoint_atomic(weights, tmp)
    with open(tmp, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    final = f'{args.out_prefix}-{digest[:8]}.ckpt'
    os.replace(tmp, final)
    print(
        f'{final}: {len(weights)} tensors, {dropped} optimizer/meta entries dropped, '
        f'sha256 {digest}'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
