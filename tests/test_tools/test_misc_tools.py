import subprocess
import sys


def run_tool(repo_root, *args):
    out = subprocess.run(
        [sys.executable, *args], cwd=repo_root, capture_output=True, text=True, timeout=300
    )
    return out


def test_print_config_with_overrides(repo_root, tmp_path):
    (tmp_path / 'base.py').write_text('model = dict(type="SHM", widen=1.0)\nlr = 0.1\n')
    (tmp_path / 'leaf.py').write_text("_base_ = 'base.py'\nlr = 0.2\n")
    out = run_tool(
        repo_root,
        'tools/misc/print_config.py',
        str(tmp_path / 'leaf.py'),
        '--cfg-options',
        'model.widen=0.5',
        'extra=[1,2]',
    )
    assert out.returncode == 0, out.stderr
    assert 'widen=0.5' in out.stdout and 'lr = 0.2' in out.stdout and 'extra = [1, 2]' in out.stdout


def test_print_registry(repo_root):
    out = run_tool(repo_root, 'tools/misc/print_registry.py', 'hooks')
    assert out.returncode == 0, out.stderr
    assert 'Registry HOOKS' in out.stdout
    bad = run_tool(repo_root, 'tools/misc/print_registry.py', 'NOPE')
    assert bad.returncode != 0 and 'unknown registry' in bad.stderr


def test_collect_env_tool(repo_root):
    out = run_tool(repo_root, 'tools/misc/collect_env.py')
    assert out.returncode == 0, out.stderr
    assert 'MindSpore' in out.stdout and 'AVX2' in out.stdout
