"""Convolution + BatchNorm + activation blocks with PyTorch-equivalent settings."""

from mindspore import nn

from .activation import build_activation
from .norm_act import BatchNormAct2d
from .same_conv import same_conv2d

__all__ = ['conv_bn_act', 'make_divisible', 'batch_norm', 'set_block_input_grad']

# torch BatchNorm2d(momentum=0.1) == MindSpore momentum=0.9 (moving = 0.9 * moving + 0.1 * batch)
BN_MOMENTUM = 0.9
BN_EPS = 1e-5


def batch_norm(channels, act=None):
    """BatchNorm2d with the zoo's (and PyTorch's default) eps and momentum.

    Args:
        channels (int): channels.
        act (str | dict | None): the activation after the normalisation
            (:func:`~shmatting.models.layers.build_activation`; ReLU/ReLU6 are fused).

    Returns:
        BatchNormAct2d: an ``nn.BatchNorm2d`` (same parameters and names) with the activation.
    """
    return BatchNormAct2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM, act=act)


def make_divisible(value, divisor=8, min_value=None, min_ratio=0.9):
    """Round a channel count to a multiple of ``divisor`` (MobileNet's rule).

    Args:
        value (float): the raw channel count.
        divisor (int): the multiple.
        min_value (int, optional): lower bound (default ``divisor``).
        min_ratio (float): never round down by more than this ratio.

    Returns:
        int: the rounded count.
    """
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


def conv_bn_act(
    in_channels,
    out_channels,
    kernel_size=3,
    stride=1,
    padding=None,
    groups=1,
    bias=False,
    act='relu',
    norm=True,
):
    """``SequentialCell([Conv2d, BatchNorm2d + act])``: parameter names as in the PyTorch original.

    The activation is fused into the BatchNorm (``BatchNormAct2d``); without ``norm`` it is a cell
    of its own after the convolution.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.
        stride (int): stride.
        padding (int, optional): zero padding (default ``kernel_size // 2``).
        groups (int): convolution groups.
        bias (bool): give the convolution a bias.
        act (str | dict | None): an activation (``'relu'``, ``'relu6'``, ``'gelu'``...) or None.
        norm (bool): add the BatchNorm.

    Returns:
        nn.SequentialCell: the block.
    """
    padding = kernel_size // 2 if padding is None else padding
    if stride == 1 and groups == 1 and kernel_size % 2 == 1 and padding == kernel_size // 2:
        layers = [same_conv2d(in_channels, out_channels, kernel_size, bias)]  # decides the impl
    else:
        layers = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                pad_mode='pad',
                padding=padding,
                group=groups,
                has_bias=bias,
            )
        ]
    if norm:
        layers.append(batch_norm(out_channels, act))
    else:
        activation = build_activation(act)
        layers += [activation] if activation is not None else []
    return nn.SequentialCell(layers)


def set_block_input_grad(block: nn.SequentialCell, enabled: bool) -> None:
    """Declare whether the gradient with respect to a :func:`conv_bn_act` block's input is used
    (:meth:`SameConv2d.set_input_grad`; other convolutions drop an unused pass by themselves).

    Args:
        block (nn.SequentialCell): a block made by :func:`conv_bn_act`.
        enabled (bool): False only when the block reads data (the image).
    """
    setter = getattr(block[0], 'set_input_grad', None)
    if setter is not None:
        setter(enabled)
