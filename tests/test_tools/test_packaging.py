"""A package that stands alone: the wheel holds the configs (and the kernels' source and the
licence), and a non-editable install finds a config by name from another folder, where
tools/test.py runs on the installed package."""

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """The project's wheel, built from a scratch copy (the checkout gets no build/ folder)."""
    src = tmp_path_factory.mktemp('src')
    for name in ('setup.py', 'README.md', 'LICENSE', 'requirements', 'shmatting', 'configs'):
        path = os.path.join(ROOT, name)
        if os.path.isdir(path):
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(path, src / name)
    dist = tmp_path_factory.mktemp('dist')
    res = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            str(src),
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(dist),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (path,) = dist.glob('shmatting-*.whl')
    return path


def test_the_wheel_holds_the_configs_the_kernel_source_and_the_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = [n for n in names if n.startswith('shmatting/.mim/configs/')]
    expected = {
        os.path.relpath(os.path.join(d, f), ROOT)
        for d, _, fs in os.walk(os.path.join(ROOT, 'configs'))
        for f in fs
        if f.endswith(('.py', '.md'))
    }
    assert {n[len('shmatting/.mim/') :] for n in configs} >= expected
    assert 'shmatting/ops/csrc/cpu_kernels.cc' in names
    assert any(n.endswith(('.dist-info/licenses/LICENSE', '.dist-info/LICENSE')) for n in names)


def test_an_installed_wheel_runs_test_py_from_another_folder(wheel, trained, tiny_data, tmp_path):
    _, ckpt, _ = trained
    target = tmp_path / 'site'
    res = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--no-deps',
            '-q',
            '--target',
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    env = {**os.environ, 'PYTHONPATH': str(target)}
    where = subprocess.run(
        [
            sys.executable,
            '-c',
            'import shmatting, shmatting.config as c; '
            "print(shmatting.__file__); print(c.find_config('shm/e2e_cpu_synthetic.py'))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    package, config = where.stdout.split()
    assert package.startswith(str(target)) and config.startswith(str(target))
    res = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, 'tools', 'test.py'),
            'shm/e2e_cpu_synthetic.py',
            ckpt,
            '--cfg-options',
            f'data_root={tiny_data}',
            'context.mode=PYNATIVE',
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1].startswith('ave_sad: ')
    assert os.listdir(elsewhere) == []  # nothing written into the user's folder
