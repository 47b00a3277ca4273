# Model-zoo reproduction, phase 2: end to end from the T-Net phase's latest checkpoint, 200 epochs,
# best by SAD on the eval split (squash 320, unclamped, eval mean).
_base_ = ['./_zoo_model.py', './_zoo_data.py', '../../_base_/schedules/e2e.py',
          '../../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='e2e'))
load_from = dict(tnet='work_dirs/zoo_tnet_8x8/latest.ckpt')
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10, save_best='SAD'))
seed = 9527  # the model zoo's config.yaml
