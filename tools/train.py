"""Train one phase of a config.

Usage: python tools/train.py CONFIG [--work-dir D] [--resume [auto|PATH]] [--load-from P]
           [--cfg-options k=v ...] [--launcher none|msrun|rank_table] [--seed N] [--deterministic]
           [--device-target auto|CPU|GPU|Ascend] [--no-validate]

Multi-device runs go through tools/dist_train.sh (msrun, or an HCCL rank table on Ascend).
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import shmatting  # noqa: E402,F401  (caps oneDNN at AVX2 before MindSpore runs)
from shmatting.config import DictAction  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='train one SHM phase')
    parser.add_argument('config', help='config file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help="'auto' (default when given alone): newest full-state checkpoint in "
        'the work dir; or a checkpoint path',
    )
    parser.add_argument('--load-from', help='weights to start from')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config keys, e.g. total_epochs=2 data.workers=0',
    )
    parser.add_argument('--launcher', choices=['none', 'msrun', 'rank_table'], default='none')
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--deterministic', action='store_true')
    parser.add_argument('--device-target', choices=['auto', 'CPU', 'GPU', 'Ascend'], default=None)
    parser.add_argument('--no-validate', action='store_true', help='no evaluation during training')
    return parser.parse_args(argv)


def main(argv=None):
    from shmatting.engine import Runner
    from shmatting.utils.cli import load_config

    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    runner = Runner(
        cfg,
        work_dir=args.work_dir,
        launcher=args.launcher,
        resume=args.resume,
        load_from=args.load_from,
        seed=args.seed,
        deterministic=args.deterministic,
        validate=not args.no_validate,
        device_target=args.device_target,
    )
    runner.run()


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
