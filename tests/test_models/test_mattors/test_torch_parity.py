"""PyTorch original (benchmark fixture) -> torch2shmatting -> same outputs (needs torch)."""

import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

torch = pytest.importorskip('torch')

from benchmarks.torch_shm import SHMNet  # noqa: E402
from shmatting.models import build_model  # noqa: E402
from tests.test_models.utils import zoo_config  # noqa: E402


def test_converted_torch_weights_give_the_same_forward(tmp_path, repo_root):
    torch.manual_seed(0)
    net = SHMNet()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    net.eval()
    assert len(net.state_dict()) == 429
    torch.save(net.state_dict(), tmp_path / 'sd.pth')
    dst = tmp_path / 'shm.ckpt'
    out = subprocess.run(
        [
            sys.executable,
            'tools/model_converters/torch2shmatting.py',
            str(tmp_path / 'sd.pth'),
            str(dst),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = build_model(
        zoo_config(
            fusion=dict(type='FusionHead', zoo_compat=True),
            init_cfg=dict(type='Pretrained', checkpoint=str(dst), strict=True),
        )
    )
    model.set_train(False)
    x = np.random.default_rng(0).uniform(-0.6, 0.6, (1, 3, 64, 48)).astype(np.float32)
    with torch.no_grad():
        t_tri, t_alpha = net(torch.from_numpy(x))
    m_tri, m_alpha = model(ms.Tensor(x))
    assert np.abs(m_tri.asnumpy() - t_tri.numpy()).max() < 1e-4
    assert np.abs(m_alpha.asnumpy() - t_alpha.numpy()).max() < 1e-4


def test_pickled_whole_model_is_refused(tmp_path, repo_root):
    torch.save(SHMNet(), tmp_path / 'model_obj.pth')
    out = subprocess.run(
        [
            sys.executable,
            'tools/model_converters/torch2shmatting.py',
            str(tmp_path / 'model_obj.pth'),
            str(tmp_path / 'x.ckpt'),
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode != 0 and 'pickled model object' in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
