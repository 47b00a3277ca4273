# M-Net pre-training on ground-truth trimaps: Adam lr 1e-4, 200 epochs.
optimizer = dict(type='Adam', lr=1e-4, weight_decay=5e-4)
lr_config = dict(type='ConstantLR')
total_epochs = 200
