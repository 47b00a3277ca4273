# Recompute the full-resolution activations in the backward pass: e2e at batch 8, 320x320 on CPU
# went from 9.6 GB to 6.8 GB peak RSS for 1.24x the step time (benchmarks in docs/performance.md).
recompute = [
    'tnet.backbone.head_conv', 'tnet.backbone.block_1', 'tnet.backbone.block_2',
    'tnet.backbone.block_3', 'tnet.head.s3_up_conv', 'tnet.head.s2_fusion', 'tnet.head.s2_up_conv',
    'tnet.head.s1_fusion', 'mnet.backbone.en_conv_bn_relu_1', 'mnet.backbone.en_conv_bn_relu_2',
    'mnet.head.de_conv_bn_relu_4', 'mnet.head.deconv_4'
]
