"""Inference: a convolution with the BatchNorm after it folded in, and its activation fused.

In eval mode a BatchNorm is an affine map per channel, ``y = s * (x - mean) + beta`` with
``s = gamma / sqrt(var + eps)``, so ``BN(conv(x, W) + b)`` equals ``conv(x, W * s) + (b - mean) * s
+ beta``: one convolution with a bias instead of a convolution and a full pass over its output.
On the CPU the bias and a ReLU/ReLU6 are applied inside the convolution kernel (oneDNN post-ops
for dense convolutions, the depthwise kernel's epilogue); elsewhere, and in exports, it is
MindSpore's ``Conv2D`` + ``BiasAdd`` + the activation (on the CPU target, a dense stride-1 layer
with at most a fifth as many outputs as inputs runs as a transposed convolution there, and a 1x1
layer with at least four outputs per input takes its bias as an input channel of ones: see
:mod:`.transposed_form`, :mod:`.bias_channel`).
"""

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from ...ops import conv_same_bias_act_op, depthwise3x3_bias_act_op
from .activation import FUSED_ACTIVATIONS, build_activation
from .bias_channel import attach_bias_channel_form
from .cpu_kernel import CpuKernelMixin
from .depthwise import DepthwiseConv3x3
from .transposed_form import attach_transposed_form, flipped_transposed_weight

__all__ = ['FusedConvAct', 'fold_batch_norm', 'fuse_conv_bn', 'conv_geometry']


