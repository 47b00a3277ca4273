# The paper's SHM (Chen et al. 2018, §4): T-Net = PSPNet-50 (dilated ResNet-50, output stride 8,
# pyramid pooling), M-Net = VGG16-style encoder (13 conv + 4 max-pool, BatchNorm after every conv)
# with a 6-conv + 4-unpool decoder; fusion alpha = P_fg + P_unknown * alpha_r.
_base_ = './shm_mobilenetv2.py'
model = dict(
    tnet=dict(
        backbone=dict(_delete_=True, type='ResNet', depth=50, out_indices=(3, ), dilated=True),
        head=dict(_delete_=True, type='PSPTrimapHead', num_classes=3, bins=(1, 2, 3, 6),
                  channels=512)),
    mnet=dict(
        backbone=dict(_delete_=True, type='VGG16Encoder', width_divisor=1),
        head=dict(_delete_=True, type='VGGUnpoolDecoder')))
