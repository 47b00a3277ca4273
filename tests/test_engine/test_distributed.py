"""tools/dist_train.sh: a real 2-process msrun run on CPU, and the launch commands it builds."""

import glob
import json
import os
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, run_tool, tiny_config


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
def test_two_process_training_on_cpu(tiny_data, tmp_path):
    dump = tmp_path / 'dump'
    extra = (
        "custom_imports = dict(imports=['tests.test_engine.plugins.engine_test_hooks'])\n"
        f"custom_hooks = [dict(type='DumpParamsHook', out_dir='{dump}')]\n"
        "default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='SAD'))\n"
    )
    cfg = tiny_config(
        tmp_path / 'dist.py', tiny_data, phase='e2e', mode='GRAPH', epochs=1, extra=extra
    )
    wd = tmp_path / 'wd'
    env = {
        **os.environ,
        'PORT': str(free_port()),
        'LOG_DIR': str(tmp_path / 'logs'),
        'PYTHON': sys.executable,
    }
    res = subprocess.run(
        ['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(wd)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
    )
    logs = ''.join(open(p).read()[-3000:] for p in glob.glob(str(tmp_path / 'logs' / '*.log')))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:] + logs
    # every parameter, BatchNorm statistics included, is identical on both ranks
    r0, r1 = np.load(dump / 'rank_0.npz'), np.load(dump / 'rank_1.npz')
    assert set(r0.files) == set(r1.files) and len(r0.files) == 355
    assert any('moving_mean' in k for k in r0.files)
    for key in r0.files:
        assert np.array_equal(r0[key], r1[key]), key
    # only rank 0 wrote: one text log, one JSON log, one dumped config
    names = os.listdir(wd)
    assert len([n for n in names if n.endswith('.log')]) == 1
    assert len([n for n in names if n.endswith('.log.json')]) == 1
    assert 'best_SAD.ckpt' in names and 'epoch_1.ckpt' in names
    # the logged best SAD is what tools/test.py measures on best_SAD.ckpt
    records = [json.loads(line) for n in names if n.endswith('.log.json') for line in open(wd / n)]
    best = min(r['SAD'] for r in records if r['mode'] == 'val')
    res = run_tool(
        'tools/test.py',
        cfg,
        str(wd / 'best_SAD.ckpt'),
        '--split',
        'val',
        '--cfg-options',
        'context.mode=PYNATIVE',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    measured = float(res.stdout.strip().splitlines()[-1].split(':')[1])
    assert abs(measured - best) < 1e-6


STANDIN = """#!{python}
import json, os, sys
out = os.environ['STANDIN_DIR']
keys = ['DEVICE_ID', 'RANK_ID', 'RANK_SIZE', 'RANK_TABLE_FILE', 'ONEDNN_MAX_CPU_ISA', 'PYTHONPATH']
record = dict(argv=sys.argv[1:], env={{k: os.environ.get(k) for k in keys}})
name = 'rank_%s' % os.environ.get('RANK_ID', 'msrun')
with open(os.path.join(out, name + '.json'), 'w') as f:
    json.dump(record, f)
print('stand-in ran', name)
sys.exit(int(os.environ.get('STANDIN_FAIL_' + os.environ.get('RANK_ID', 'x'), '0')))
"""


@pytest.fixture
def standin(tmp_path):
    path = tmp_path / 'python_standin'
    path.write_text(STANDIN.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / 'records'
    out.mkdir()
    return str(path), out


def launch(args, env_extra, tmp_path, standin):
    env = {
        **os.environ,
        'PYTHON': standin[0],
        'STANDIN_DIR': str(standin[1]),
        'LOG_DIR': str(tmp_path / 'logs'),
        **env_extra,
    }
    return subprocess.run(
        ['bash', 'tools/dist_train.sh', *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_rank_table_launch_environment(tmp_path, standin):
    table = tmp_path / 'hccl_8p.json'
    table.write_text('{"version": "1.0", "server_count": "2", "server_list": []}')
    res = launch(
        ['configs/shm/e2e_8x8.py', '8', '--seed', '1'],
        {'RANK_TABLE_FILE': str(table), 'NNODES': '2', 'NODE_RANK': '1'},
        tmp_path,
        standin,
    )
    assert res.returncode == 0, res.stderr
    records = {p.name: json.load(open(p)) for p in standin[1].iterdir()}
    assert sorted(records) == [f'rank_{r}.json' for r in sorted(range(8, 16), key=str)]
    for rank in range(8, 16):
        rec = records[f'rank_{rank}.json']
        assert rec['env']['DEVICE_ID'] == str(rank - 8)
        assert rec['env']['RANK_SIZE'] == '16'
        assert rec['env']['RANK_TABLE_FILE'] == str(table.resolve())
        assert rec['env']['ONEDNN_MAX_CPU_ISA'] == 'AVX2'
        assert rec['argv'][1:] == [
            'configs/shm/e2e_8x8.py',
            '--launcher',
            'rank_table',
            '--seed',
            '1',
        ]
        assert rec['argv'][0].endswith('tools/train.py')
        assert os.path.isfile(tmp_path / 'logs' / f'rank_{rank}.log')


def test_rank_table_exit_code_is_propagated(tmp_path, standin):
    table = tmp_path / 't.json'
    table.write_text('{}')
    res = launch(
        ['configs/shm/e2e_8x8.py', '4'],
        {'RANK_TABLE_FILE': str(table), 'STANDIN_FAIL_2': '3'},
        tmp_path,
        standin,
    )
    assert res.returncode == 3 and 'a rank failed' in res.stderr
    assert len(list(standin[1].iterdir())) == 4  # the others still ran


def test_msrun_command_and_core_warning(tmp_path, standin):
    res = launch(
        ['configs/shm/e2e_8x8.py', '4', '--seed', '2'],
        {'PORT': '9123', 'NNODES': '2', 'NODE_RANK': '1', 'MASTER_ADDR': '10.0.0.5'},
        tmp_path,
        standin,
    )
    assert res.returncode == 0, res.stderr
    argv = json.load(open(standin[1] / 'rank_msrun.json'))['argv']
    assert argv[0] == '-c'
    assert '--worker_num=8' in argv and '--local_worker_num=4' in argv
    assert '--master_port=9123' in argv and '--node_rank=1' in argv
    assert '--master_addr=10.0.0.5' in argv and '--join=True' in argv
    assert argv[-4:] == ['configs/shm/e2e_8x8.py', '--launcher', 'msrun', '--seed', '2'][-4:]
    if (os.cpu_count() or 1) < 4:
        assert 'warning: 4 processes' in res.stderr


def test_bad_arguments(tmp_path, standin):
    assert launch(['configs/shm/e2e_8x8.py'], {}, tmp_path, standin).returncode == 2
    res = launch(['configs/shm/e2e_8x8.py', 'two'], {}, tmp_path, standin)
    assert res.returncode == 2 and 'positive integer' in res.stderr
    res = launch(['nope.py', '2'], {}, tmp_path, standin)
    assert res.returncode == 2 and 'config not found' in res.stderr


@pytest.mark.timeout(600)
def test_two_rank_test_equals_one_rank_on_an_uneven_split(tiny_data, tmp_path):
    import shutil

    data = tmp_path / 'data'
    shutil.copytree(tiny_data, data)
    lines = open(data / 'test.txt').read().splitlines()[:5]  # 5 images on 2 ranks
    (data / 'test.txt').write_text('\n'.join(lines) + '\n')
    cfg = tiny_config(tmp_path / 't.py', str(data), phase='e2e')
    import mindspore as ms

    from shmatting.config import Config
    from shmatting.engine.checkpoint import save_checkpoint_atomic
    from shmatting.models import build_model

    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(4)
    ckpt = str(tmp_path / 'w.ckpt')
    save_checkpoint_atomic(build_model(Config.fromfile(cfg).model), ckpt)
    one = run_tool('tools/test.py', cfg, ckpt, '--metrics', 'SAD', 'MSE', 'Conn')
    assert one.returncode == 0, one.stderr[-2000:]
    env = {
        **os.environ,
        'PORT': str(free_port()),
        'LOG_DIR': str(tmp_path / 'logs'),
        'PYTHON': sys.executable,
    }
    two = subprocess.run(
        ['bash', 'tools/dist_test.sh', cfg, ckpt, '2', '--metrics', 'SAD', 'MSE', 'Conn'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=540,
        env=env,
    )
    logs = ''.join(open(p).read() for p in glob.glob(str(tmp_path / 'logs' / 'worker_0.log')))
    assert two.returncode == 0, two.stderr[-2000:] + logs[-2000:]
    table_one = [ln for ln in one.stdout.splitlines() if ln.startswith('| ')]
    table_two = [ln for ln in logs.splitlines() if ln.startswith('| ')]
    assert table_one == table_two and len(table_one) == 4
    assert one.stdout.strip().splitlines()[-1] in logs


@pytest.mark.timeout(120)
def test_a_rank_that_dies_before_the_cluster_forms_stops_the_job_at_once(tiny_data, tmp_path):
    import time

    cfg = tiny_config(tmp_path / 'bad.py', tiny_data, phase='tnet', epochs=1)
    wd = tmp_path / 'wd'
    env = {**os.environ, 'PORT': str(free_port()), 'PYTHON': sys.executable}
    env.pop('LOG_DIR', None)
    start = time.perf_counter()
    res = subprocess.run(
        [
            'bash',
            'tools/dist_train.sh',
            cfg,
            '2',
            '--work-dir',
            str(wd),
            '--cfg-options',
            f'data_root={tmp_path}/absent',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
    )
    took = time.perf_counter() - start
    assert res.returncode != 0 and took < 30, (took, res.stderr[-2000:])
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: worker ') and 'does not exist' in last, res.stderr[-2000:]
    assert f'(logs: {wd}/msrun_logs)' in last  # the logs go under --work-dir
    assert (wd / 'msrun_logs').is_dir()
