"""The TensorBoard logger writes event files that read back: losses, lr, metrics and images."""

import os
import struct

import pytest

from shmatting.config import Config
from shmatting.engine import Runner
from tests.helpers import tiny_config

tensorboardX = pytest.importorskip('tensorboardX', reason='tensorboardX is an optional extra')


def read_events(folder):
    """Every event of the TFRecord files in ``folder`` (length, crc, data, crc per record)."""
    from tensorboardX.proto import event_pb2

    events = []
    for name in sorted(os.listdir(folder)):
        data = open(os.path.join(folder, name), 'rb').read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack('<Q', data[pos : pos + 8])
            events.append(event_pb2.Event.FromString(data[pos + 12 : pos + 12 + length]))
            pos += 12 + length + 4
    return events


def test_tensorboard_event_file_holds_losses_lr_metrics_and_images(tiny_data, tmp_path):
    extra = "custom_hooks = [dict(type='TensorboardLoggerHook', interval=2, num_images=2)]\n"
    cfg = Config.fromfile(
        tiny_config(tmp_path / 't.py', tiny_data, phase='e2e', epochs=1, extra=extra)
    )
    Runner(cfg, work_dir=str(tmp_path / 'wd')).run()
    events = read_events(tmp_path / 'wd' / 'tf_logs')
    scalars, images = {}, {}
    for event in events:
        for value in event.summary.value:
            if value.HasField('image'):
                images[value.tag] = value.image
            else:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    assert {
        'train/loss',
        'train/loss_alpha',
        'train/loss_comp',
        'train/loss_trimap',
        'train/lr',
        'val/SAD',
        'val/MSE',
        'val/MAD',
    } <= set(scalars)
    assert [step for step, _ in scalars['train/loss']] == [2, 4, 6, 7]
    assert scalars['train/lr'][0][1] == pytest.approx(1e-3)
    assert sorted(images) == ['val/sample_0', 'val/sample_1']
    assert images['val/sample_0'].width == 4 * images['val/sample_0'].height * 64 // 80
