"""Two builds of the convolution kernels compared layer by layer in one process.

Usage:
    python benchmarks/kernel_builds_ab.py --against PATH [--kinds dense3x3 dense5x5 data pointwise
        projection inference norm_depthwise] [--batch 8] [--scale 1] [--repeats 6]

Builds the ``dnnl`` kernel library (for ``norm_depthwise``, the BatchNorm + ReLU6 + depthwise
layers, the ``core`` one) of this checkout (B) and of the checkout at ``PATH`` (A: e.g.
``git worktree add /tmp/base HEAD~1``), loads both into this process and calls their entry points
(``ctypes``) on the zoo network's layer shapes, alternating A, B, B, A, ... so that the machine's
drift falls on both. Prints per layer the medians of A and B and whether their outputs are equal
bit for bit, and per kind the sums over the network (a shape that occurs several times counts
that often). ``--scale S`` divides the maps' sides by S (for a quick look; the choices in the
kernels depend on the map size, so only ``--scale 1`` times what the network runs).
"""

import argparse
import ctypes
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from shmatting.utils.cli import positive_int  # noqa: E402

# (in, out, side): occurrences in the e2e network at 320 x 320
DENSE3X3 = {
    (24, 16, 320): 1, (16, 16, 320): 1, (16, 3, 320): 1, (32, 24, 160): 1, (24, 24, 160): 1,
    (32, 16, 160): 1, (16, 32, 160): 1, (96, 32, 80): 1, (32, 32, 80): 1, (32, 64, 80): 1,
    (64, 32, 80): 1, (320, 96, 40): 1, (96, 96, 40): 1, (64, 128, 40): 1, (128, 64, 40): 1,
    (128, 128, 20): 1,
}  # fmt: skip
DENSE5X5 = {(16, 1, 320): 1}  # the M-Net's last layer
DATA = {(3, 32, 320): 1, (6, 16, 320): 1}  # layers reading the images: no input gradient
POINTWISE = {
    (32, 32, 320): 1, (16, 96, 320): 1, (24, 144, 160): 2, (32, 192, 80): 3, (64, 384, 40): 4,
    (96, 576, 40): 3, (160, 960, 20): 3,
}  # fmt: skip
PROJECTION = {
    (32, 16, 320): 1, (96, 24, 160): 1, (144, 24, 160): 1, (144, 32, 80): 1, (192, 32, 80): 2,
    (192, 64, 40): 1, (384, 64, 40): 3, (384, 96, 40): 1, (576, 96, 40): 2, (576, 160, 20): 1,
    (960, 160, 20): 2, (960, 320, 20): 1,
}  # fmt: skip
# (channels, stride, input side): the BatchNorm + ReLU6 + depthwise 3x3 layers of MobileNetV2
NORM_DEPTHWISE = {
    (32, 1, 320): 1, (96, 2, 320): 1, (144, 1, 160): 1, (144, 2, 160): 1, (192, 1, 80): 2,
    (192, 2, 80): 1, (384, 1, 40): 4, (576, 1, 40): 2, (576, 2, 40): 1, (960, 1, 20): 3,
}  # fmt: skip
KINDS = ('dense3x3', 'dense5x5', 'data', 'pointwise', 'projection', 'inference', 'norm_depthwise')
CORE_KINDS = ('norm_depthwise',)  # kinds of the core library; the others are the dnnl one's


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--against', required=True, help='the other checkout (A)')
    parser.add_argument('--kinds', nargs='+', choices=KINDS, default=list(KINDS))
    parser.add_argument('--batch', type=positive_int, default=8)
    parser.add_argument('--scale', type=positive_int, default=1)
    parser.add_argument('--repeats', type=positive_int, default=6)
    return parser.parse_args(argv)


def library_path(checkout, library='dnnl'):
    """Path of the kernel library ``library`` (``dnnl`` or ``core``) built from ``checkout``
    (compiled if not cached), from a fresh interpreter: both checkouts' ``shmatting`` cannot be
    imported into one."""
    if not osp.isfile(osp.join(checkout, 'shmatting', 'ops', 'build.py')):
        sys.exit(f'error: {checkout} is not a shmatting checkout (no shmatting/ops/build.py)')
    code = (
        f'import sys; sys.path.insert(0, {checkout!r}); '
        'from shmatting.ops.build import build_kernel_library; '
        f'print(build_kernel_library({library!r}))'
    )
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    if res.returncode != 0:
        lines = res.stderr.strip().splitlines() or ['no output']
        sys.exit(f'error: the kernels of {checkout} do not build: {lines[-1]}')
    return res.stdout.split()[-1]


