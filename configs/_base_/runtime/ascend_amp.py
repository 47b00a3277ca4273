# Mixed precision on Ascend: float16 compute with BatchNorm and the losses in float32, float32
# master weights, dynamic loss scaling (engine/amp.py); the operators' own automatic precision
# (the model zoo's context.precision_mode) can be set beside it.
amp = dict(enabled=True, level='O2',
           loss_scale=dict(type='dynamic', init_scale=2**16, scale_factor=2, scale_window=2000))
context = dict(device_target='Ascend', precision_mode=None)
