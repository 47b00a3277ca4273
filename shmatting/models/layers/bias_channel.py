"""Inference on MindSpore's operators: a folded 1x1 expansion with its bias as one more input
channel, of ones, instead of a ``BiasAdd`` over its output.

MindSpore 2.10's CPU ``Conv2D`` passes no bias to oneDNN, so a folded layer's bias is a separate
``BiasAdd`` pass over the output. A 1x1 convolution with many outputs per input (MobileNetV2's
expansions, six) writes a map several times the size of what it reads; appending a constant
channel of ones to the input and the bias as that channel's weight computes the same function
(different rounding) with one pass over the smaller input instead. Batch 1, GRAPH, on the AMD
Zen 4 machine (best of 3 x 30 runs, with the ReLU6 after it): 16->96 at 320x320 14.8-16.6 ->
9.7-11.9 ms, 24->144 at 160x160 6.9-7.0 -> 5.5-5.7 ms. It is one of the layers' operator forms
(:mod:`.operator_forms`): the exported MINDIR keeps it, ONNX exports keep ``Conv`` with its bias.
"""

import numpy as np
from mindspore import Parameter, Tensor, nn, ops

from .operator_forms import declare_operator_form

__all__ = [
    'BiasChannelConv',
    'attach_bias_channel_form',
    'bias_channel_weight',
    'prefers_bias_channel',
]


def prefers_bias_channel(in_channels: int, out_channels: int, kernel_size: int) -> bool:
    """Whether a folded convolution runs faster with its bias as an input channel of ones: a 1x1
    layer with at least four outputs per input.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.

    Returns:
        bool: True where measured faster (module docstring).
    """
    return kernel_size == 1 and out_channels >= 4 * in_channels


def bias_channel_weight(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """The (out, in + 1, 1, 1) weight whose last input channel carries ``bias``.

    Args:
        weight (np.ndarray): a 1x1 convolution's (out, in, 1, 1) weight.
        bias (np.ndarray): its (out,) bias.

    Returns:
        np.ndarray: float32 weight for the input with a channel of ones appended.
    """
    out_channels = weight.shape[0]
    ones_column = np.asarray(bias, np.float32).reshape(out_channels, 1, 1, 1)
    return np.concatenate([np.asarray(weight, np.float32), ones_column], axis=1)


class BiasChannelConv(nn.Cell):
    """``conv(x, W) + b`` (1x1, stride 1) as ``conv(concat(x, 1), bias_channel_weight(W, b))``.

    Args:
        out_channels (int): the convolution's output channels.
    """

    def __init__(self, out_channels: int):
        super().__init__()
        self.conv = ops.Conv2D(out_channels, 1)

    def construct(self, x: Tensor, w_b: Tensor) -> Tensor:
        n, _, h, w = x.shape
        ones = ops.ones((n, 1, h, w), x.dtype)  # a constant of the compiled graph
        return self.conv(ops.concat((x, ones), 1), w_b)


def attach_bias_channel_form(
    cell: nn.Cell, weight: np.ndarray, bias: np.ndarray, eligible: bool = True
) -> bool:
    """Give a folded convolution its bias-channel form where :func:`prefers_bias_channel` holds:
    ``bias_channel_supported``, the ``as_bias_channel`` cell, its ``weight_b`` and the operator-form
    switch (:func:`.declare_operator_form`).

    Args:
        cell (nn.Cell): the layer.
        weight (np.ndarray): its folded (out, in, k, k) weight.
        bias (np.ndarray): its folded bias.
        eligible (bool): False for geometries the form does not cover (a stride, groups).

    Returns:
        bool: whether the layer has the form.
    """
    out_channels, in_channels, k = weight.shape[0], weight.shape[1], weight.shape[2]
    supported = eligible and prefers_bias_channel(in_channels, out_channels, k)
    cell.bias_channel_supported = supported
    declare_operator_form(cell, supported)
    if supported:
        cell.as_bias_channel = BiasChannelConv(out_channels)
        w_b = Tensor(bias_channel_weight(weight, bias))
        cell.weight_b = Parameter(w_b, name='weight_b', requires_grad=False)
    return supported
