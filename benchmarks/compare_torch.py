"""shmatting (MindSpore) against the PyTorch original, same network, same weights, one process.

Usage (torch is a benchmark-only dependency: ``pip install torch==2.13.0``):
    python benchmarks/compare_torch.py [--config configs/shm/zoo/zoo_e2e_8x8.py] [--batch 8]
        [--shape 320 320] [--rounds 5] [--steps 3] [--infer-steps 10] [--skip-train]
        [--fresh-rounds 3]
    python benchmarks/compare_torch.py --memory ms|torch      # peak RSS of one framework alone

Timing alternates the frameworks round by round (A/B, then B/A) so slow drifts of a shared machine
hit both; the table shows medians over all timed steps and the ratio to PyTorch.
The training step is timed twice too: in this one process, and in fresh processes of one framework
each (``--fresh-rounds`` of them per framework, alternated), as the original repository runs on
its own: there PyTorch's glibc heap returns its large buffers to the system after every step and
faults them in again on the next, which the shared process (where MindSpore has run) hides in part.
The fresh PyTorch processes run without shmatting's AVX2 cap on oneDNN.
Inference is timed twice: in the fresh process and again after the training rounds (PyTorch's
speed differs between the two; see ``main``), each time for the network as the inference tools
run it (GRAPH, BatchNorms folded), its exported MINDIR (``nn.GraphCell``) and, where onnx and
onnxruntime are installed, its exported ONNX in ONNX Runtime with the same number of threads.
Both sides use 2 intra-op threads, the same random
data and the same initial weights (the zoo network: its fusion and its loss, end-to-end phase,
Adam lr 1e-4, weight decay 5e-4).
"""

import argparse
import gc
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import shmatting  # noqa: E402,F401
from shmatting.utils.cli import non_negative_int, positive_int  # noqa: E402
from shmatting.utils.profiling import peak_rss_gb, random_batch  # noqa: E402

HAS_ORT = all(
    importlib.util.find_spec(m) is not None for m in ('onnx', 'onnxruntime')
)  # then the exported ONNX is timed in ONNX Runtime too


# ---------------------------------------------------------------------- MindSpore side
class MindSporeSide:
    def __init__(self, config, threads):
        import mindspore as ms

        from shmatting.config import Config
        from shmatting.engine.optimizers import build_optimizer
        from shmatting.engine.train_step import MattorWithLoss, TrainStep
        from shmatting.models import build_model

        ms.set_device('CPU')
        ms.set_context(mode=ms.GRAPH_MODE)
        try:
            ms.device_context.cpu.op_tuning.threads_num(threads)
        except Exception:
            pass
        cfg = Config.fromfile(config)
        cfg.merge_from_dict({'model.train_cfg.phase': 'e2e'})
        self.cfg, self.threads, self.keep = cfg, threads, []
        self.ms = ms
        self.model = build_model(cfg.model)
        opt = build_optimizer(
            dict(type='Adam', lr=1e-4, weight_decay=5e-4), self.model.phase_trainable_params(), 1e-4
        )
        self.step = TrainStep(MattorWithLoss(self.model), opt, len(self.model.loss_names))
        self.step.set_train()
        self.graph = None

    def state_dict(self):
        return {p.name: p.asnumpy() for p in self.model.get_parameters()}

    def prepare_train(self, data):
        self.step.set_train()  # inference may have run first
        self.inputs = tuple(self.ms.Tensor(data[k]) for k in ('img', 'trimap', 'alpha'))
        start = time.perf_counter()
        self.step.compile(*self.inputs)
        return time.perf_counter() - start

    def train_step(self):
        self.step(*self.inputs).asnumpy()

    def inference_model(self, exportable=None):
        """The trained weights in the network as the inference tools run it (BatchNorms folded;
        ``exportable='MINDIR'|'ONNX'``: as tools/export_mindir.py exports it)."""
        from shmatting.apis.export import exportable_config
        from shmatting.models import build_model
        from shmatting.models.layers import fuse_conv_bn
        from shmatting.ops import set_cpu_kernels

        cfg = exportable_config(self.cfg, exportable) if exportable else self.cfg
        model = build_model(cfg.model)
        self.ms.load_param_into_net(model, {p.name: p for p in self.model.get_parameters()})
        model.set_train(False)
        fuse_conv_bn(model)
        if exportable:
            set_cpu_kernels(model, False)  # as tools/export_mindir.py exports
        # MindSpore resolved a graph's methods wrongly once when a model built earlier had been
        # collected and a new one reused its ids: keep every model of the comparison alive
        self.keep.append(model)
        return model

    def prepare_infer(self, x, export_dir):
        from shmatting.apis.backends import OnnxRuntimeBackend
        from shmatting.apis.export import export_network

        self.x_np, self.x = x, self.ms.Tensor(x)
        self.infer_net = self.inference_model()
        start = time.perf_counter()
        self.infer_net.compile(self.x)
        compile_s = time.perf_counter() - start
        exported = self.inference_model(exportable='MINDIR')
        path = export_network(exported, x, osp.join(export_dir, 'bench'), 'MINDIR')
        self.graph = self.ms.nn.GraphCell(self.ms.load(path))
        self.ort = None
        if HAS_ORT:
            exported = self.inference_model(exportable='ONNX')
            path = export_network(exported, x, osp.join(export_dir, 'bench'), 'ONNX')
            self.ort = OnnxRuntimeBackend(path, threads=self.threads)
        return compile_s

    def infer(self):
        self.infer_net(self.x)[1].asnumpy()

    def infer_mindir(self):
        self.graph(self.x)[1].asnumpy()

    def infer_onnx(self):
        self.ort.predict(self.x_np)


