"""Hand-written CPU kernels run through MindSpore's ``Custom`` operator (see ``cpu_kernels``)."""

from .build import KernelBuildError, build_kernel_library
from .cpu_kernels import (
    KERNEL_KINDS,
    batch_norm_act_conv1x1_op,
    batch_norm_act_depthwise_op,
    batch_norm_act_ops,
    conv_same_bias_act_op,
    conv_same_op,
    cpu_kernel_mode,
    cpu_kernel_status,
    cpu_kernels_enabled,
    deconv_s2_op,
    depthwise3x3_bias_act_op,
    depthwise3x3_op,
    maxpool3x3s2_op,
    parse_kernel_kinds,
    set_cpu_kernels,
    upsample_bilinear2x_op,
)

__all__ = [
    'KERNEL_KINDS',
    'KernelBuildError',
    'batch_norm_act_conv1x1_op',
    'batch_norm_act_depthwise_op',
    'batch_norm_act_ops',
    'build_kernel_library',
    'cpu_kernel_mode',
    'cpu_kernel_status',
    'conv_same_bias_act_op',
    'conv_same_op',
    'cpu_kernels_enabled',
    'deconv_s2_op',
    'depthwise3x3_bias_act_op',
    'depthwise3x3_op',
    'maxpool3x3s2_op',
    'parse_kernel_kinds',
    'set_cpu_kernels',
    'upsample_bilinear2x_op',
]
