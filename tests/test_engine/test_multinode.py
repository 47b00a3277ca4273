"""Two nodes, really: two Linux network namespaces joined by a veth pair (addresses that exist only
inside them), one msrun launch per node through tools/dist_train.sh with NNODES / NODE_RANK /
MASTER_ADDR, one process per node. Both exit 0, every parameter and BatchNorm statistic is
identical on both ranks, only global rank 0 writes, and the log names the world size."""

import os
import shutil
import socket
import subprocess
import sys
import uuid

import numpy as np
import pytest

from tests.helpers import ROOT, tiny_config

ADDRESSES = ('10.77.0.1', '10.77.0.2')


def sh(*cmd):
    subprocess.run(list(cmd), check=True, capture_output=True, timeout=30)


@pytest.fixture
def two_nodes():
    """Two network namespaces ``(name, address)`` joined by a veth pair; removed afterwards."""
    if shutil.which('ip') is None or os.geteuid() != 0:
        pytest.skip('needs root and iproute2 to make network namespaces (CI runs as root)')
    tag = uuid.uuid4().hex[:6]
    nodes = [(f'shm{tag}n{i}', ADDRESSES[i]) for i in range(2)]
    links = (f'v{tag}a', f'v{tag}b')
    try:
        for name, _ in nodes:
            sh('ip', 'netns', 'add', name)
        sh('ip', 'link', 'add', links[0], 'type', 'veth', 'peer', 'name', links[1])
        for (name, address), link in zip(nodes, links):
            sh('ip', 'link', 'set', link, 'netns', name)
            sh('ip', '-n', name, 'addr', 'add', f'{address}/24', 'dev', link)
            sh('ip', '-n', name, 'link', 'set', link, 'up')
            sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    except (OSError, subprocess.SubprocessError) as exc:
        for name, _ in nodes:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True)
        pytest.skip(f'cannot make network namespaces here: {exc}')
    yield nodes
    for name, _ in nodes:
        subprocess.run(['ip', 'netns', 'del', name], capture_output=True, timeout=30)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.timeout(600)
def test_two_nodes_in_network_namespaces_train_as_one(two_nodes, tiny_data, tmp_path):
    dump = tmp_path / 'dump'
    extra = (
        "custom_imports = dict(imports=['tests.test_engine.plugins.engine_test_hooks'])\n"
        f"custom_hooks = [dict(type='DumpParamsHook', out_dir='{dump}')]\n"
        "default_hooks = dict(checkpoint=dict(save_best='SAD'))\n"
    )
    cfg = tiny_config(
        tmp_path / 'mn.py', tiny_data, phase='e2e', mode='PYNATIVE', epochs=1, extra=extra
    )
    port = str(free_port())
    procs = []
    for rank, (name, _) in enumerate(two_nodes):
        env = {
            **os.environ,
            'NNODES': '2',
            'NODE_RANK': str(rank),
            'MASTER_ADDR': ADDRESSES[0],
            'PORT': port,
            'PYTHON': sys.executable,
        }
        cmd = [
            'ip',
            'netns',
            'exec',
            name,
            'bash',
            'tools/dist_train.sh',
            cfg,
            '1',
            '--work-dir',
            str(tmp_path / f'wd{rank}'),
        ]
        procs.append(
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    outs = [p.communicate(timeout=540)[0] for p in procs]
    logs = {
        rank: ''.join(
            open(os.path.join(d, f)).read()[-3000:]
            for d, _, fs in os.walk(tmp_path / f'wd{rank}' / 'msrun_logs')
            for f in fs
        )
        for rank in range(2)
    }
    for rank, proc in enumerate(procs):
        assert proc.returncode == 0, f'node {rank}:\n{outs[rank][-2000:]}\n{logs[rank]}'
    r0, r1 = np.load(dump / 'rank_0.npz'), np.load(dump / 'rank_1.npz')
    assert set(r0.files) == set(r1.files) and len(r0.files) == 355
    assert any('moving_variance' in k for k in r0.files)
    assert all(np.array_equal(r0[k], r1[k]) for k in r0.files)
    wd0 = os.listdir(tmp_path / 'wd0')
    assert {'epoch_1.ckpt', 'latest.ckpt', 'best_SAD.ckpt'} <= set(wd0)
    assert sorted(os.listdir(tmp_path / 'wd1')) == ['msrun_logs']  # node 1 wrote nothing else
    log = next(f for f in wd0 if f.endswith('.log') and not f.endswith('.log.json'))
    assert 'rank 0/2' in open(tmp_path / 'wd0' / log).read()
