# The fixed recipe, last phase: end to end from the best T-Net (add mnet=... after an M-Net phase).
_base_ = ['../_base_/models/shm_mobilenetv2.py', '../_base_/datasets/human_matting.py',
          '../_base_/schedules/e2e.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='e2e'))
load_from = dict(tnet='work_dirs/tnet_8x8/best_mIoU.ckpt')
default_hooks = dict(checkpoint=dict(save_best='SAD'))
