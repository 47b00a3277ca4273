"""tools/test.py never scores a neighbour in place of a sample it cannot read: it names it, leaves
it out, says how many images were scored and fails with --strict; a checkpoint of another phase
is warned about; the dim convention is named in the last line."""

import json
import shutil

import cv2
import numpy as np

from tests.helpers import run_tool


def broken_copy(tiny_data, root):
    """The tiny data with four of the six test samples broken in four different ways."""
    shutil.copytree(tiny_data, root)
    rels = open(root / 'test.txt').read().split()
    img = lambda r: root / 'test' / 'image' / f'{r}.jpg'  # noqa: E731
    alpha = lambda r: root / 'test' / 'alpha' / f'{r}.png'  # noqa: E731
    img(rels[0]).unlink()  # missing
    alpha(rels[1]).write_bytes(b'')  # empty
    data = img(rels[2]).read_bytes()
    img(rels[2]).write_bytes(data[: len(data) // 2])  # truncated
    small = cv2.resize(cv2.imread(str(alpha(rels[3])), cv2.IMREAD_GRAYSCALE), (20, 30))
    cv2.imwrite(str(alpha(rels[3])), small)  # another size than its image
    return rels


def last_value(stdout):
    return float(stdout.strip().splitlines()[-1].split(':')[1])


def test_unreadable_samples_are_named_left_out_and_counted(trained, tiny_data, tmp_path):
    cfg, ckpt, _ = trained
    rels = broken_copy(tiny_data, tmp_path / 'broken')
    out = tmp_path / 'r.json'
    res = run_tool(
        'tools/test.py',
        cfg,
        ckpt,
        '--out',
        str(out),
        '--cfg-options',
        f'data_root={tmp_path / "broken"}',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert '2 of 6 images scored (4 unreadable, left out)' in res.stdout
    for rel, why in zip(rels[:4], ('missing file', 'empty file', 'truncated JPEG', 'alpha')):
        assert any(rel in line and why in line for line in res.stdout.splitlines()), (rel, why)
    result = json.load(open(out))
    indices = [r['index'] for r in result['per_image']]
    assert sorted(indices) == [4, 5] and result['scored'] == 2 and result['images'] == 6
    assert {f['name'] for f in result['failed']} == set(rels[:4])
    # oracle: the same two samples on their own
    good = tmp_path / 'good'
    shutil.copytree(tiny_data, good)
    (good / 'test.txt').write_text('\n'.join(rels[4:]) + '\n')
    ref = run_tool('tools/test.py', cfg, ckpt, '--cfg-options', f'data_root={good}')
    assert ref.returncode == 0, ref.stderr[-2000:]
    assert last_value(res.stdout) == last_value(ref.stdout)
    assert abs(result['metrics']['SAD'] - last_value(ref.stdout)) < 1e-9


def test_strict_fails_in_one_line(trained, tiny_data, tmp_path):
    cfg, ckpt, _ = trained
    broken_copy(tiny_data, tmp_path / 'broken')
    res = run_tool(
        'tools/test.py', cfg, ckpt, '--strict', '--cfg-options', f'data_root={tmp_path / "broken"}'
    )
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.strip()]
    assert (
        errors[-1]
        == 'error: --strict: 2 of 6 images scored (4 unreadable, left out) of the test split'
        and 'Traceback' not in res.stderr
    )


def test_another_phases_checkpoint_is_warned_about_and_dim_is_named(trained, tmp_path):
    from shmatting.engine.checkpoint import load_checkpoint_arrays, save_with_meta

    cfg, ckpt, _ = trained
    tnet_ckpt = str(tmp_path / 'tnet.ckpt')
    save_with_meta(load_checkpoint_arrays(ckpt), tnet_ckpt, dict(kind='weights', phase='tnet'))
    res = run_tool(
        'tools/test.py',
        cfg,
        tnet_ckpt,
        '--metrics',
        'SAD',
        '--cfg-options',
        'default_hooks.eval.convention=dim',
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "trained in phase 'tnet' but the config is phase 'e2e'" in res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith('ave_sad_dim: ') and 'ave_sad:' not in res.stdout
    assert np.isfinite(float(last.split(':')[1]))
