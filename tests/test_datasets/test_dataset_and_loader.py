import os
import shutil

import numpy as np
import pytest

from shmatting.config import Config
from shmatting.datasets import (
    EvalSampler,
    HumanMattingDataset,
    MattingDataset,
    TrainSampler,
    build_dataloader,
    build_dataset,
)


@pytest.fixture
def synth_cfg(repo_root, prepared):
    cfg = Config.fromfile(os.path.join(repo_root, 'configs/_base_/datasets/synthetic_portraits.py'))
    cfg.merge_from_dict(
        {
            'data_root': prepared,
            'data.train.pipeline.5.crop_size': 32,
            'data.train.pipeline.4.scale_range': (0.5, 0.6),
        }
    )
    return cfg


def zoo_line(rel):
    """A prepared ``<date>/clip_<n>/<stem>`` as the zoo lists it, relative to matting/."""
    date, clip, stem = rel.split('/')
    return f'{date}/{clip.replace("clip", "matting")}/{stem}'


def test_prepared_layout_and_data_root_from_top_level(synth_cfg, prepared):
    ds = build_dataset(synth_cfg.data.train, data_root=synth_cfg.data_root, seed=3)
    assert isinstance(ds, HumanMattingDataset) and ds.layout == 'prepared' and len(ds) == 12
    assert ds.bg_dir.endswith('backgrounds')
    out = ds.get_sample(0, epoch=1)['inputs']
    assert out['img'].shape == (3, 32, 32) and out['trimap'].shape == (1, 32, 32)
    assert set(np.unique(out['trimap'])) <= {0, 1, 2}
    again = ds.get_sample(0, epoch=1)['inputs']
    other = ds.get_sample(0, epoch=2)['inputs']
    assert all(np.array_equal(out[k], again[k]) for k in out)
    assert not np.array_equal(out['img'], other['img'])
    val = build_dataset(synth_cfg.data.val, data_root=prepared)
    assert len(val) == 4 and val.get_sample(0)['inputs']['img'].shape == (3, 80, 64)
    # 'eval' is an alias of 'val'
    assert len(HumanMattingDataset(prepared, split='eval')) == 4


def test_zoo_layout(tmp_path, prepared):
    root = tmp_path / 'zoo'
    with open(os.path.join(prepared, 'val.txt')) as f:
        rels = [line.strip() for line in f]
    for rel in rels:
        date, group, stem = rel.split('/')
        mrel = f'{date}/{group.replace("clip", "matting")}/{stem}.png'
        for sub, src_sub, ext in (
            ('clip_img', 'image', '.jpg'),
            ('alpha', 'alpha', '.png'),
            ('trimap', 'trimap', '.png'),
        ):
            dst_rel = (
                mrel.replace('matting', 'clip').replace('.png', '.jpg')
                if sub == 'clip_img'
                else mrel
            )
            dst = root / 'eval' / sub / dst_rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(os.path.join(prepared, 'val', src_sub, rel + ext), dst)
    (root / 'eval' / 'eval.txt').write_text(''.join(f'{zoo_line(r)}.png\n' for r in rels))
    ds = HumanMattingDataset(
        str(root),
        split='val',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAlphaFromFile'),
            dict(type='LoadTrimapFromFile'),
        ],
    )
    assert ds.layout == 'zoo' and ds.split_dir == 'eval' and len(ds) == 4
    s = ds.get_sample(0)
    assert s['img'].shape == (80, 64, 3) and s['trimap'].shape == (80, 64)


def test_missing_split_and_list_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no 'train' split"):
        HumanMattingDataset(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='list file not found'):
        MattingDataset('nope.txt', str(tmp_path))


def test_matting_dataset_with_explicit_paths(tmp_path, prepared):
    with open(os.path.join(prepared, 'test.txt')) as f:
        rel = f.readline().strip()
    (tmp_path / 'list.txt').write_text(f'test/image/{rel}.jpg test/alpha/{rel}.png\n')
    ds = MattingDataset(
        str(tmp_path / 'list.txt'),
        prepared,
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAlphaFromFile')],
    )
    assert ds.get_sample(0)['alpha'].shape == (80, 64)


def test_same_batches_from_one_and_two_workers(synth_cfg):
    ds = build_dataset(synth_cfg.data.train, data_root=synth_cfg.data_root, seed=5)
    out = {}
    for workers in (0, 1, 2):
        loader = build_dataloader(ds, 4, workers=workers, seed=5)
        loader.set_epoch(2)
        out[workers] = list(loader)
    assert len(out[0]) == 3
    for workers in (1, 2):
        for a, b in zip(out[0], out[workers]):
            for key in a:
                assert np.array_equal(a[key], b[key]), key


def test_resumed_epoch_replays_the_same_data(synth_cfg):
    ds = build_dataset(synth_cfg.data.train, data_root=synth_cfg.data_root, seed=5)
    loader = build_dataloader(ds, 4, workers=0, seed=5)
    straight = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        straight.append([b['index'].tolist() for b in loader])
    resumed = build_dataloader(ds, 4, workers=0, seed=5)
    resumed.set_epoch(2)
    assert [b['index'].tolist() for b in resumed] == straight[2]
    assert straight[0] != straight[1]


def test_corrupt_sample_is_skipped_and_counted(synth_cfg, tmp_path, prepared):
    root = tmp_path / 'prep'
    shutil.copytree(prepared, root)
    with open(root / 'train.txt') as f:
        rel = f.readline().strip()
    (root / 'train' / 'image' / (rel + '.jpg')).write_bytes(b'corrupt')
    ds = build_dataset(synth_cfg.data.train, data_root=str(root), seed=5)
    loader = build_dataloader(ds, 4, workers=0, seed=5, shuffle=False)
    batches = list(loader)
    assert len(batches) == 3 and loader.num_skipped == 1
    assert 0 not in np.concatenate([b['index'] for b in batches])


@pytest.mark.parametrize('n,world,batch', [(10, 3, 2), (7, 2, 1), (12, 4, 3), (5, 2, 2)])
def test_train_sampler_equal_batches(n, world, batch):
    samplers = [TrainSampler(n, batch, seed=1, rank=r, world_size=world) for r in range(world)]
    lengths = {len(s.indices(3)) for s in samplers}
    assert len(lengths) == 1 and lengths.pop() == len(samplers[0]) * batch
    idx = np.concatenate([s.indices(3) for s in samplers])
    assert len(set(idx.tolist())) == len(idx)  # disjoint across ranks
    padded = [
        TrainSampler(n, batch, seed=1, rank=r, world_size=world, drop_last=False)
        for r in range(world)
    ]
    assert len({len(s) for s in padded}) == 1
    assert set(np.concatenate([s.indices(0) for s in padded]).tolist()) == set(range(n))


@pytest.mark.parametrize('n,world', [(10, 3), (7, 2), (3, 4)])
def test_eval_sampler_covers_each_sample_once(n, world):
    idx = np.concatenate([EvalSampler(n, r, world).indices() for r in range(world)])
    assert sorted(idx.tolist()) == list(range(n))


def test_too_few_samples_is_a_clear_error():
    with pytest.raises(ValueError, match='no full batch'):
        TrainSampler(3, 4, world_size=1)
