# AISegment "Matting Human Datasets" prepared by tools/dataset_converters/human_matting.py.
# data_root is read when datasets are built: --cfg-options data_root=... moves every split.
dataset_type = 'HumanMattingDataset'
data_root = '{{$SHM_DATA:data/human_matting}}'
crop_size = 320
# BGR, 0-255; one constant for training, testing, the export sidecar and deploy preprocessing
img_norm_cfg = dict(mean=[114.0, 121.0, 134.0], std=[255.0, 255.0, 255.0])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAlphaFromFile'),
    dict(type='LoadTrimapFromFile'),
    dict(type='LoadFgFromFile'),
    dict(type='RandomScale', scale_range=(0.75, 1.25), prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size, unknown_prob=0.5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='CompositeBackground', prob=0.5),  # after the crop: cheap
    dict(type='Normalize', **img_norm_cfg),
    dict(type='TrimapToIndex'),
    dict(type='PackInputs', keys=('img', 'trimap', 'alpha', 'fg', 'bg')),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAlphaFromFile'),
    dict(type='LoadTrimapFromFile'),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='TrimapToIndex'),
    dict(type='PackInputs', keys=('img', 'trimap', 'alpha')),
]
data = dict(
    samples_per_device=8,
    workers=2,
    train=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    val=dict(type=dataset_type, split='val', pipeline=test_pipeline),
    test=dict(type=dataset_type, split='test', pipeline=test_pipeline))
