# The fixed recipe, phase 1: T-Net on 8 devices x 8 images, kept by the best trimap mIoU.
_base_ = ['../_base_/models/shm_mobilenetv2.py', '../_base_/datasets/human_matting.py',
          '../_base_/schedules/tnet_pretrain.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='tnet'))
default_hooks = dict(eval=dict(interval=10), checkpoint=dict(interval=10, save_best='mIoU'))
