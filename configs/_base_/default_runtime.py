# GRAPH mode, whichever device is present (Ascend / GPU / CPU), AMP off, a seed drawn on rank 0.
context = dict(mode='GRAPH', device_target='auto', device_id=None, jit_level=None,
               precision_mode=None, memory_pool=None, compile_cache=False,
               launch_blocking=None)  # None: blocking operator launches in PyNative on CPU
amp = dict(enabled=False)
seed = None
work_dir = None
load_from = None
resume_from = None
# The four named hooks; a leaf changes one setting (default_hooks=dict(checkpoint=dict(
# save_best='SAD'))) or switches a hook off (default_hooks=dict(eval=None)).
default_hooks = dict(
    nan_guard=dict(type='NaNGuardHook', interval=10),
    logger=dict(type='LoggerHook', interval=10),
    eval=dict(type='EvalHook', interval=1, metrics=None, convention='p3m'),  # None: the phase's
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
custom_hooks = []