def conv_geometry(conv: nn.Conv2d) -> dict:
    """Kernel size, stride, 'same' padding and groups of ``conv`` in one form.

    Returns:
        dict: ``k``, ``stride``, ``same`` (output = input / stride with padding ``k // 2``),
        ``group``, ``depthwise`` (one channel per group, in = out).
    """
    k, kw = conv.kernel_size
    stride, sw = conv.stride
    dilation = tuple(conv.dilation) if isinstance(conv.dilation, tuple) else (conv.dilation,) * 2
    padding = conv.padding if isinstance(conv.padding, tuple) else (conv.padding,) * 4
    same = (
        k == kw
        and stride == sw
        and k % 2 == 1
        and dilation == (1, 1)
        and (
            (conv.pad_mode == 'pad' and set(padding) == {k // 2})
            or (conv.pad_mode == 'same' and stride == 1)
            or (conv.pad_mode == 'valid' and k == 1)
        )
    )
    depthwise = conv.group == conv.in_channels == conv.out_channels and conv.group > 1
    return dict(k=k, stride=stride, same=same, group=conv.group, depthwise=depthwise)


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple:
    """The weight and bias of ``conv`` followed by ``bn`` in eval mode, as one convolution.

    Args:
        conv (nn.Conv2d): the convolution (any groups, with or without bias).
        bn (nn.BatchNorm2d): the BatchNorm after it (its moving statistics).

    Returns:
        tuple[np.ndarray, np.ndarray]: float32 weight (same shape as ``conv.weight``) and bias
        (out_channels,), computed in float64.
    """
    gamma, beta = bn.gamma.asnumpy().astype(np.float64), bn.beta.asnumpy().astype(np.float64)
    mean = bn.moving_mean.asnumpy().astype(np.float64)
    var = bn.moving_variance.asnumpy().astype(np.float64)
    scale = gamma / np.sqrt(var + bn.eps)
    weight = conv.weight.asnumpy().astype(np.float64) * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.asnumpy().astype(np.float64) if conv.has_bias else np.zeros_like(mean)
    bias = (bias - mean) * scale + beta
    return weight.astype(np.float32), bias.astype(np.float32)


class FusedConvAct(CpuKernelMixin, nn.Cell):
    """``conv`` then ``bn`` (and the BatchNorm's activation) as one layer, for inference only.

    Args:
        conv (nn.Conv2d): the convolution (``SameConv2d``, ``DepthwiseConv3x3`` or any
            ``nn.Conv2d``).
        bn (nn.BatchNorm2d): the BatchNorm after it (``BatchNormAct2d`` brings its activation).

    The parameters are ``weight`` and ``bias`` (not trainable). Dense stride-1 'same'
    convolutions run on oneDNN with the bias and a ReLU/ReLU6 fused, depthwise 3x3 ones on the
    depthwise kernel with the same epilogue; other activations run after the kernel.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d):
        super().__init__()
        weight, bias = fold_batch_norm(conv, bn)
        self.weight = Parameter(Tensor(weight), name='weight', requires_grad=False)
        self.bias = Parameter(Tensor(bias), name='bias', requires_grad=False)
        self.geometry = conv_geometry(conv)
        self.out_channels = conv.out_channels
        self.conv2d = conv.conv2d  # MindSpore's primitive with the layer's own settings
        self.bias_add = ops.BiasAdd()
        act = getattr(bn, 'act_name', None)
        self.act_name = act if act in FUSED_ACTIVATIONS else None
        other = getattr(bn, 'activation', None) if act not in FUSED_ACTIVATIONS else None
        self.activation = build_activation(act) if self.act_name else None
        self.extra_activation = other
        self.cpu_kernel_kind = 'depthwise' if isinstance(conv, DepthwiseConv3x3) else 'conv'
        g = self.geometry
        dense_same = g['same'] and g['stride'] == 1 and g['group'] == 1
        if attach_transposed_form(self, conv.in_channels, conv.out_channels, g['k'], dense_same):
            # made once: flipping a 96x320x3x3 weight in the graph took 5 ms per call
            w_t = flipped_transposed_weight(Tensor(weight))
            self.weight_t = Parameter(w_t, name='weight_t', requires_grad=False)
        attach_bias_channel_form(self, weight, bias, dense_same)
        self.set_cpu_kernel(True)

    def cpu_kernel_supported(self) -> bool:
        g = self.geometry
        if self.cpu_kernel_kind == 'depthwise':
            return g['k'] == 3 and g['stride'] in (1, 2) and g['depthwise']
        return g['same'] and g['stride'] == 1 and g['group'] == 1

    def build_cpu_kernel(self) -> None:
        if self.cpu_kernel_kind == 'depthwise':
            self.kernel_op = depthwise3x3_bias_act_op(self.geometry['stride'], self.act_name)
        else:
            self.kernel_op = conv_same_bias_act_op(self.act_name)

    def construct(self, x: Tensor) -> Tensor:
        if self.use_cpu_kernel:
            # the depthwise kernel reads its (C, 1, 3, 3) weight as (C, 9): no Reshape in the graph
            y = self.kernel_op(x, self.weight, self.bias)
        else:
            y = self.operators_forward(x)
            if self.activation is not None:
                y = self.activation(y)
        if self.extra_activation is not None:
            y = self.extra_activation(y)
        return y

    def operators_forward(self, x: Tensor) -> Tensor:
        """The convolution and its bias on MindSpore's operators, in the layer's operator form
        where it has one and it is on (:mod:`.operator_forms`)."""
        if self.operator_form and self.transposed_form_supported:
            return self.bias_add(self.as_transposed(x, self.weight_t), self.bias)
        if self.operator_form and self.bias_channel_supported:
            return self.as_bias_channel(x, self.weight_b)
        return self.bias_add(self.conv2d(x, self.weight), self.bias)

    def extend_repr(self) -> str:
        g = self.geometry
        return (
            f'{self.out_channels}, k={g["k"]}, stride={g["stride"]}, group={g["group"]}, '
            f'act={self.act_name}'
        )


def fuse_conv_bn(model: nn.Cell) -> int:
    """Replace every ``conv, BatchNorm`` pair inside a ``SequentialCell`` of ``model`` by a
    :class:`FusedConvAct` (the BatchNorm's place becomes ``nn.Identity``), in place.

    Call it on a model in eval mode with its final weights (inference, export): the fused layers
    keep the statistics and weights of that moment and cannot train.

    Args:
        model (nn.Cell): the network.

    Returns:
        int: the number of pairs fused.
    """
    if model.training:
        raise ValueError('fuse_conv_bn folds the moving statistics: call set_train(False) first')
    count = 0
    for _, cell in list(model.cells_and_names()):
        if not isinstance(cell, nn.SequentialCell):
            continue
        cells = list(cell.cell_list)
        for i in range(len(cells) - 1):
            conv, bn = cells[i], cells[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                cell[i] = FusedConvAct(conv, bn)
                cell[i + 1] = nn.Identity()
                cells[i + 1] = cell[i + 1]
                count += 1
    return count
