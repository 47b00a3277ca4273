"""Parameters and multiply-accumulates of T-Net, M-Net and the whole SHM model.

Usage: python tools/analysis/get_flops.py CONFIG [--shape 320 320]

MACs are counted per layer with forward hooks in PyNative mode: convolutions, transposed
convolutions and dense layers (the learned layers, as PyTorch counters report them); the fixed
depthwise kernels of the exact bilinear upsampling are listed on their own line.
"""

import argparse
import os.path as osp
import sys

try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401

except ImportError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.config import Config, DictAction  # noqa: E402
from shmatting.utils.cli import positive_int  # noqa: E402


def count_macs(model, shape):
    """Return ``{'tnet': macs, 'mnet': macs, 'upsample': macs}`` for one forward at ``shape``."""
    import mindspore as ms
    from mindspore import nn

    from shmatting.models.layers.deconv import ConvTranspose2dK5S2
    from shmatting.models.layers.upsample import BilinearUpsample2x

    ms.set_context(mode=ms.PYNATIVE_MODE)
    totals = {'tnet': 0, 'mnet': 0, 'upsample': 0}
    handles = []

    def make_hook(part, cell):
        def hook(_cell, inputs, output):
            x = inputs[0]
            if isinstance(cell, BilinearUpsample2x):
                totals['upsample'] += int(np.prod(x.shape)) * 4 * 9
            elif isinstance(cell, ConvTranspose2dK5S2):
                totals[part] += int(np.prod(x.shape)) * cell.out_channels * cell.kernel_size**2
            elif isinstance(cell, nn.Conv2d):
                k = int(np.prod(cell.weight.shape[1:]))
                totals[part] += int(np.prod(output.shape)) * k
            elif isinstance(cell, nn.Dense):
                totals[part] += int(np.prod(output.shape)) * cell.weight.shape[1]

        return hook

    for name, cell in model.cells_and_names():
        part = name.split('.', 1)[0]
        if part in ('tnet', 'mnet') and isinstance(
            cell, (nn.Conv2d, nn.Dense, ConvTranspose2dK5S2, BilinearUpsample2x)
        ):
            handles.append(cell.register_forward_hook(make_hook(part, cell)))
    model.set_train(False)
    model(ms.Tensor(np.zeros(shape, np.float32)))
    for h in handles:
        h.remove()
    return totals


def count_params(model, prefix):
    return sum(int(np.prod(p.shape)) for p in model.trainable_params() if p.name.startswith(prefix))


def main(argv=None):
    from terminaltables import AsciiTable

    from shmatting.models import build_model

    parser = argparse.ArgumentParser(description='Parameters and MACs of an SHM config')
    parser.add_argument('config')
    parser.add_argument(
        '--shape', type=positive_int, nargs=2, default=[320, 320], metavar=('H', 'W')
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    model_cfg = cfg.model.to_dict()
    model_cfg['init_cfg'] = []
    model_cfg.setdefault('train_cfg', {})['phase'] = 'e2e'
    model = build_model(model_cfg)
    macs = count_macs(model, (1, 3, *args.shape))
    rows = [['Part', 'Params', 'GMACs']]
    for part in ('tnet', 'mnet'):
        rows.append([part, f'{count_params(model, part + "."):,}', f'{macs[part] / 1e9:.3f}'])
    total = macs['tnet'] + macs['mnet']
    rows.append(['total', f'{count_params(model, ""):,}', f'{total / 1e9:.3f}'])
    rows.append(['(bilinear upsampling kernels)', '0', f'{macs["upsample"] / 1e9:.3f}'])
    print(
        AsciiTable(
            rows, title=f' {osp.basename(args.config)} @ {args.shape[0]}x{args.shape[1]} '
        ).table
    )
    print(
        f'Total: {total / 1e9:.2f} GMAC ({2 * total / 1e9:.2f} GFLOP) per '
        f'{args.shape[0]}x{args.shape[1]} image'
    )


if __name__ == '__main__':
    from shmatting.utils.cli import run_cli

    run_cli(main)
