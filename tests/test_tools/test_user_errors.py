"""A user's mistake gives one ``error: ...`` line and a non-zero exit code from every tool, with
no traceback (``SHMATTING_DEBUG=1`` shows it); wrong config values name their key; code in an
option key never reaches a dumped config; numpy 2 is refused at import in one line."""

import importlib.util
import os
import subprocess
import sys

import pytest

from shmatting.utils.cli import run_cli
from tests.helpers import ROOT, tiny_config


def tool_main(rel):
    spec = importlib.util.spec_from_file_location(
        f'_tool_{rel.replace("/", "_")[:-3]}', os.path.join(ROOT, rel)
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop('_common', None)  # deploy/ and model_converters/ each have their own
    sys.path.insert(0, os.path.dirname(os.path.join(ROOT, rel)))  # tools with sibling helpers
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module.main


def run_in_process(capsys, rel, *argv):
    """Run a tool's ``main`` as its ``__main__`` does; returns (exit code, stderr lines)."""
    with pytest.raises(SystemExit) as info:
        run_cli(tool_main(rel), list(argv))
        sys.exit(0)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return info.value.code, err


@pytest.fixture(scope='module')
def cfg(tiny_data, tmp_path_factory):
    return tiny_config(
        tmp_path_factory.mktemp('errors') / 'c.py', tiny_data, phase='tnet', epochs=1
    )


def write(path, text):
    path.write_text(text)
    return str(path)


def config_cases(tmp, cfg, tiny_data):
    circular = write(tmp / 'a.py', "_base_ = './b.py'\n")
    write(tmp / 'b.py', "_base_ = './a.py'\n")
    empty = tmp / 'empty'
    (empty).mkdir()
    (empty / 'train.txt').write_text('\n')
    return [
        (['tools/train.py', str(tmp / 'missing.py')], 'config file not found'),
        (['tools/train.py', circular], 'circular _base_ inheritance'),
        (
            ['tools/train.py', write(tmp / 'nobase.py', "_base_ = './none.py'\n")],
            "_base_ file './none.py' not found",
        ),
        (['tools/train.py', cfg, '--cfg-options', f'data_root={tmp}/absent'], 'does not exist'),
        (['tools/train.py', cfg, '--cfg-options', f'data_root={empty}'], 'lists no samples'),
        (
            ['tools/train.py', cfg, '--cfg-options', 'total_epochs=ten'],
            "config key 'total_epochs' must be a positive integer, got 'ten'",
        ),
        (
            ['tools/train.py', cfg, '--cfg-options', 'optimizer.lr=fast'],
            "config key 'optimizer.lr' must be a positive number, got 'fast'",
        ),
        (
            ['tools/train.py', cfg, '--cfg-options', 'data.samples_per_device=0'],
            "config key 'data.samples_per_device' must be a positive integer, got 0",
        ),
        (
            ['tools/train.py', cfg, '--cfg-options', 'model.tnet.backbone.widen_factor=x'],
            "widen_factor must be a positive number, got 'x'",
        ),
        (
            ['tools/train.py', cfg, '--cfg-options', "model.tnet.backbone=dict(type='X')"],
            'a dict written as code is not evaluated',
        ),
        (['tools/train.py', cfg, '--cfg-options', 'a-b=1'], "invalid option key 'a-b'"),
        (
            ['tools/test.py', cfg, cfg, '--metrics', 'SADD'],
            "'SADD' is not in the METRICS registry. Did you mean: SAD",
        ),
    ]


def test_user_mistakes_give_one_error_line_from_every_tool(cfg, tiny_data, tmp_path, capsys):
    bad_npz = write(tmp_path / 'bad.npz', 'not a zip file')
    cases = config_cases(tmp_path, cfg, tiny_data) + [
        (
            ['tools/model_converters/torch2shmatting.py', bad_npz, str(tmp_path / 'o.ckpt')],
            'is not a readable .npz of named arrays',
        ),
        (
            ['tools/export_mindir.py', cfg, cfg, '--input-shape', '1', '3', '0', '64'],
            '--input-shape must be N 3 H W with positive N, H and W, got 1 3 0 64',
        ),
        (
            ['tools/misc/print_registry.py', 'BACKBONES', '--import', 'no_such_plugin'],
            "cannot import 'no_such_plugin'",
        ),
        (
            [
                'tools/deploy/infer.py',
                cfg,
                '--input-dir',
                str(tmp_path / 'nowhere'),
                '--sidecar',
                cfg,
            ],
            'input folder not found',
        ),
    ]
    for argv, expected in cases:
        code, err = run_in_process(capsys, *argv)
        assert code == 1 and len(err) >= 1, (argv, err)
        assert err[-1].startswith('error: ') and expected in err[-1], (argv, err[-1])
        assert not any('Traceback' in line for line in err), argv


def test_debug_shows_the_traceback(cfg, tmp_path, monkeypatch):
    monkeypatch.setenv('SHMATTING_DEBUG', '1')
    with pytest.raises(FileNotFoundError, match='config file not found'):
        run_cli(tool_main('tools/train.py'), [str(tmp_path / 'missing.py')])


def test_bad_input_shape_leaves_no_stray_folder(cfg, tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, 'tools/export_mindir.py'),
            cfg,
            cfg,
            '--input-shape',
            '1',
            '3',
            '0',
            '64',
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1 and res.stderr.strip().startswith('error: --input-shape')
    assert os.listdir(tmp_path) == []  # no rank_0/ or anything else in the cwd


def test_an_unread_top_level_key_is_warned_about_with_its_close_match(cfg, tmp_path):
    from shmatting.config import Config
    from shmatting.engine.config_check import UnusedConfigKeyWarning, check_run_config

    config = Config.fromfile(cfg)
    config.merge_from_dict({'optimzer': {'lr': 0.1}, '_my_helper': 3})
    with pytest.warns(
        UnusedConfigKeyWarning, match="'optimzer' is not read by anything.*did you mean 'optimizer'"
    ):
        check_run_config(config)


def test_numpy_2_is_refused_at_import_in_one_line(tmp_path):
    fake = tmp_path / 'numpy'
    fake.mkdir()
    (fake / '__init__.py').write_text("__version__ = '2.1.0'\n")
    res = subprocess.run(
        [sys.executable, '-c', 'import shmatting'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, 'PYTHONPATH': f'{tmp_path}:{ROOT}'},
    )
    assert res.returncode == 1
    assert res.stderr.strip() == (
        'error: shmatting needs numpy<2 with MindSpore 2.10 (numpy 2.1.0 '
        "is installed): pip install 'numpy>=1.24,<2'"
    )


def test_a_closed_output_pipe_stops_a_tool_quietly():
    """``print_config CONFIG | grep -q x`` closes the pipe early: no 'error: BrokenPipeError'."""
    res = subprocess.run(
        f'{sys.executable} tools/misc/print_config.py configs/shm/e2e_8x8.py | head -c 10',
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )
    assert res.returncode == 0 and len(res.stdout) == 10
    assert res.stderr == '', res.stderr
