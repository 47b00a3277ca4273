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
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='synthetic data -> train -> test -> export -> deploy'
    )
    parser.add_argument('--work-root', default='work_dirs/quick_start')
    parser.add_argument('--num', type=int, default=200, help='synthetic portraits')
    parser.add_argument('--size', type=int, nargs=2, default=[300, 400], metavar=('W', 'H'))
    parser.add_argument(
        '--epochs',
        type=int,
        nargs=2,
        default=[14, 14],
        metavar=('TNET', 'E2E'),
        help='epochs per phase (120 training images / batch 8 = 15 steps each)',
    )
    parser.add_argument('--deploy-images', type=int, default=5)
    return parser.parse_args(argv)


class Stages:
    """Runs commands, logs their output and keeps the elapsed time of each stage."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.times = []
        os.makedirs(log_dir, exist_ok=True)

    def run(self, title, cmd, env=None):
        print(f'\n=== {title}\n$ {" ".join(cmd)}', flush=True)
        log = osp.join(self.log_dir, f'{len(self.times) + 1:02d}_{title.split()[0].lower()}.log')
        start = time.perf_counter()
        with open(log, 'w') as f:
            proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env)
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


def main(argv=None):
    from terminaltables import AsciiTable

    args = parse_args(argv)
    py = sys.executable
    work = osp.abspath(args.work_root)
    raw, data = osp.join(work, 'raw'), osp.join(work, 'data')
    stages = Stages(osp.join(work, 'logs'))
    # No MindSpore compile cache: with MindSpore 2.10 a cache written by the T-Net phase was picked
    # up by the end-to-end phase's different graph (a BatchNorm Memcpy_s error), and a fresh
    # machine has nothing cached anyway.
    env = {**os.environ, 'PYTHON': py, 'MS_COMPILER_CACHE_ENABLE': '0'}
    data_opt = f'data_root={data}'
    tnet_cfg, e2e_cfg = 'configs/shm/tnet_cpu_synthetic.py', 'configs/shm/e2e_cpu_synthetic.py'
    metrics = ['SAD', 'MSE', 'MAD', 'Grad', 'Conn']
    total_start = time.perf_counter()

    stages.run(
        'synthetic data',
        [
            py,
            'tools/dataset_converters/make_synthetic.py',
            raw,
            '--num',
            str(args.num),
            '--size',
            *map(str, args.size),
            '--seed',
            '0',
        ],
    )
    stages.run('prepare', [py, 'tools/dataset_converters/human_matting.py', raw, data])

    # the untrained model: the E2E recipe's initialisation (PyTorch default init, seed 0)
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.engine.checkpoint import save_checkpoint_atomic
    from shmatting.models import build_model

    ms.set_seed(0)
    untrained = osp.join(work, 'untrained.ckpt')
    save_checkpoint_atomic(build_model(Config.fromfile(osp.join(ROOT, e2e_cfg)).model), untrained)
    stages.run(
        'test untrained',
        [
            py,
            'tools/test.py',
            e2e_cfg,
            untrained,
            '--metrics',
            *metrics,
            '--out',
            osp.join(work, 'untrained.json'),
            '--cfg-options',
            data_opt,
        ],
        env=env,
    )
    stages.run(
        'train T-Net',
        [
            py,
            'tools/train.py',
            tnet_cfg,
            '--work-dir',
            osp.join(work, 'tnet'),
            '--cfg-options',
            data_opt,
            f'total_epochs={args.epochs[0]}',
        ],
        env=env,
    )
    stages.run(
        'train end-to-end',
        [
            py,
            'tools/train.py',
            e2e_cfg,
            '--work-dir',
            osp.join(work, 'e2e'),
            '--cfg-options',
            data_opt,
            f'total_epochs={args.epochs[1]}',
            f'load_from.tnet={osp.join(work, "tnet", "best_mIoU.ckpt")}',
        ],
        env=env,
    )
    best = osp.join(work, 'e2e', 'best_SAD.ckpt')
    stages.run(
        'test trained',
        [
            py,
            'tools/test.py',
            e2e_cfg,
            best,
            '--metrics',
            *metrics,
            '--out',
            osp.join(work, 'trained.json'),
            '--show-dir',
            osp.join(work, 'show'),
            '--cfg-options',
            data_opt,
        ],
        env=env,
    )
    mindir = osp.join(work, 'export', 'shm_export')
    stages.run(
        'export MINDIR',
        [
            py,
            'tools/export_mindir.py',
            e2e_cfg,
            best,
            '--input-shape',
            '1',
            '3',
            '320',
            '320',
            '--out',
            mindir,
            '--cfg-options',
            data_opt,
        ],
        env=env,
    )
    deploy = osp.join(work, 'deploy')
    os.makedirs(deploy, exist_ok=True)
    flow_env = dict(env, LIMIT=str(args.deploy_images))
    start = time.perf_counter()
    print(f'\n=== deploy flow\n$ bash tools/deploy/run_infer.sh {mindir}.mindir CPU 0', flush=True)
    proc = subprocess.run(
        ['bash', osp.join(ROOT, 'tools/deploy/run_infer.sh'), mindir + '.mindir', 'CPU', '0'],
        cwd=deploy,
        capture_output=True,
        text=True,
        env=flow_env,
    )
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr)
    stages.times.append(('deploy flow', time.perf_counter() - start))
    if proc.returncode != 0:
        raise SystemExit(f'error: the deploy flow failed: {proc.stderr[-500:]}')

    before, after = (
        read_metrics(osp.join(work, 'untrained.json')),
        read_metrics(osp.join(work, 'trained.json')),
    )
    rows = [['Metric (p3m, test split)', 'untrained', 'trained', 'trained / untrained']]
    for key in metrics:
        rows.append(
            [key, f'{before[key]:.4f}', f'{after[key]:.4f}', f'{after[key] / before[key]:.3f}']
        )
    print('\n' + AsciiTable(rows, title=' Quick start result ').table)
    rows = [['Stage', 'Seconds']] + [[t, f'{s:.1f}'] for t, s in stages.times]
    rows.append(['total (this job)', f'{time.perf_counter() - total_start:.1f}'])
    print(AsciiTable(rows).table)
    print(
        f'best checkpoint: {best}\nMINDIR:          {mindir}.mindir (+ .json sidecar)\n'
        f'composites:      {osp.join(work, "show")} and {osp.join(deploy, "postprocess_Result")}'
    )
    ratio = after['SAD'] / before['SAD']
    print(f'trained SAD is {ratio:.2f} x the untrained SAD')
    return 0


if __name__ == '__main__':
    sys.exit(main())
