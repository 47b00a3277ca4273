"""Print the resolved config.

Usage: python tools/misc/print_config.py CONFIG [--cfg-options k=v ...]
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from shmatting.config import Config, DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print a config with its bases resolved')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override settings, e.g. model.tnet.backbone.widen=1.0 a=[1,2]',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config: {cfg.filename}\n{cfg.pretty_text}')


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
