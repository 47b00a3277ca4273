# End-to-end fine-tuning: Adam lr 1e-4, 200 epochs (the zoo's recipe).
optimizer = dict(type='Adam', lr=1e-4, weight_decay=5e-4)
lr_config = dict(type='ConstantLR')
total_epochs = 200