# ---------------------------------------------------------------------- PyTorch side
class TorchSide:
    def __init__(self, threads, state=None):
        import torch

        from benchmarks.torch_shm import SHMNet

        torch.set_num_threads(threads)
        self.torch = torch
        self.net = SHMNet()
        if state is not None:
            self.load_shmatting_state(state)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-4, weight_decay=5e-4)

    def load_shmatting_state(self, state):
        """shmatting names -> the original's (the inverse of the zoo converter)."""
        from shmatting.models.converters import shm_to_torch_name

        converted = {shm_to_torch_name(k): self.torch.from_numpy(v) for k, v in state.items()}
        missing, unexpected = self.net.load_state_dict(converted, strict=False)
        assert not [
            m for m in missing if 'num_batches_tracked' not in m and 'en_conv_bn_relu_5' not in m
        ]

    def loss(self, img, trimap, alpha):
        torch = self.torch
        tri_logits, alpha_p = self.net(img)
        ce = torch.nn.functional.cross_entropy(tri_logits, trimap[:, 0].long())
        l_alpha = torch.sqrt((alpha_p - alpha) ** 2 + 1e-6).mean()
        l_comp = torch.sqrt((alpha * img - alpha_p * img) ** 2 + 1e-6).mean()
        return 0.5 * l_alpha + 0.5 * l_comp + 0.01 * ce

    def prepare_train(self, data):
        t = self.torch
        self.inputs = (
            t.from_numpy(data['img']),
            t.from_numpy(data['trimap']),
            t.from_numpy(data['alpha']),
        )
        self.net.train()
        return 0.0

    def train_step(self):
        self.opt.zero_grad()
        loss = self.loss(*self.inputs)
        loss.backward()
        self.opt.step()
        float(loss)

    def prepare_infer(self, x, mindir_dir):
        self.net.eval()
        self.x = self.torch.from_numpy(x)
        return 0.0

    def infer(self):
        with self.torch.no_grad():
            self.net(self.x)[1].numpy()


def alternate(sides, fn_names, rounds, steps, warmup_rounds=1):
    """Run ``fn_names[i]`` of each side for ``steps`` calls per round, alternating the order."""
    times = {label: [] for label in fn_names}
    for r in range(warmup_rounds + rounds):
        order = list(fn_names.items())
        if r % 2:
            order.reverse()
        for label, (side, fn) in order:
            for _ in range(steps):
                start = time.perf_counter()
                getattr(side, fn)()
                if r >= warmup_rounds:
                    times[label].append(time.perf_counter() - start)
            time.sleep(0.5)
    return {k: float(np.median(v)) for k, v in times.items()}


