# SHM whose T-Net encoder comes from the plugin package above, by config alone. Run from the
# repository root:  python tools/train.py examples/custom_backbone/shm_tinyresnet_e2e_cpu.py
# (custom_imports finds `examples.custom_backbone.shm_custom_backbone` from the working directory).
_base_ = ['../../configs/shm/e2e_cpu_synthetic.py']
custom_imports = dict(
    imports=['examples.custom_backbone.shm_custom_backbone'], allow_failed_imports=False
)
model = dict(tnet=dict(backbone=dict(_delete_=True, type='TinyResNet', widths=(16, 24, 32, 64))))
load_from = None
