"""The README's main job, end to end on synthetic portraits, with the time of every stage.

    python tools/quick_start.py [--work-root work_dirs/quick_start] [--num 200] [--steps 210]

1. make synthetic raw data in the AISegment layout (tools/dataset_converters/make_synthetic.py)
2. prepare it (tools/dataset_converters/human_matting.py)
3. score the untrained model on the test split (tools/test.py)
4. train T-Net, then end to end (tools/train_pipeline.sh with the CPU recipes)
5. score the best end-to-end checkpoint on the test split
6. export MINDIR (tools/export_mindir.py) and run the offline flow (tools/deploy/run_infer.sh)
   on a few test images

and prints a table of untrained vs trained metrics and the paths of what it made. Every step runs
the same command a user would type; their output goes to <work-root>/logs/.
"""

import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
try:  # the installed package (pip install), else this checkout
    import shmatting  # noqa: F401
except ImportError:
    sys.path.insert(0, ROOT)
from shmatting.utils.cli import positive_int  # noqa: E402

TNET_CFG, E2E_CFG = 'configs/shm/tnet_cpu_synthetic.py', 'configs/shm/e2e_cpu_synthetic.py'
METRICS = ('SAD', 'MSE', 'MAD', 'Grad', 'Conn')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='synthetic data -> train -> test -> export -> deploy'
    )
    parser.add_argument('--work-root', default='work_dirs/quick_start')
    parser.add_argument('--num', type=positive_int, default=200, help='synthetic portraits')
    parser.add_argument(
        '--size', type=positive_int, nargs=2, default=[300, 400], metavar=('W', 'H')
    )
    parser.add_argument(
        '--epochs',
        type=positive_int,
        nargs=2,
        default=[14, 14],
        metavar=('TNET', 'E2E'),
        help='epochs per phase (120 training images / batch 8 = 15 steps each)',
    )
    parser.add_argument('--deploy-images', type=positive_int, default=5)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='passed to every test/train/export command (e.g. a smaller batch)',
    )
    return parser.parse_args(argv)


class Stages:
    """Runs commands, logs their output and keeps the elapsed time of each stage."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.times = []
        os.makedirs(log_dir, exist_ok=True)

    def run(self, title, cmd, env=None, cwd=ROOT):
        print(f'\n=== {title}\n$ {" ".join(cmd)}', flush=True)
        log = osp.join(self.log_dir, f'{len(self.times) + 1:02d}_{title.split()[0].lower()}.log')
        start = time.perf_counter()
        with open(log, 'w') as f:
            proc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, env=env)
        took = time.perf_counter() - start
        self.times.append((title, took))
        tail = open(log).read().strip().splitlines()[-3:]
        print('\n'.join(tail))
        print(f'--- {title}: {took:.1f}s (log: {log})', flush=True)
        if proc.returncode != 0:
            raise SystemExit(f'error: stage "{title}" failed (exit {proc.returncode}); see {log}')
        return log


def read_metrics(path):
    with open(path) as f:
        return json.load(f)['metrics']


class Paths:
    """Where the quick start puts everything (under ``--work-root``)."""

    def __init__(self, work_root):
        self.work = osp.abspath(work_root)
        self.raw, self.data = osp.join(self.work, 'raw'), osp.join(self.work, 'data')
        self.untrained = osp.join(self.work, 'untrained.ckpt')
        self.best = osp.join(self.work, 'e2e', 'best_SAD.ckpt')
        self.mindir = osp.join(self.work, 'export', 'shm_export')
        self.deploy = osp.join(self.work, 'deploy')

    def json(self, name):
        return osp.join(self.work, f'{name}.json')


def make_data(stages, args, paths, py):
    size = [str(v) for v in args.size]
    stages.run(
        'synthetic data',
        [py, 'tools/dataset_converters/make_synthetic.py', paths.raw]
        + ['--num', str(args.num), '--size', *size, '--seed', '0'],
    )
    stages.run('prepare', [py, 'tools/dataset_converters/human_matting.py', paths.raw, paths.data])


def save_untrained(paths):
    """The E2E recipe's initialisation (PyTorch default init, seed 0) as a checkpoint."""
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.engine.checkpoint import save_checkpoint_atomic
    from shmatting.models import build_model

    ms.set_seed(0)
    model = build_model(Config.fromfile(osp.join(ROOT, E2E_CFG)).model)
    save_checkpoint_atomic(model, paths.untrained)


