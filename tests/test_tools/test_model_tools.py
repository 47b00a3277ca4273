"""The converter tools and get_flops end to end on files."""

import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest

from tests.test_models.utils import randomize_bn_stats, zoo_config, zoo_param_shapes


def run(repo_root, *args):
    return subprocess.run(
        [sys.executable, *args], cwd=repo_root, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def zoo_ckpt(tmp_path, repo_root):
    """A checkpoint with the model zoo's names, values and optimizer entries."""
    shapes = zoo_param_shapes(f'{repo_root}/tests/data/zoo_param_names.txt')
    rng = np.random.default_rng(0)
    items = [
        {'name': k, 'data': ms.Tensor(rng.normal(size=s).astype(np.float32))}
        for k, s in shapes.items()
    ]
    items += [{'name': 'moment1.' + it['name'], 'data': it['data']} for it in items[:5]]
    items.append({'name': 'global_step', 'data': ms.Tensor(np.array([3], np.int32))})
    path = str(tmp_path / 'zoo.ckpt')
    ms.save_checkpoint(items, path)
    return path, {it['name']: it['data'].asnumpy() for it in items}


def test_zoo2shmatting_tool(zoo_ckpt, tmp_path, repo_root):
    src, values = zoo_ckpt
    dst = str(tmp_path / 'out.ckpt')
    out = run(repo_root, 'tools/model_converters/zoo2shmatting.py', src, dst)
    assert out.returncode == 0, out.stderr
    assert 'converted 355 tensors' in out.stdout and 'optimizer' in out.stdout
    loaded = ms.load_checkpoint(dst)
    assert len(loaded) == 355
    assert np.array_equal(
        loaded['mnet.head.deconv_1.weight'].asnumpy(), values['m_net.deconv_1.weight']
    )
    # and it loads into the model with nothing left over
    from shmatting.models import build_model

    model = build_model(zoo_config(init_cfg=dict(type='Pretrained', checkpoint=dst)))
    assert np.array_equal(
        model.tnet.head.last_conv.weight.asnumpy(), values['t_net.last_conv.weight']
    )


def test_zoo2shmatting_refuses_bad_inputs(tmp_path, repo_root):
    bad = tmp_path / 'model_obj.pth'
    bad.write_bytes(b'\x80\x02junk')
    out = run(
        repo_root, 'tools/model_converters/zoo2shmatting.py', str(bad), str(tmp_path / 'o.ckpt')
    )
    assert out.returncode != 0 and 'torch2shmatting' in out.stderr
    junk = tmp_path / 'junk.ckpt'
    junk.write_bytes(b'not a checkpoint')
    out = run(
        repo_root, 'tools/model_converters/zoo2shmatting.py', str(junk), str(tmp_path / 'o.ckpt')
    )
    assert out.returncode != 0 and 'not a readable MindSpore checkpoint' in out.stderr
    assert not (tmp_path / 'o.ckpt').exists()


def test_torch2shmatting_from_npz_and_pth_without_torch(tmp_path, repo_root):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    from shmatting.models import build_model

    model = build_model(zoo_config())
    randomize_bn_stats(model)
    from shmatting.models.converters import shm_to_torch_name

    state = {shm_to_torch_name(p.name): p.asnumpy() for p in model.get_parameters()}
    np.savez(tmp_path / 'sd.npz', **state)
    dst = str(tmp_path / 'torch.ckpt')
    out = run(repo_root, 'tools/model_converters/torch2shmatting.py', str(tmp_path / 'sd.npz'), dst)
    assert out.returncode == 0, out.stderr
    loaded = ms.load_checkpoint(dst)
    for p in model.get_parameters():
        assert np.array_equal(loaded[p.name].asnumpy(), p.asnumpy())
    try:
        import torch  # noqa: F401
    except ImportError:
        (tmp_path / 'sd.pth').write_bytes(b'x')
        out = run(
            repo_root,
            'tools/model_converters/torch2shmatting.py',
            str(tmp_path / 'sd.pth'),
            str(tmp_path / 'x.ckpt'),
        )
        assert out.returncode != 0 and 'needs PyTorch' in out.stderr


def test_get_flops(repo_root):
    out = run(
        repo_root,
        'tools/analysis/get_flops.py',
        'configs/_base_/models/shm_mobilenetv2.py',
        '--shape',
        '320',
        '320',
    )
    assert out.returncode == 0, out.stderr
    assert '3,115,603' in out.stdout and '5.69 GMAC' in out.stdout
