# The fixed recipe, optional phase 2: M-Net on the ground-truth trimap (one-hot, no softmax).
_base_ = ['../_base_/models/shm_mobilenetv2.py', '../_base_/datasets/human_matting.py',
          '../_base_/schedules/mnet_pretrain.py', '../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='mnet'))
default_hooks = dict(checkpoint=dict(save_best='SAD'))
