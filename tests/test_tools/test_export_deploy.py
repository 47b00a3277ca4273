"""export_mindir.py, the 310-style offline flow, test.py options, apis, publish_model, demos."""

import json
import os

import cv2
import numpy as np
import pytest

from tests.helpers import run_tool


def test_export_mindir_round_trip_and_sidecar(trained):
    cfg, ckpt, base = trained
    res = run_tool(
        'tools/export_mindir.py',
        cfg,
        ckpt,
        '--input-shape',
        '1',
        '3',
        '64',
        '64',
        '--out',
        str(base / 'm' / 'shm'),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'max abs diff 0' in res.stdout
    # portable: MindSpore's own operators only, none of this machine's CPU kernels
    exported = (base / 'm' / 'shm.mindir').read_bytes()
    assert b'shm_depthwise3x3' not in exported and b'shm_upsample' not in exported
    assert exported.count(b'Conv2D') > 50
    meta = json.load(open(base / 'm' / 'shm.mindir.json'))
    assert meta['input']['shape'] == [1, 3, 64, 64] and meta['input']['channel_order'] == 'BGR'
    assert meta['input']['mean'] == [114.0, 121.0, 134.0]
    assert [o['name'] for o in meta['outputs']] == ['trimap_logits', 'alpha']
    assert meta['protocol']['resize'] == 'squash'


def test_export_errors(trained):
    cfg, ckpt, base = trained
    res = run_tool('tools/export_mindir.py', cfg, ckpt, '--format', 'AIR')
    assert res.returncode != 0 and 'AIR export needs an Ascend device' in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    res = run_tool('tools/export_mindir.py', cfg, ckpt, '--input-shape', '1', '3', '60', '64')
    assert res.returncode != 0 and 'multiples of 16' in res.stderr


def test_infer_lite_backend_message(trained, tmp_path):
    try:
        import mindspore_lite  # noqa: F401

        pytest.skip('MindSpore Lite is installed: the missing-package message cannot be shown')
    except ImportError:
        pass
    (tmp_path / 'in').mkdir()
    np.zeros((1, 3, 64, 64), np.float32).tofile(tmp_path / 'in' / 'a.bin')
    model = tmp_path / 'm.mindir'
    model.write_bytes(b'x')
    (tmp_path / 'm.mindir.json').write_text(json.dumps({'input': {'shape': [1, 3, 64, 64]}}))
    res = run_tool(
        'tools/deploy/infer.py',
        str(model),
        '--input-dir',
        str(tmp_path / 'in'),
        '--backend',
        'lite',
    )
    assert res.returncode != 0 and 'MindSpore Lite' in res.stderr


def test_test_py_outputs_and_metrics(trained, tmp_path):
    cfg, ckpt, base = trained
    res = run_tool(
        'tools/test.py',
        cfg,
        ckpt,
        '--metrics',
        'SAD',
        'MSE',
        'Grad',
        'Conn',
        '--out',
        str(tmp_path / 'r.json'),
        '--show-dir',
        str(tmp_path / 'show'),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'protocol pad, clamp' in res.stdout and 'p3m convention' in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith('ave_sad: ')
    out = json.load(open(tmp_path / 'r.json'))
    assert len(out['per_image']) == 6 and set(out['metrics']) == {'SAD', 'MSE', 'Grad', 'Conn'}
    shown = [f for _, _, fs in os.walk(tmp_path / 'show') for f in fs]
    assert len([f for f in shown if f.endswith('_alpha.png')]) == 6
    assert len([f for f in shown if f.endswith('_composite.jpg')]) == 6
    res = run_tool(
        'tools/test.py',
        cfg,
        ckpt,
        '--metrics',
        'SAD',
        '--cfg-options',
        'default_hooks.eval.convention=dim',
    )
    assert res.returncode == 0 and 'dim convention' in res.stdout


def test_apis_any_size(trained, tiny_data):
    from shmatting.apis import inference_mattor, init_mattor

    cfg, ckpt, _ = trained
    model = init_mattor(cfg, ckpt)
    image = np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8)
    alpha = inference_mattor(model, image)
    assert alpha.shape == (37, 53) and alpha.dtype == np.float32
    assert alpha.min() >= 0 and alpha.max() <= 1
    # the documented rule: grey is repeated, uint16 / 257, float in [0, 1] * 255
    assert np.array_equal(
        inference_mattor(model, image[..., :1].repeat(3, 2)), inference_mattor(model, image[..., 0])
    )
    wide = image.astype(np.uint16) * 257
    assert np.array_equal(inference_mattor(model, wide), alpha)
    assert np.array_equal(inference_mattor(model, image.astype(np.float32) / 255), alpha)


@pytest.mark.parametrize(
    'bad,match',
    [
        (np.full((8, 8, 3), np.nan, np.float32), 'NaN or Inf'),
        (np.zeros((0, 5, 3), np.uint8), 'empty'),
        (np.full((8, 8, 3), 2.0, np.float32), r'\[0, 1\]'),
        (np.zeros((8, 8, 3), np.int64), 'uint8, uint16 or float'),
    ],
)
def test_inference_refuses_nan_empty_and_unscaled_images(trained, bad, match):
    from shmatting.apis import inference_mattor, init_mattor

    cfg, ckpt, _ = trained
    with pytest.raises((ValueError, TypeError), match=match):
        inference_mattor(init_mattor(cfg, ckpt), bad)


def test_publish_model(trained, tmp_path):
    cfg, ckpt, base = trained
    res = run_tool('tools/misc/publish_model.py', ckpt, str(tmp_path / 'shm_e2e'))
    assert res.returncode == 0, res.stderr
    files = [f for f in os.listdir(tmp_path) if f.startswith('shm_e2e-')]
    assert len(files) == 1 and len(files[0]) == len('shm_e2e-12345678.ckpt')
    import hashlib

    digest = hashlib.sha256(open(tmp_path / files[0], 'rb').read()).hexdigest()
    assert files[0][8:16] == digest[:8]


def test_image_and_video_demos(trained, tmp_path):
    cfg, ckpt, _ = trained
    img = np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'p.jpg'), img)
    res = run_tool(
        'tools/demo/image_demo.py',
        str(tmp_path / 'p.jpg'),
        '--config',
        cfg,
        '--checkpoint',
        ckpt,
        '--out',
        str(tmp_path / 'o'),
        '--background',
        '0,0,255',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert cv2.imread(str(tmp_path / 'o' / 'p_alpha.png'), cv2.IMREAD_GRAYSCALE).shape == (40, 30)
    writer = cv2.VideoWriter(str(tmp_path / 'v.mp4'), cv2.VideoWriter_fourcc(*'mp4v'), 10, (48, 32))
    for i in range(5):
        writer.write(np.full((32, 48, 3), i * 40, np.uint8))
    writer.release()
    res = run_tool(
        'tools/demo/video_demo.py',
        str(tmp_path / 'v.mp4'),
        '--config',
        cfg,
        '--checkpoint',
        ckpt,
        '--out',
        str(tmp_path / 'vo'),
        '--max-frames',
        '3',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert '3 frames' in res.stdout
    cap = cv2.VideoCapture(str(tmp_path / 'vo' / 'composite.mp4'))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
