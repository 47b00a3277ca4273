# The paper's architecture (PSPNet-50 T-Net, VGG16 M-Net), end to end on AISegment.
_base_ = ['../_base_/models/shm_resnet50_psp_vgg16.py', '../_base_/datasets/human_matting.py',
          '../_base_/schedules/e2e.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='e2e'))
load_from = dict(tnet='work_dirs/paper_resnet50_psp_vgg16_tnet_8x8/best_mIoU.ckpt')
default_hooks = dict(checkpoint=dict(save_best='SAD'))
