# Model-zoo reproduction, phase 1: T-Net, 1000 epochs, no evaluation; hands over latest.ckpt.
_base_ = ['./_zoo_model.py', './_zoo_data.py', '../../_base_/schedules/tnet_pretrain.py',
          '../../_base_/default_runtime.py']
model = dict(train_cfg=dict(phase='tnet'))
default_hooks = dict(eval=None, checkpoint=dict(interval=1, max_keep_ckpts=10, save_best=None))
seed = 9527  # the model zoo's config.yaml
