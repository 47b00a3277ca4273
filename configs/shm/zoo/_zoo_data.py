# Data exactly as the MindSpore model zoo: its prepared layout (or ours with --zoo-compat), no
# shuffling, scale/crop-or-squash at 320, vertical and horizontal flips, train mean (114,121,134)
# but eval mean (104,112,121) (the ports' mismatch), 320 squash at test.
_base_ = '../../_base_/datasets/human_matting.py'
data_root = '{{$SHM_ZOO_DATA:data/human_matting_zoo}}'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAlphaFromFile'),
    dict(type='LoadTrimapFromFile'),
    dict(type='RandomScale', scale_range=(0.75, 1.25), prob=0.5),
    dict(type='ZooCropOrSquash', size=320, crop_prob=0.5),
    dict(type='RandomFlip', prob=0.5, vertical_prob=0.5),
    dict(type='Normalize', mean=[114.0, 121.0, 134.0], std=[255.0, 255.0, 255.0]),
    dict(type='TrimapToIndex'),
    dict(type='PackInputs', keys=('img', 'trimap', 'alpha')),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAlphaFromFile'),
    dict(type='LoadTrimapFromFile'),
    dict(type='Normalize', mean=[104.0, 112.0, 121.0], std=[255.0, 255.0, 255.0]),
    dict(type='TrimapToIndex'),
    dict(type='PackInputs', keys=('img', 'trimap', 'alpha')),
]
data = dict(
    samples_per_device=8,
    shuffle=False,
    train=dict(pipeline=train_pipeline, use_fg=False),
    val=dict(pipeline=test_pipeline),
    test=dict(pipeline=test_pipeline))
