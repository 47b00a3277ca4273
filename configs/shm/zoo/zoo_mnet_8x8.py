# Model-zoo reproduction, optional phase: M-Net on the ground-truth trimap, 200 epochs, best by SAD.
_base_ = ['./_zoo_model.py', './_zoo_data.py', '../../_base_/schedules/mnet_pretrain.py',
          '../../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='mnet'))
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10, save_best='SAD'))
seed = 9527  # the model zoo's config.yaml
