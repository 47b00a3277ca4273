# T-Net pre-training: Adam lr 1e-3 (constant), weight decay 5e-4, 1000 epochs (the zoo's recipe).
optimizer = dict(type='Adam', lr=1e-3, weight_decay=5e-4)
lr_config = dict(type='ConstantLR')
total_epochs = 1000
