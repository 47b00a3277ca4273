"""Write synthetic portraits in the raw AISegment layout (plus a folder of backgrounds).

Usage: python tools/dataset_converters/make_synthetic.py OUT_ROOT --num 200 --size 600 800 --seed 0
"""

import argparse
import os.path as osp
import sys
import time

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import shmatting  # noqa: E402,F401
from shmatting.datasets.synthetic import write_synthetic_dataset  # noqa: E402
from shmatting.utils import ProgressBar  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description='synthetic portraits in the raw AISegment layout')
    parser.add_argument('out_root')
    parser.add_argument('--num', type=positive_int, default=200, help='number of portraits')
    parser.add_argument(
        '--size', type=positive_int, nargs=2, default=[600, 800], metavar=('W', 'H')
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-backgrounds', type=positive_int, default=None)
    parser.add_argument('--workers', type=positive_int, default=None)
    args = parser.parse_args(argv)
    if args.num < 1 or min(args.size) < 16:
        parser.error('--num must be >= 1 and --size at least 16 x 16')
    bar = ProgressBar(args.num, desc='synthetic')
    start = time.perf_counter()
    counts = write_synthetic_dataset(
        args.out_root,
        args.num,
        tuple(args.size),
        args.seed,
        args.num_backgrounds,
        args.workers,
        progress=bar.update,
    )
    took = time.perf_counter() - start
    print(
        f'wrote {counts["portraits"]} portraits and {counts["backgrounds"]} backgrounds '
        f'({args.size[0]}x{args.size[1]}) to {args.out_root} in {took:.1f}s'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
