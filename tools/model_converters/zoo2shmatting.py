"""Convert a MindSpore model-zoo SHM checkpoint to shmatting names.

Usage: python tools/model_converters/zoo2shmatting.py SRC.ckpt DST.ckpt [--config CONFIG]

All 355 tensors of the zoo network are mapped by four prefix rewrites (``t_net.feature.`` ->
``tnet.backbone.``, ``t_net.`` -> ``tnet.head.``, ``m_net.en_`` -> ``mnet.backbone.en_``,
``m_net.`` -> ``mnet.head.``) and checked against the model's shapes; optimizer and wrapper keys
are stripped and reported. The output loads with ``init_cfg=dict(type='Pretrained',
checkpoint=DST)`` or ``load_from=DST`` and needs ``fusion=dict(zoo_compat=True)`` to reproduce the
zoo's numbers.
"""

import argparse
import sys

from _common import DEFAULT_CONFIG, expected_shapes, print_report

from shmatting.engine.checkpoint import load_checkpoint_arrays, save_checkpoint_atomic
from shmatting.models.converters import ConversionError, convert_zoo_state, strip_wrapper_keys


def main(argv=None):
    parser = argparse.ArgumentParser(description='model-zoo SHM checkpoint -> shmatting checkpoint')
    parser.add_argument(
        'src', help='model-zoo .ckpt (e.g. semantichumanmatting_..._avgsad5.41.ckpt)'
    )
    parser.add_argument('dst', help='output .ckpt')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='config of the target model')
    args = parser.parse_args(argv)
    if args.src.endswith(('.pth', '.pt', '.pkl')):
        sys.exit(
            f'error: {args.src} looks like a PyTorch file; use '
            'tools/model_converters/torch2shmatting.py for it'
        )
    try:
        state = load_checkpoint_arrays(args.src)
        state, report = strip_wrapper_keys(state)
        converted = convert_zoo_state(state, expected_shapes(args.config))
    except (FileNotFoundError, ValueError, ConversionError) as exc:
        sys.exit(f'error: {exc}')
    print_report(report)
    save_checkpoint_atomic(converted, args.dst)
    print(f'converted {len(converted)} tensors: {args.src} -> {args.dst}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
