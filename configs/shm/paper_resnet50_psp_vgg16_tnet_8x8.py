# The paper's architecture, T-Net (PSPNet-50) pre-training.
_base_ = ['../_base_/models/shm_resnet50_psp_vgg16.py', '../_base_/datasets/human_matting.py',
          '../_base_/schedules/tnet_pretrain.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='tnet'))
default_hooks = dict(eval=dict(interval=10), checkpoint=dict(interval=10, save_best='mIoU'))
