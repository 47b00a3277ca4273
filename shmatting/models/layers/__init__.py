"""Building blocks shared by backbones and heads, and what plugin authors build theirs from.

Blocks made of these layers run on the project's CPU kernels where they exist (see
:class:`CpuKernelMixin` and docs/performance.md) and on MindSpore's operators elsewhere.
"""

from .activation import FUSED_ACTIVATIONS, build_activation
from .conv import batch_norm, conv_bn_act, make_divisible
from .cpu_kernel import CpuKernelMixin
from .deconv import ConvTranspose2dK5S2
from .depthwise import DepthwiseConv3x3
from .fused_block import FusedInvertedResidual
from .fused_conv import FusedConvAct, fold_batch_norm, fuse_conv_bn
from .norm_act import BatchNormAct2d
from .operator_forms import set_operator_forms
from .pooling import MaxPool3x3S2
from .same_conv import SameConv2d, same_conv2d
from .softmax import ChannelSoftmax, SoftmaxNLL
from .upsample import BilinearUpsample2x, InterpolateUpsample2x, build_upsample, upsample_chain

__all__ = [
    'build_activation',
    'FUSED_ACTIVATIONS',
    'conv_bn_act',
    'batch_norm',
    'make_divisible',
    'same_conv2d',
    'SameConv2d',
    'set_operator_forms',
    'CpuKernelMixin',
    'ConvTranspose2dK5S2',
    'DepthwiseConv3x3',
    'FusedConvAct',
    'FusedInvertedResidual',
    'fold_batch_norm',
    'fuse_conv_bn',
    'BatchNormAct2d',
    'MaxPool3x3S2',
    'ChannelSoftmax',
    'SoftmaxNLL',
    'BilinearUpsample2x',
    'InterpolateUpsample2x',
    'build_upsample',
    'upsample_chain',
]
