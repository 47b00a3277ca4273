# The paper's architecture at CPU scale: a dilated ResNet-18 PSP T-Net and a narrow VGG16 M-Net.
_base_ = ['./e2e_cpu_synthetic.py']
model = dict(
    tnet=dict(
        backbone=dict(_delete_=True, type='ResNet', depth=18, out_indices=(3, ), dilated=True),
        head=dict(_delete_=True, type='PSPTrimapHead', num_classes=3, channels=64)),
    mnet=dict(
        backbone=dict(_delete_=True, type='VGG16Encoder', width_divisor=8),
        head=dict(_delete_=True, type='VGGUnpoolDecoder')))
load_from = None