def call(lib, name, arrays):
    """Run entry point ``name`` of ``lib`` on float32 ``arrays`` (the custom operators' calling
    convention)."""
    n = len(arrays)
    params = (ctypes.c_void_p * n)(*[a.ctypes.data for a in arrays])
    dims = [(ctypes.c_int64 * a.ndim)(*a.shape) for a in arrays]
    shapes = (ctypes.POINTER(ctypes.c_int64) * n)(
        *[ctypes.cast(d, ctypes.POINTER(ctypes.c_int64)) for d in dims]
    )
    dtypes = (ctypes.c_char_p * n)(*[b'float32'] * n)
    fn = getattr(lib, name)
    fn.restype = ctypes.c_int
    if fn(n, params, None, shapes, dtypes, None, None) != 0:
        raise RuntimeError(f'{name} failed on shapes {[a.shape for a in arrays]}')


def alternate(libs, run, repeats):
    """Median seconds of ``run(lib, i)`` per library, A, B, B, A, ... after one untimed call each
    (oneDNN's primitives are made on a shape's first call); ``run`` returns the seconds of its
    timed parts (a tuple)."""
    for i, lib in enumerate(libs):
        run(lib, i)
    times = [[], []]
    for r in range(repeats):
        for i in (0, 1) if r % 2 == 0 else (1, 0):
            times[i].append(run(libs[i], i))
    return [np.median(np.array(t), axis=0) for t in times]


def timed(*calls):
    """Seconds of each call in turn."""
    out = []
    for fn in calls:
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return tuple(out)


def conv_case(kind, cin, cout, side, batch, rng):
    """(entry-point calls per library index, output arrays per library) of one dense layer."""
    n = 1 if kind == 'inference' else batch
    x = rng.standard_normal((n, cin, side, side), dtype=np.float32)
    k = {'pointwise': 1, 'dense5x5': 5}.get(kind, 3)
    w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * 0.1
    dy = rng.standard_normal((n, cout, side, side), dtype=np.float32)
    written = {'inference': ('y',), 'data': ('y', 'dw')}.get(kind, ('y', 'dx', 'dw'))
    like = {'y': dy, 'dx': x, 'dw': w}
    outs = [{name: np.empty_like(like[name]) for name in written} for _ in range(2)]
    if kind == 'inference':
        b = rng.standard_normal(cout).astype(np.float32)
        return lambda lib, i: timed(
            lambda: call(lib, 'shm_conv_same_bias_relu', [x, w, b, outs[i]['y']])
        ), outs
    if kind == 'data':
        return lambda lib, i: timed(
            lambda: call(lib, 'shm_conv_same_on_data', [x, w, outs[i]['y']]),
            lambda: call(lib, 'shm_conv_same_wgrad', [x, w, dy, outs[i]['dw']]),
        ), outs
    return lambda lib, i: timed(
        lambda: call(lib, 'shm_conv_same', [x, w, outs[i]['y']]),
        lambda: call(lib, 'shm_conv_same_grad', [x, w, dy, outs[i]['dx'], outs[i]['dw']]),
    ), outs


def projection_case(hidden, cout, side, batch, rng):
    """The BatchNorm + ReLU6 + 1x1 projection's forward and backward, as ``conv_case``."""
    x = rng.standard_normal((batch, hidden, side, side), dtype=np.float32)
    gamma, beta = np.ones(hidden, np.float32), np.zeros(hidden, np.float32)
    consts = np.array([1e-5, 0.9, 0.1, 0.0], np.float32)  # eps, moving keep, take, unused
    moving = [np.zeros(hidden, np.float32), np.ones(hidden, np.float32)]
    w = rng.standard_normal((cout, hidden), dtype=np.float32) * 0.1
    dy = rng.standard_normal((batch, cout, side, side), dtype=np.float32)
    outs = [
        {
            'y': np.empty((batch, cout, side, side), np.float32),
            'stats': [np.empty(hidden, np.float32) for _ in range(4)],
            'dx': np.empty_like(x),
            'dgb': [np.empty(hidden, np.float32) for _ in range(2)],
            'dw': np.empty_like(w),
        }
        for _ in range(2)
    ]

    def run(lib, i):
        o = outs[i]
        fwd = [x, gamma, beta, consts, *moving, w, o['y'], *o['stats']]
        bwd = [x, gamma, beta, o['stats'][0], o['stats'][1], w, dy, o['dx'], *o['dgb'], o['dw']]
        return timed(
            lambda: call(lib, 'shm_bn_relu6_conv1x1_train', fwd),
            lambda: call(lib, 'shm_bn_relu6_conv1x1_train_grad', bwd),
        )

    return run, outs