def timed_training(framework, args):
    """One framework alone in this process: its step compiled, one warm-up step, then
    ``args.steps`` timed steps on random data -> (step times in s, peak RSS in GB)."""
    data = random_batch(args.batch, *args.shape)
    if framework == 'ms':
        side = MindSporeSide(args.config, args.threads)
    else:
        side = TorchSide(args.threads)
    side.prepare_train(data)
    side.train_step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        side.train_step()
        times.append(time.perf_counter() - start)
    return times, peak_rss_gb()


def memory_only(framework, args):
    _, peak_gb = timed_training(framework, args)
    print(
        f'{framework}: training batch {args.batch} {args.shape[0]}x{args.shape[1]}: '
        f'peak RSS {peak_gb:.2f} GB'
    )


CHILD_MARK = 'compare_torch train child:'


def train_child(framework, args):
    """:func:`timed_training` in a fresh process, its result on one line for
    :func:`run_train_child` (with whether MindSpore was loaded: not in PyTorch's process)."""
    times, peak_gb = timed_training(framework, args)
    result = {'times': times, 'peak_gb': peak_gb, 'mindspore_loaded': 'mindspore' in sys.modules}
    print(f'{CHILD_MARK} {json.dumps(result)}', flush=True)


def run_train_child(framework, args):
    """One fresh process of :func:`train_child` -> ``{'times': [...], 'peak_gb': float}``."""
    cmd = [sys.executable, osp.abspath(__file__), '--train-child', framework]
    cmd += ['--config', args.config, '--batch', str(args.batch), '--steps', str(args.steps)]
    cmd += ['--shape', *map(str, args.shape), '--threads', str(args.threads)]
    env = dict(os.environ)
    if framework == 'torch':
        env['ONEDNN_MAX_CPU_ISA'] = 'ALL'  # as the original runs: without shmatting's cap
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            return json.loads(line[len(CHILD_MARK) :])
    tail = (out.stderr.strip().splitlines() or ['(no output)'])[-1]
    raise SystemExit(f'error: the fresh {framework} training process failed: {tail}')


def fresh_process_training(args):
    """Each framework's training step in ``args.fresh_rounds`` fresh processes, the order
    alternated per round -> (median step time, median peak RSS in GB) per framework."""
    runs = {'ms': [], 'torch': []}
    for r in range(args.fresh_rounds):
        for framework in ('ms', 'torch') if r % 2 == 0 else ('torch', 'ms'):
            runs[framework].append(run_train_child(framework, args))
    return {
        fw: (
            float(np.median([t for run in fw_runs for t in run['times']])),
            float(np.median([run['peak_gb'] for run in fw_runs])),
        )
        for fw, fw_runs in runs.items()
    }


