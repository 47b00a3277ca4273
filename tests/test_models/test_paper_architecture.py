"""The paper's SHM (PSPNet T-Net on ResNet, VGG16 M-Net): shapes, and ResNet-18 trains."""

import os

import mindspore as ms
import numpy as np
import pytest

from shmatting.config import Config
from shmatting.models import build_model
from shmatting.registry import BACKBONES, HEADS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def pynative():
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.mark.parametrize(
    'depth,channels',
    [(18, (64, 128, 256, 512)), (34, (64, 128, 256, 512)), (50, (256, 512, 1024, 2048))],
)
def test_resnet_channels_and_strides(depth, channels):
    net = BACKBONES.build(dict(type='ResNet', depth=depth))
    assert net.out_channels == channels and net.out_strides == (4, 8, 16, 32)
    dilated = BACKBONES.build(dict(type='ResNet', depth=depth, dilated=True))
    assert dilated.out_strides == (4, 8, 8, 8)


def test_resnet50_psp_vgg16_shapes():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/shm/paper_resnet50_psp_vgg16_e2e_8x8.py'))
    model_cfg = cfg.model.to_dict()
    model_cfg['init_cfg'] = []
    model = build_model(model_cfg)
    assert type(model.tnet.backbone).__name__ == 'ResNet' and model.tnet.backbone.out_strides == (
        8,
    )
    model.set_train(False)
    logits, alpha = model(ms.Tensor(np.random.rand(1, 3, 64, 64).astype(np.float32)))
    assert logits.shape == (1, 3, 64, 64) and alpha.shape == (1, 1, 64, 64)
    n = sum(int(np.prod(p.shape)) for p in model.trainable_params())
    assert n > 40_000_000  # PSPNet-50 + VGG16: tens of millions of parameters


def test_vgg_unpool_decoder_routes_values_to_the_max_positions():
    enc = BACKBONES.build(dict(type='VGG16Encoder', width_divisor=16))
    dec = HEADS.build(
        dict(type='VGGUnpoolDecoder', in_channels=enc.out_channels, in_strides=enc.out_strides)
    )
    feats = enc(ms.Tensor(np.random.rand(2, 6, 32, 32).astype(np.float32)))
    assert [f.shape[2] for f in feats] == [32, 16, 8, 4, 2]
    assert dec(feats).shape == (2, 1, 32, 32)
    unpool = dec.unpool
    skip = np.zeros((1, 1, 2, 2), np.float32)
    skip[0, 0, 1, 0] = 5.0
    out = unpool(ms.Tensor(np.ones((1, 1, 1, 1), np.float32) * 3), ms.Tensor(skip)).asnumpy()
    assert out[0, 0].tolist() == [[0, 0], [3, 0]]


def test_resnet18_paper_variant_trains_a_few_iterations(tiny_data, tmp_path):
    from shmatting.engine import Runner

    cfg = Config.fromfile(
        os.path.join(ROOT, 'configs/shm/paper_resnet18_psp_vgg16_e2e_cpu_synthetic.py')
    )
    cfg.merge_from_dict(
        {
            'data_root': tiny_data,
            'total_epochs': 1,
            'data.samples_per_device': 2,
            'data.workers': 0,
            'data.train.pipeline.5.crop_size': 64,
            'data.train.pipeline.4.scale_range': (0.9, 1.0),
            'context.mode': 'PYNATIVE',
            'default_hooks.logger.interval': 1,
            'default_hooks.eval': None,
        }
    )
    runner = Runner(cfg, work_dir=str(tmp_path / 'wd'))
    before = {p.name: p.asnumpy().copy() for p in runner.model.trainable_params()}
    runner.run()
    changed = sum(
        not np.array_equal(before[p.name], p.asnumpy()) for p in runner.model.trainable_params()
    )
    assert changed > len(before) // 2
    assert os.path.isfile(tmp_path / 'wd' / 'latest.ckpt')
