# CPU recipe on synthetic portraits (quick start): T-Net, 160x160 crops, batch 8.
_base_ = ['../_base_/models/shm_mobilenetv2.py', '../_base_/datasets/synthetic_portraits.py',
          '../_base_/schedules/tnet_pretrain.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='tnet'))
context = dict(device_target='CPU')
data = dict(samples_per_device=8, workers=1)
total_epochs = 20
seed = 0
default_hooks = dict(logger=dict(interval=5), eval=dict(interval=5),
                     checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='mIoU'))
