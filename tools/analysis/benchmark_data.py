"""Samples per second of a config's training data pipeline and loader.

Usage: python tools/analysis/benchmark_data.py CONFIG [--workers N] [--batches 20] [--cfg-options
...]

Compare the figure with the training step's consumption (samples_per_device / seconds per step):
the loader should deliver several times more.
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
from shmatting.config import Config, DictAction  # noqa: E402
from shmatting.utils.cli import non_negative_int, positive_int  # noqa: E402


def main(argv=None):
    from shmatting.datasets import build_dataloader, build_dataset

    parser = argparse.ArgumentParser(description='benchmark the training data loader')
    parser.add_argument('config')
    parser.add_argument(
        '--workers', type=non_negative_int, default=None, help='default: the config value'
    )
    parser.add_argument(
        '--batches', type=positive_int, default=20, help='batches per measured epoch'
    )
    parser.add_argument(
        '--epochs', type=positive_int, default=2, help='the first is reported as warm-up'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    data = cfg.data
    dataset = build_dataset(data.train, data_root=cfg.get('data_root'), seed=0)
    workers = data.get('workers', 0) if args.workers is None else args.workers
    loader = build_dataloader(dataset, data.samples_per_device, workers=workers, seed=0)
    for epoch in range(args.epochs):
        loader.set_epoch(epoch)
        start, n = time.perf_counter(), 0
        for i, batch in enumerate(loader):
            n += batch['img'].shape[0]
            if i + 1 >= args.batches:
                break
        took = time.perf_counter() - start
        tag = 'warm-up' if epoch == 0 and args.epochs > 1 else 'measured'
        print(
            f'epoch {epoch} ({tag}): {n} samples in {took:.2f}s = {n / took:.1f} samples/s '
            f'(workers={loader.workers}, batch={data.samples_per_device})'
        )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