def test_cmd(py, ckpt, out, options, show=None):
    cmd = [py, 'tools/test.py', E2E_CFG, ckpt, '--metrics', *METRICS, '--out', out]
    return cmd + (['--show-dir', show] if show else []) + ['--cfg-options', *options]


def train(stages, args, paths, py, env, options):
    tnet_best = osp.join(paths.work, 'tnet', 'best_mIoU.ckpt')
    stages.run(
        'train T-Net',
        [py, 'tools/train.py', TNET_CFG, '--work-dir']
        + [osp.join(paths.work, 'tnet'), '--cfg-options', *options]
        + [f'total_epochs={args.epochs[0]}'],
        env=env,
    )
    stages.run(
        'train end-to-end',
        [py, 'tools/train.py', E2E_CFG, '--work-dir']
        + [osp.join(paths.work, 'e2e'), '--cfg-options', *options]
        + [f'total_epochs={args.epochs[1]}', f'load_from.tnet={tnet_best}'],
        env=env,
    )


def export_and_deploy(stages, args, paths, py, env, options):
    stages.run(
        'export MINDIR',
        [py, 'tools/export_mindir.py', E2E_CFG, paths.best]
        + ['--input-shape', '1', '3', '320', '320', '--out', paths.mindir]
        + ['--cfg-options', *options],
        env=env,
    )
    os.makedirs(paths.deploy, exist_ok=True)
    script = osp.join(ROOT, 'tools/deploy/run_infer.sh')
    stages.run(
        'deploy flow',
        ['bash', script, paths.mindir + '.mindir', 'CPU', '0'],
        env=dict(env, LIMIT=str(args.deploy_images)),
        cwd=paths.deploy,
    )


def print_summary(stages, paths, total_start):
    from terminaltables import AsciiTable

    before, after = read_metrics(paths.json('untrained')), read_metrics(paths.json('trained'))
    rows = [['Metric (p3m, test split)', 'untrained', 'trained', 'trained / untrained']]
    for key in METRICS:
        ratio = after[key] / before[key]
        rows.append([key, f'{before[key]:.4f}', f'{after[key]:.4f}', f'{ratio:.3f}'])
    print('\n' + AsciiTable(rows, title=' Quick start result ').table)
    rows = [['Stage', 'Seconds']] + [[t, f'{s:.1f}'] for t, s in stages.times]
    rows.append(['total (this job)', f'{time.perf_counter() - total_start:.1f}'])
    print(AsciiTable(rows).table)
    print(
        f'best checkpoint: {paths.best}\nMINDIR:          {paths.mindir}.mindir (+ .json sidecar)'
        f'\ncomposites:      {osp.join(paths.work, "show")} and '
        f'{osp.join(paths.deploy, "postprocess_Result")}'
    )
    print(f'trained SAD is {after["SAD"] / before["SAD"]:.2f} x the untrained SAD')


def main(argv=None):
    args = parse_args(argv)
    py = sys.executable
    paths = Paths(args.work_root)
    stages = Stages(osp.join(paths.work, 'logs'))
    # No MindSpore compile cache: with MindSpore 2.10 a cache written by the T-Net phase was picked
    # up by the end-to-end phase's different graph (a BatchNorm Memcpy_s error), and a fresh
    # machine has nothing cached anyway (context.compile_cache is the safe one; off here too).
    env = {**os.environ, 'PYTHON': py, 'MS_COMPILER_CACHE_ENABLE': '0'}
    options = [f'data_root={paths.data}', *args.cfg_options]
    total_start = time.perf_counter()
    make_data(stages, args, paths, py)
    save_untrained(paths)
    stages.run(
        'test untrained', test_cmd(py, paths.untrained, paths.json('untrained'), options), env=env
    )
    train(stages, args, paths, py, env, options)
    show = osp.join(paths.work, 'show')
    stages.run(
        'test trained', test_cmd(py, paths.best, paths.json('trained'), options, show), env=env
    )
    export_and_deploy(stages, args, paths, py, env, options)
    print_summary(stages, paths, total_start)
    return 0


if __name__ == '__main__':
    sys.exit(main())
