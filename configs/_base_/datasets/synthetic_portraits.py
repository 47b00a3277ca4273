# Synthetic portraits (tools/dataset_converters/make_synthetic.py, then human_matting.py): small
# crops for CPU runs; backgrounds are found in <data_root>/backgrounds.
_base_ = './human_matting.py'
data_root = '{{$SHM_SYNTH_DATA:data/synthetic_prepared}}'
crop_size = 160
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAlphaFromFile'),
    dict(type='LoadTrimapFromFile'),
    dict(type='LoadFgFromFile'),
    dict(type='RandomScale', scale_range=(0.2, 0.35), prob=1.0),
    dict(type='RandomCrop', crop_size=crop_size, unknown_prob=0.5),
    dict(type='RandomFlip', prob=0.5),
    dict(type='CompositeBackground', prob=0.5),  # after the crop: cheap
    dict(type='Normalize', **{{_base_.img_norm_cfg}}),
    dict(type='TrimapToIndex'),
    dict(type='PackInputs', keys=('img', 'trimap', 'alpha', 'fg', 'bg')),
]
data = dict(samples_per_device=8, train=dict(pipeline=train_pipeline))
