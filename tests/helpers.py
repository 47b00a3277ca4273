"""Shared test helpers: tiny prepared synthetic data and small configs over the real bases."""

import os
import subprocess
import sys
import textwrap

from shmatting.datasets.synthetic import write_synthetic_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_tiny_data(tmp_path_factory):
    """24 synthetic 64x80 portraits, prepared (train 14 / val 4 / test 6 by the 6:2:2 rule)."""
    base = tmp_path_factory.mktemp('engine_data')
    raw, out = str(base / 'raw'), str(base / 'prep')
    write_synthetic_dataset(raw, num=24, size=(64, 80), seed=1, num_backgrounds=4, workers=1)
    res = subprocess.run(
        [
            sys.executable,
            'tools/dataset_converters/human_matting.py',
            raw,
            out,
            '--workers',
            '1',
            '--ratios',
            '6',
            '2',
            '2',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    return out


def tiny_config(path, data_root, phase='e2e', mode='PYNATIVE', epochs=2, extra=''):
    """Write a small config over the real bases: 64x64 crops, batch 2, the given phase.

    The settings go to ``<name>_tiny_base.py`` and ``path`` inherits from it, so ``extra`` lines
    merge into them as a leaf config's would (``default_hooks = dict(eval=None)`` keeps the
    tiny logger and checkpoint settings).
    """
    path = str(path)
    base = os.path.splitext(path)[0] + '_tiny_base.py'
    text = f"""
        _base_ = ['{ROOT}/configs/_base_/models/shm_mobilenetv2.py',
                  '{ROOT}/configs/_base_/datasets/synthetic_portraits.py',
                  '{ROOT}/configs/_base_/schedules/e2e.py',
                  '{ROOT}/configs/_base_/default_runtime.py']
        data_root = '{data_root}'
        model = dict(train_cfg=dict(phase='{phase}'))
        context = dict(mode='{mode}', device_target='CPU')
        data = dict(samples_per_device=2, workers=0, train=dict(pipeline=[
            dict(type='LoadImageFromFile'), dict(type='LoadAlphaFromFile'),
            dict(type='LoadTrimapFromFile'), dict(type='LoadFgFromFile'),
            dict(type='RandomCrop', crop_size=64), dict(type='RandomFlip', prob=0.5),
            dict(type='CompositeBackground', prob=0.5),
            dict(type='Normalize', mean=[114.0, 121.0, 134.0], std=[255.0, 255.0, 255.0]),
            dict(type='TrimapToIndex'),
            dict(type='PackInputs', keys=('img', 'trimap', 'alpha', 'fg', 'bg'))]))
        optimizer = dict(lr=1e-3)
        total_epochs = {epochs}
        seed = 3
        default_hooks = dict(logger=dict(interval=1),
                             checkpoint=dict(interval=1, max_keep_ckpts=2, save_best='auto'))
    """
    with open(base, 'w') as f:
        f.write(textwrap.dedent(text))
    with open(path, 'w') as f:
        f.write(f"_base_ = './{os.path.basename(base)}'\n" + textwrap.dedent(extra))
    return path


def run_tool(*args, timeout=600, env=None):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def run_with_kernels(code, *args, timeout=600, **env):
    """The stdout of ``code`` run in a fresh process with the CPU kernels required (and ``env``
    added), asserting that it succeeded."""
    res = subprocess.run(
        [sys.executable, '-c', code, *args],
        cwd=ROOT,
        env={**os.environ, 'SHMATTING_CPU_KERNELS': '1', **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def squared_sum_loss(net):
    """A cell ``x -> sum(net(x) ** 2)`` for gradient checks of single layers."""
    from mindspore import nn

    class SquaredSum(nn.Cell):
        def __init__(self, inner):
            super().__init__()
            self.net = inner

        def construct(self, x):
            return (self.net(x) ** 2).sum()

    return SquaredSum(net)


def avx512_on_256_bit_units():
    """Whether this CPU is AMD family 19h (Zen 4) with AVX-512, read from /proc/cpuinfo (the
    kernels ask cpuid): where the kernels' measured choices differ."""
    info = open('/proc/cpuinfo', encoding='utf-8').read()
    return 'AuthenticAMD' in info and '\ncpu family\t: 25\n' in info and ' avx512f' in info