def main(argv=None):
    from terminaltables import AsciiTable

    parser = argparse.ArgumentParser(description='shmatting vs the PyTorch original')
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/shm/zoo/zoo_e2e_8x8.py'))
    parser.add_argument('--batch', type=positive_int, default=8)
    parser.add_argument('--shape', type=positive_int, nargs=2, default=[320, 320])
    parser.add_argument('--rounds', type=positive_int, default=5)
    parser.add_argument('--steps', type=positive_int, default=3)
    parser.add_argument('--infer-steps', type=positive_int, default=10)
    parser.add_argument('--threads', type=positive_int, default=2)
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--memory', choices=['ms', 'torch'])
    parser.add_argument(
        '--fresh-rounds',
        type=non_negative_int,
        default=3,
        help='fresh processes per framework timing the training step (0: none)',
    )
    parser.add_argument('--train-child', choices=['ms', 'torch'], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('OMP_NUM_THREADS', str(args.threads))
    if args.memory:
        return memory_only(args.memory, args)
    if args.train_child:
        return train_child(args.train_child, args)
    # first, while this process holds neither framework's memory
    fresh = fresh_process_training(args) if args.fresh_rounds and not args.skip_train else None
    ms_side = MindSporeSide(args.config, args.threads)
    pt_side = TorchSide(args.threads, ms_side.state_dict())
    rows = [['Measurement', 'MindSpore (s)', 'PyTorch (s)', 'MS / PT']]
    x = random_batch(1, *args.shape)['img']
    # PyTorch's inference speed depends on glibc malloc's state: in a process that has not trained,
    # every inference maps and faults in fresh pages (~78k minor faults, ~0.15 s of system time
    # per image here); after a training step the adaptive mmap threshold keeps them on the heap.
    # Both states are measured: first an inference-only process, then after the training rounds.
    rows += compare_inference(ms_side, pt_side, x, args, 'inference-only process')
    if not args.skip_train:
        compile_s = compare_training(ms_side, pt_side, fresh, args, rows)
        print(f'MindSpore train-step compile: {compile_s:.1f}s', flush=True)
        gc.collect()
        rows += compare_inference(ms_side, pt_side, x, args, 'after training')
    print(AsciiTable(rows, title=' shmatting vs PyTorch original ').table)
    print(
        f'medians of {args.rounds} alternating rounds; {args.threads} threads each; '
        f'peak RSS of this process (both frameworks): {peak_rss_gb():.2f} GB'
    )
    if fresh:
        print(
            f'fresh processes ({args.fresh_rounds} per framework, alternated): peak RSS while '
            f'training MindSpore {fresh["ms"][1]:.2f} GB, PyTorch {fresh["torch"][1]:.2f} GB'
        )


def train_row(args, where, ms_s, pt_s):
    """A table row of the training step's medians (seconds) and their ratio."""
    label = f'train step, batch {args.batch}, {args.shape[0]}x{args.shape[1]}, {where}'
    return [label, f'{ms_s:.3f}', f'{pt_s:.3f}', f'{ms_s / pt_s:.2f}']


def compare_training(ms_side, pt_side, fresh, args, rows):
    """Alternating training steps in this process; appends its row and, given the fresh
    processes' results, theirs to ``rows``. Returns the MindSpore step's compile time (s)."""
    data = random_batch(args.batch, *args.shape)
    compile_s = ms_side.prepare_train(data)
    pt_side.prepare_train(data)
    med = alternate(
        [ms_side, pt_side],
        {'ms': (ms_side, 'train_step'), 'pt': (pt_side, 'train_step')},
        args.rounds,
        args.steps,
    )
    rows.append(train_row(args, 'one process', med['ms'], med['pt']))
    if fresh:
        rows.append(train_row(args, 'fresh processes', fresh['ms'][0], fresh['torch'][0]))
    return compile_s


def compare_inference(ms_side, pt_side, x, args, state):
    """Alternating inference timings (GRAPH, exported MINDIR, exported ONNX in ONNX Runtime,
    PyTorch) -> table rows."""
    with tempfile.TemporaryDirectory() as tmp:
        ms_side.prepare_infer(x, tmp)
        pt_side.prepare_infer(x, tmp)
        fns = {
            'ms_graph': (ms_side, 'infer'),
            'ms_mindir': (ms_side, 'infer_mindir'),
            'pt': (pt_side, 'infer'),
        }
        if ms_side.ort is not None:
            fns['onnx'] = (ms_side, 'infer_onnx')
        med = alternate([ms_side, pt_side], fns, args.rounds, args.infer_steps)
    rows = []
    labels = [('GRAPH', 'ms_graph'), ('exported MINDIR', 'ms_mindir')]
    labels += [('exported ONNX, ONNX Runtime', 'onnx')] if 'onnx' in med else []
    for label, key in labels:
        rows.append(
            [
                f'inference, batch 1, {label}, {args.shape[0]}x{args.shape[1]}, {state}',
                f'{med[key]:.4f}',
                f'{med["pt"]:.4f}',
                f'{med[key] / med["pt"]:.2f}',
            ]
        )
    return rows


if __name__ == '__main__':
    main()
