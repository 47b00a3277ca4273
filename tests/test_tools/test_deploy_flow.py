"""The exported model, scored: the offline flow (MINDIR in MindSpore, ONNX in ONNX Runtime) run
from inside a work dir with a relative data root, and deploy_test.py, each equal to tools/test.py
in the squash protocol at the export size, image by image, on an input-sensitive checkpoint."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, run_tool

SIZE = 64


def has(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


BACKENDS = ['mindspore'] + (['onnxruntime'] if has('onnx') and has('onnxruntime') else [])
FORMAT = {'mindspore': 'mindir', 'onnxruntime': 'onnx'}


@pytest.fixture(scope='module')
def exported(trained, tiny_data):
    """The checkpoint exported at 64x64 as MINDIR and (with onnx) ONNX, from a config whose data
    root is relative to the repository, where the export runs."""
    cfg, ckpt, base = trained
    rel_cfg = base / 'rel.py'
    rel_cfg.write_text(f"_base_ = './exp.py'\ndata_root = '{os.path.relpath(tiny_data, ROOT)}'\n")
    models = {}
    for backend in BACKENDS:
        fmt = FORMAT[backend]
        out = base / 'flow' / f'shm_{fmt}'
        res = run_tool(
            'tools/export_mindir.py',
            str(rel_cfg),
            ckpt,
            '--input-shape',
            '1',
            '3',
            str(SIZE),
            str(SIZE),
            '--format',
            fmt.upper(),
            '--out',
            str(out),
        )
        assert res.returncode == 0, res.stderr[-2000:]
        check = 'max abs diff 0' if fmt == 'mindir' else 'onnxruntime vs network: max abs diff'
        assert check in res.stdout
        models[backend] = f'{out}.{fmt}'
    return str(rel_cfg), ckpt, models


@pytest.fixture(scope='module')
def reference(exported, tmp_path_factory):
    """tools/test.py on the checkpoint in the squash protocol at the export size, per image, on
    MindSpore's own operators as the exported model (the CPU kernels round differently, which
    this input-sensitive network turns into 2e-4 of SAD)."""
    cfg, ckpt, _ = exported
    out = tmp_path_factory.mktemp('ref') / 'r.json'
    options = ['model.test_cfg.resize=squash', f'model.test_cfg.size={SIZE}']
    env = {**os.environ, 'SHMATTING_CPU_KERNELS': '0'}
    res = run_tool(
        'tools/test.py', cfg, ckpt, '--out', str(out), '--cfg-options', *options, env=env
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert f'squash {SIZE}' in res.stdout
    return json.load(open(out))


def per_image(result):
    return {os.path.basename(r['name']): r['SAD'] for r in result['per_image']}


@pytest.mark.parametrize('backend', BACKENDS)
def test_offline_flow_from_inside_a_work_dir_matches_test_py_per_image(
    exported, reference, backend, tmp_path
):
    cfg, _, models = exported
    work = tmp_path / 'work_dir'  # another cwd: the relative data root must still resolve
    work.mkdir()
    env = {**os.environ, 'PYTHON': sys.executable}
    res = subprocess.run(
        ['bash', f'{ROOT}/tools/deploy/run_infer.sh', models[backend], 'CPU', '0'],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    names = sorted(os.listdir(work / 'result_Files'))
    assert len(names) == 12 and names[0].startswith('matting_0000_') and names[0].endswith('_0.bin')
    timing = open(work / 'time_Result' / 'test_perform_static.txt').read()
    assert timing.startswith('NN inference cost average time:') and 'infer_count 6' in timing
    acc = open(work / 'acc.log').read().strip().splitlines()
    flow = {
        os.path.basename(line.split('\t')[0])[len('matting_0000_') : -4]: float(line.split('\t')[2])
        for line in acc
        if '\tsad\t' in line
    }
    expected = per_image(reference)
    assert sorted(flow) == sorted(expected) and len(set(expected.values())) == 6
    for name, sad in expected.items():
        assert abs(flow[name] - sad) < 1e-5, (name, flow[name], sad)
    assert acc[-1].startswith('Total images: 6, total sad:')


@pytest.mark.skipif(len(BACKENDS) < 2, reason='onnx and onnxruntime are not installed')
def test_mindspore_and_onnxruntime_flows_write_the_same_alphas(exported, tmp_path):
    cfg, _, models = exported
    alphas = {}
    for backend in BACKENDS:
        work = tmp_path / backend
        work.mkdir()
        env = {**os.environ, 'PYTHON': sys.executable, 'LIMIT': '3'}
        res = subprocess.run(
            ['bash', f'{ROOT}/tools/deploy/run_infer.sh', models[backend]],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert res.returncode == 0, res.stdout + res.stderr
        names = sorted(n for n in os.listdir(work / 'result_Files') if n.endswith('_1.bin'))
        alphas[backend] = np.stack([np.fromfile(work / 'result_Files' / n, '<f4') for n in names])
    assert alphas['mindspore'].std(0).mean() > 0.05  # the images give different alphas
    np.testing.assert_allclose(alphas['onnxruntime'], alphas['mindspore'], atol=1e-4)


@pytest.mark.parametrize('backend', BACKENDS)
def test_deploy_test_scores_the_exported_model_as_test_py(exported, reference, backend, tmp_path):
    cfg, _, models = exported
    out = tmp_path / 'd.json'
    res = run_tool('tools/deploy/deploy_test.py', cfg, models[backend], '--out', str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    assert f'protocol squash {SIZE}x{SIZE}, clamp' in res.stdout and '6 of 6 images' in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith('ave_sad: ')
    got = json.load(open(out))
    assert got['backend'] == backend
    for name, sad in per_image(reference).items():
        assert abs(per_image(got)[name] - sad) < 1e-5, name
