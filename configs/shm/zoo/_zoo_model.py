# The zoo network with its numerics: fusion channel mix-up, alpha*I "composition" loss, 1e-6
# inside the square root (eps=1e-3), raw alpha at test (no clamp), 320 squash protocol.
_base_ = '../../_base_/models/shm_mobilenetv2.py'
model = dict(
    fusion=dict(zoo_compat=True),
    losses=dict(alpha=dict(eps=1e-3), comp=dict(eps=1e-3, mode='zoo')),
    test_cfg=dict(resize='squash', size=320, clamp=False))
