# Recompute the activations of the full- and half-resolution stages in the backward pass instead of
# keeping them: e2e at batch 8, 320x320 on CPU peaks under 6 GB (figures in docs/performance.md).
# BatchNorm moving statistics are updated once per step also in recomputed cells (BatchNormAct2d).
recompute = [
    'tnet.backbone.head_conv', 'tnet.backbone.block_1', 'tnet.backbone.block_2',
    'tnet.backbone.block_3', 'tnet.backbone.block_4', 'tnet.head.s4_up_conv',
    'tnet.head.s3_fusion', 'tnet.head.s3_up_conv', 'tnet.head.s2_fusion', 'tnet.head.s2_up_conv',
    'tnet.head.s1_fusion', 'mnet.backbone.en_conv_bn_relu_1', 'mnet.backbone.en_conv_bn_relu_2',
    'mnet.backbone.en_conv_bn_relu_3', 'mnet.head.de_conv_bn_relu_3', 'mnet.head.deconv_3',
    'mnet.head.de_conv_bn_relu_4', 'mnet.head.deconv_4'
]
