"""What the backward pass of a training step must hold: the tensors each layer's gradient reads.

Usage: python benchmarks/activation_memory.py [--config C] [--batch 8] [--shape 320 320] [--top 8]

Runs one forward pass (PyNative, batch 1, training mode) with a hook on every layer, records the
tensors each layer's backward reads by the project's own gradient definitions (a convolution its
input, the fused BatchNorm + activation its input, the BatchNorm + ReLU6 + depthwise and
BatchNorm + ReLU6 + 1x1 kernels their input alone, max pooling its input and output, bilinear
upsampling nothing...), counts each tensor once and scales by ``--batch``. The sum is what any
run of this network holds at the start of its backward without recomputation; the peak RSS that
``tools/analysis/benchmark.py --train`` prints adds the process (framework, compiled graph,
weights, optimizer, the oneDNN kernels' reorder buffers), the gradient buffers alive at the
worst moment and the memory pool's slack. Not counted: the few single-channel maps the fusion
head and the losses keep.
"""

import argparse
import collections
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import positive_int  # noqa: E402

# layer class name -> which of its tensors its backward reads
SAVED = {
    'SameConv2d': 'input',
    'DepthwiseConv3x3': 'input',
    'Conv2d': 'input',
    '_ConvForwardDx': 'input',
    'ConvTranspose2dK5S2': 'input',
    'BatchNormAct2d': 'input',
    'NormActDepthwise': 'input',  # the BatchNorm's input; the normalised map is never stored
    'NormActConv1x1': 'input',
    'MaxPool3x3S2': 'input+output',
    'ReLU': 'output',
    'ReLU6': 'input',
    'BilinearUpsample2x': 'nothing',
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='tensors held for the backward pass, by kind')
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/shm/e2e_8x8.py'))
    parser.add_argument('--batch', type=positive_int, default=8)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--top', type=positive_int, default=8, help='largest tensors listed')
    return parser.parse_args(argv)


def record(model):
    """Hook every layer of a kind in :data:`SAVED`; returns the list the hooks fill with
    ``(layer name, kind, role, tensor)``."""
    held = []
    for name, cell in model.cells_and_names():
        kind = type(cell).__name__
        if kind not in SAVED or SAVED[kind] == 'nothing':
            continue

        def hook(cell, inputs, output, name=name, kind=kind):
            if 'input' in SAVED[kind]:
                held.append((name, kind, 'input', inputs[0]))
            if 'output' in SAVED[kind]:
                held.append((name, kind, 'output', output))

        cell.register_forward_hook(hook)
    return held


def tally(held, batch):
    """Bytes per kind and the largest tensors, each tensor counted once (by identity).

    Returns:
        tuple[dict, list]: ``{kind: bytes}`` and ``[(bytes, layer, role), ...]`` sorted down.
    """
    seen, per_kind, tensors = set(), collections.Counter(), []
    for name, kind, role, tensor in held:
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        nbytes = tensor.nbytes * batch
        per_kind[f'{kind} {role}'] += nbytes
        tensors.append((nbytes, name, role))
    return per_kind, sorted(tensors, reverse=True)


def main(argv=None):
    """Print the tally; returns ``[(bytes, layer, role), ...]``, largest first."""
    args = parse_args(argv)
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.models import build_model
    from shmatting.utils.profiling import random_batch

    ms.set_context(mode=ms.PYNATIVE_MODE)
    cfg = Config.fromfile(args.config)
    model = build_model(cfg.model)
    model.set_train(True)
    held = record(model)
    data = random_batch(1, *args.shape)
    model(ms.Tensor(data['img']))  # the tensors stay alive in ``held`` until the tally
    per_kind, tensors = tally(held, args.batch)
    total = sum(per_kind.values())
    print(f'held for the backward, batch {args.batch} {args.shape[0]}x{args.shape[1]}:')
    for kind, nbytes in per_kind.most_common():
        print(f'  {kind:<32} {nbytes / 1e9:6.2f} GB')
    print(f'  {"total":<32} {total / 1e9:6.2f} GB in {len(tensors)} tensors')
    print('largest:')
    for nbytes, name, role in tensors[: args.top]:
        print(f'  {nbytes / 1e6:7.1f} MB  {role} of {name}')
    return tensors


if __name__ == '__main__':
    main()
