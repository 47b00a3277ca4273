# GRAPH mode, whichever device is present (Ascend / GPU / CPU), AMP off, a seed drawn on rank 0.
context = dict(mode='GRAPH', device_target='auto', device_id=None, jit_level=None,
               precision_mode=None)
amp = dict(enabled=False)
seed = None
work_dir = None
load_from = None
resume_from = None
log_config = dict(interval=10)
checkpoint_config = dict(interval=1, max_keep_ckpts=3, save_best='auto')
evaluation = dict(interval=1, metrics=None)  # None: mIoU in the T-Net phase, SAD/MSE/MAD otherwise
custom_hooks = []
