# CPU recipe on synthetic portraits (quick start): end to end from the T-Net phase's best.
_base_ = ['../_base_/models/shm_mobilenetv2.py', '../_base_/datasets/synthetic_portraits.py',
          '../_base_/schedules/e2e.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='e2e'))
context = dict(device_target='CPU')
data = dict(samples_per_device=8, workers=1)
optimizer = dict(lr=5e-4)
total_epochs = 20
seed = 0
load_from = dict(tnet='work_dirs/tnet_cpu_synthetic/best_mIoU.ckpt')
default_hooks = dict(logger=dict(interval=5), eval=dict(interval=5),
                     checkpoint=dict(interval=5, max_keep_ckpts=2, save_best='SAD'))