def norm_depthwise_case(channels, stride, side, batch, rng):
    """The BatchNorm + ReLU6 + depthwise 3x3 layer's training forward and backward, as
    ``conv_case``."""
    x = rng.standard_normal((batch, channels, side, side), dtype=np.float32)
    gamma = (1 + 0.1 * rng.standard_normal(channels)).astype(np.float32)
    beta = (0.1 * rng.standard_normal(channels)).astype(np.float32)
    consts = np.array([1e-5, 0.9, 0.1, 0.0], np.float32)  # eps, moving keep, take, unused
    moving = [np.zeros(channels, np.float32), np.ones(channels, np.float32)]
    w = rng.standard_normal((channels, 9), dtype=np.float32)
    out_side = (side - 1) // stride + 1
    dout = rng.standard_normal((batch, channels, out_side, out_side), dtype=np.float32)
    outs = [
        {
            'out': np.empty_like(dout),
            'stats': [np.empty(channels, np.float32) for _ in range(4)],
            'dx': np.empty_like(x),
            'dgb': [np.empty(channels, np.float32) for _ in range(2)],
            'dw': np.empty_like(w),
        }
        for _ in range(2)
    ]
    name = f'shm_bn_relu6_depthwise3x3_s{stride}_train'

    def run(lib, i):
        o = outs[i]
        fwd = [x, gamma, beta, consts, *moving, w, o['out'], *o['stats']]
        bwd = [x, gamma, beta, o['stats'][0], o['stats'][1], w, dout, o['dx'], *o['dgb'], o['dw']]
        return timed(lambda: call(lib, name, fwd), lambda: call(lib, name + '_grad', bwd))

    return run, outs


def equal(outs):
    """Whether both libraries' outputs are the same bits."""

    def flat(o):
        return [a for v in o.values() for a in (v if isinstance(v, list) else [v])]

    return all(np.array_equal(a, b) for a, b in zip(flat(outs[0]), flat(outs[1])))


def compare_kind(kind, libs, args):
    """Rows (layer, A ms..., B ms..., equal) of one kind and the network's sums per library;
    ``libs``: the two builds of each library the kinds need, by library name."""
    table = {'dense3x3': DENSE3X3, 'dense5x5': DENSE5X5, 'data': DATA, 'pointwise': POINTWISE}
    table.update(projection=PROJECTION, norm_depthwise=NORM_DEPTHWISE)
    shapes = {k: 1 for k in list(DENSE3X3) + list(DATA)} if kind == 'inference' else table[kind]
    rng = np.random.default_rng(0)
    rows, sums = [], [0.0, 0.0]
    for (cin, cout, side), count in shapes.items():
        side = max(1, side // args.scale)
        if kind == 'projection':
            run, outs = projection_case(cin, cout, side, args.batch, rng)
        elif kind == 'norm_depthwise':  # (channels, stride, side)
            run, outs = norm_depthwise_case(cin, cout, side, args.batch, rng)
        else:
            run, outs = conv_case(kind, cin, cout, side, args.batch, rng)
        medians = alternate(libs['core' if kind in CORE_KINDS else 'dnnl'], run, args.repeats)
        sums = [s + count * float(np.sum(m)) * 1e3 for s, m in zip(sums, medians)]
        ms = [' / '.join(f'{t * 1e3:.2f}' for t in m) for m in medians]
        what = f'{cin} -> {cin} stride {cout}' if kind == 'norm_depthwise' else f'{cin} -> {cout}'
        name = f'{what} at {side}' + (f' (x{count})' if count > 1 else '')
        rows.append([name, *ms, equal(outs)])
    return rows, sums


def main(argv=None):
    from terminaltables import AsciiTable

    args = parse_args(argv)
    checkouts = (osp.abspath(args.against), ROOT)
    needed = {'core' if kind in CORE_KINDS else 'dnnl' for kind in args.kinds}
    libs = {name: [ctypes.CDLL(library_path(path, name)) for path in checkouts] for name in needed}
    for kind in args.kinds:
        rows, sums = compare_kind(kind, libs, args)
        parts = 'forward' if kind == 'inference' else 'forward / backward'
        head = ['layer', f'A ms ({parts})', f'B ms ({parts})', 'equal']
        batch = 1 if kind == 'inference' else args.batch
        table = AsciiTable([head] + rows, f' {kind}, batch {batch} ')
        print(table.table)
        print(f"{kind}: the network's layers {sums[0]:.1f} ms (A) -> {sums[1]:.1f} ms (B)")


if __name__ == '__main__':
    main()
