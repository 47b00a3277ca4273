import os

import mindspore as ms
import numpy as np
import pytest

from shmatting.engine.checkpoint import (
    find_latest_full_state,
    load_weights,
    read_meta,
    save_checkpoint_atomic,
    save_with_meta,
)
from shmatting.engine.hooks import is_better
from shmatting.models import build_model
from tests.test_models.utils import zoo_config


@pytest.mark.parametrize(
    'score,best,rule,expected',
    [
        (1.0, None, 'less', True),
        (0.0, None, 'less', True),
        (0.0, 0.5, 'less', True),
        (0.5, 0.0, 'less', False),
        (0.5, 0.5, 'less', True),
        (0.4, 0.5, 'greater', False),
        (0.6, 0.5, 'greater', True),
        (0.0, 0.0, 'greater', True),
        (float('nan'), None, 'less', False),
    ],
)
def test_is_better(score, best, rule, expected):
    assert is_better(score, best, rule) is expected


def test_bad_rule():
    with pytest.raises(ValueError):
        is_better(1.0, 0.0, 'lower')


def test_crash_mid_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / 'latest.ckpt')
    save_checkpoint_atomic({'w': np.ones(4, np.float32)}, path)
    real = ms.save_checkpoint

    def crashing(obj, name, **kwargs):
        with open(name, 'wb') as f:
            f.write(b'half a checkpoint')
        raise KeyboardInterrupt('killed mid-write')

    monkeypatch.setattr(ms, 'save_checkpoint', crashing)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint_atomic({'w': np.zeros(4, np.float32)}, path)
    monkeypatch.setattr(ms, 'save_checkpoint', real)
    assert np.array_equal(ms.load_checkpoint(path)['w'].asnumpy(), np.ones(4))
    assert os.listdir(tmp_path) == ['latest.ckpt']  # no temp file left behind


def test_latest_full_state_is_found_by_meta_not_name(tmp_path):
    net = ms.nn.Dense(2, 2)
    save_with_meta(net, str(tmp_path / 'epoch_9.ckpt'), dict(kind='full', epoch=2, iter=20))
    save_with_meta(net, str(tmp_path / 'epoch_3.ckpt'), dict(kind='full', epoch=3, iter=30))
    save_with_meta(net, str(tmp_path / 'best_SAD.ckpt'), dict(kind='weights', epoch=5, iter=50))
    (tmp_path / 'junk.ckpt').write_bytes(b'x')
    path, unreadable = find_latest_full_state(str(tmp_path))
    assert path.endswith('epoch_3.ckpt') and unreadable == [str(tmp_path / 'junk.ckpt')]
    assert read_meta(str(tmp_path / 'epoch_9.ckpt'))['iter'] == 20
    assert find_latest_full_state(str(tmp_path / 'none')) == (None, [])


def test_load_from_prefix_dict_reports(tmp_path):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(1)
    a = build_model(zoo_config())
    ms.set_seed(2)
    b = build_model(zoo_config())
    save_checkpoint_atomic(a, str(tmp_path / 'a.ckpt'))
    save_checkpoint_atomic(b, str(tmp_path / 'b.ckpt'))
    ms.set_seed(3)
    model = build_model(zoo_config())
    report = load_weights(model, dict(tnet=str(tmp_path / 'a.ckpt'), mnet=str(tmp_path / 'b.ckpt')))
    assert not report['missing'] and not report['unexpected'] and len(report['loaded']) == 355
    got = {p.name: p.asnumpy() for p in model.get_parameters()}
    assert np.array_equal(got['tnet.head.last_conv.weight'], a.tnet.head.last_conv.weight.asnumpy())
    assert np.array_equal(got['mnet.head.conv.weight'], b.mnet.head.conv.weight.asnumpy())
    partial = build_model(zoo_config())
    report = load_weights(partial, dict(tnet=str(tmp_path / 'a.ckpt')))
    assert len(report['loaded']) == len([n for n in got if n.startswith('tnet.')])
    small = ms.nn.Dense(2, 2)
    save_checkpoint_atomic(small, str(tmp_path / 'small.ckpt'))
    report = load_weights(build_model(zoo_config()), str(tmp_path / 'small.ckpt'))
    assert report['unexpected'] == ['bias', 'weight'] and len(report['missing']) == 355
    with pytest.raises(KeyError, match='strict'):
        load_weights(build_model(zoo_config()), str(tmp_path / 'small.ckpt'), strict=True)
    with pytest.raises(FileNotFoundError, match='for prefix'):
        load_weights(model, dict(tnet=str(tmp_path / 'none.ckpt')))


def test_max_keep_ckpts_minus_one_keeps_all_and_other_negatives_are_refused():
    from shmatting.engine.hooks import CheckpointHook

    assert CheckpointHook(max_keep_ckpts=-1).max_keep_ckpts == -1
    for bad in (0, -2):
        with pytest.raises(ValueError, match='max_keep_ckpts'):
            CheckpointHook(max_keep_ckpts=bad)
