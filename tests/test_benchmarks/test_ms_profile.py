"""benchmarks/ms_profile.py: time per op type, and the project's kernels per layer class."""

import csv
import os.path as osp
import subprocess
import sys

from benchmarks.ms_profile import layer_kind, layer_totals
from tests.helpers import ROOT

FWD = 'Default/network-MattorWithLoss/model-SHM/s1-SequentialCell/1-SameConv2d/Custom-op0'
BWD = 'Gradients/Default/network-MattorWithLoss/b1-NormActDepthwise/Grad_Custom/Custom-op3'


def test_a_kernel_is_named_by_its_innermost_layer_class_and_direction():
    assert layer_kind(FWD) == 'forward SameConv2d'
    assert layer_kind(BWD) == 'backward NormActDepthwise'
    assert layer_kind('Custom-op7') == 'forward (no layer)'


def test_kernels_sum_per_layer_kind_and_mindspore_operators_per_type(tmp_path):
    path = tmp_path / 'cpu_op_detail_info_0.csv'
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['op_type', 'full_op_name', 'op_total_time(ms)'])
        writer.writerow(['Custom', FWD, '2.5'])
        writer.writerow(['Custom', FWD.replace('op0', 'op1'), '1.5'])
        writer.writerow(['Custom', BWD, '3.0'])
        writer.writerow(['AddN', 'Gradients/Default/AddN-op1', '0.5'])
    assert layer_totals(str(path)) == {
        'forward SameConv2d': 4.0,
        'backward NormActDepthwise': 3.0,
        'MindSpore AddN': 0.5,
    }


def test_a_profiled_training_step_reports_its_kernels_by_layer(tmp_path):
    config = osp.join(ROOT, 'configs/shm/tnet_cpu_synthetic.py')
    cmd = [sys.executable, osp.join(ROOT, 'benchmarks/ms_profile.py'), 'train', '--config', config]
    cmd += ['--batch', '1', '--shape', '32', '32', '--steps', '1', '--out', str(tmp_path)]
    out = subprocess.run(cmd + ['--by-layer'], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'forward SameConv2d' in out.stdout and 'backward SameConv2d' in out.stdout
