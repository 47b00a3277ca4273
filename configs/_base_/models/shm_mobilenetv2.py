# SHM as in the MindSpore model zoo and the PyTorch original (3,115,603 trainable parameters):
# T-Net = MobileNetV2 (stride-1 stem, t=1 expansion kept, no 1280 conv) + additive UNet decoder,
# M-Net = the light encoder-decoder, fusion alpha = P_fg + P_unknown * alpha_r.
model = dict(
    type='SHM',
    tnet=dict(
        backbone=dict(type='MobileNetV2', widen_factor=1.0, out_indices=(0, 1, 2, 4, 6),
                      variant='zoo'),
        head=dict(type='TNetUNetHead', num_classes=3, upsample='pixel_shuffle')),
    mnet=dict(
        backbone=dict(type='MNetEncoder', channels=(16, 32, 64, 128)),
        head=dict(type='MNetDecoder', channels=(128, 64, 32, 16))),
    fusion=dict(type='FusionHead', zoo_compat=False),
    losses=dict(
        trimap=dict(type='TrimapCrossEntropyLoss', loss_weight=1.0),
        alpha=dict(type='AlphaPredictionLoss', loss_weight=0.5, eps=1e-6),
        comp=dict(type='CompositionLoss', loss_weight=0.5, eps=1e-6, mode='composite')),
    train_cfg=dict(phase='e2e', lambda_trimap=0.01),
    test_cfg=dict(resize='pad', clamp=True),
    init_cfg=dict(type='TorchDefault'))
