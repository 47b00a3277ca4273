# Mixed precision with dynamic loss scaling (opt-in, for Ascend; on CPU fp16 only adds casts).
amp = dict(enabled=True, level='O2', init_scale=2**16, scale_factor=2, scale_window=2000)
context = dict(device_target='Ascend', precision_mode=None)
