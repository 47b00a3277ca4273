import os
import subprocess
import sys


def test_builtin_backbone_builds_right_after_registry_import(repo_root):
    code = (
        'from shmatting.registry import BACKBONES\n'
        "net = BACKBONES.build(dict(type='MobileNetV2'))\n"
        'print(type(net).__name__, net.out_strides)\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'PYTHONPATH': repo_root},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == 'MobileNetV2 (1, 2, 4, 8, 16)'
