"""A backbone from a user package (ordinary strides 4/8/16/32) works with the stock heads."""

import textwrap

import mindspore as ms
import numpy as np

from shmatting.config import Config
from shmatting.models import build_model

PLUGIN = textwrap.dedent('''
    from mindspore import nn
    from shmatting.registry import BACKBONES


    @BACKBONES.register_module()
    class TinyStridedNet(nn.Cell):
        """stride-2 stem, then features at strides 4, 8, 16, 32."""

        def __init__(self, in_channels=3, width=8):
            super().__init__()
            self.stem = nn.Conv2d(in_channels, width, 3, stride=2, pad_mode='pad', padding=1)
            chans = [width * 2, width * 4, width * 4, width * 8]
            self.stages = nn.CellList()
            c = width
            for out in chans:
                self.stages.append(nn.SequentialCell([
                    nn.Conv2d(c, out, 3, stride=2, pad_mode='pad', padding=1), nn.ReLU()]))
                c = out
            self.out_channels = tuple(chans)
            self.out_strides = (4, 8, 16, 32)

        def construct(self, x):
            x = self.stem(x)
            outs = ()
            for stage in self.stages:
                x = stage(x)
                outs = outs + (x, )
            return outs
''')


def test_plugin_backbone_by_config_alone(tmp_path, monkeypatch, repo_root):
    pkg = tmp_path / 'shm_plugin_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'tiny.py').write_text(PLUGIN)
    (tmp_path / 'plugin_cfg.py').write_text(
        textwrap.dedent(f"""
        _base_ = '{repo_root}/configs/_base_/models/shm_mobilenetv2.py'
        custom_imports = dict(imports=['shm_plugin_pkg.tiny'], allow_failed_imports=False)
        model = dict(tnet=dict(backbone=dict(_delete_=True, type='TinyStridedNet', width=8)))
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / 'plugin_cfg.py'))
    model = build_model(cfg.model)
    assert model.size_divisor == 32
    assert hasattr(model.tnet.head, 's4_up_conv') and not hasattr(model.tnet.head, 's5_up_conv')
    model.set_train(False)
    from shmatting.evaluation import predict_image

    alpha, classes = predict_image(model, np.random.rand(3, 40, 56).astype(np.float32))
    assert classes.shape == (40, 56) and alpha.shape == (40, 56)
    model.set_train(True)
    img = ms.Tensor(np.random.rand(2, 3, 64, 64).astype(np.float32))
    tri = ms.Tensor(np.random.randint(0, 3, (2, 64, 64)).astype(np.int32))
    alpha_gt = ms.Tensor(np.random.rand(2, 1, 64, 64).astype(np.float32))
    fg = bg = ms.Tensor(np.random.rand(2, 3, 64, 64).astype(np.float32))
    total, _ = model.forward_train(img, tri, alpha_gt, fg, bg)
    assert np.isfinite(float(total))
