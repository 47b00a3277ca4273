"""Inference on MindSpore's operators: a stride-1 'same' convolution with few outputs as the
transposed convolution of its flipped weight.

MindSpore 2.10's CPU ``Conv2D`` runs oneDNN's im2col + GEMM on plain NCHW, whose column buffer
holds ``in_channels * k * k`` rows per output pixel. For stride 1 and padding ``k // 2``,
``conv(x, W)`` equals ``Conv2DBackpropInput(x, flip(W^T))`` (the input gradient of a convolution
whose weight is W with its channel axes swapped and flipped in space), whose column buffer holds
``out_channels * k * k`` rows instead. Where a layer has at most a fifth as many outputs as
inputs this is the faster operator. In the exported zoo network at batch 1 and 320x320 on the
AMD Zen 5 machine (oneDNN's own timing, ``ONEDNN_VERBOSE=1``, 8 runs): 16->1 5x5 at 320x320 15.0
-> 4.1 ms, 16->3 3x3 at 320x320 5.8 -> 3.4 ms; with three inputs per output it was no faster
there (96->32 3x3 at 80x80 4.0 -> 3.5 ms, 320->96 3x3 at 40x40 6.0 -> 6.1 ms), and with fewer
it is slower (32->24 3x3 at 160x160 9.1 -> 13.5 ms alone). It is the same function (different
rounding). It is one of the layers' operator forms (:mod:`.operator_forms`): the exported MINDIR
keeps it (both are MindSpore's own operators), ONNX exports keep ``Conv``.
"""

from mindspore import Tensor, nn, ops

from .operator_forms import declare_operator_form

__all__ = [
    'TransposedSameConv',
    'attach_transposed_form',
    'flipped_transposed_weight',
    'prefers_transposed_form',
]


def prefers_transposed_form(in_channels: int, out_channels: int, kernel_size: int) -> bool:
    """Whether a stride-1 'same' convolution runs faster as a transposed convolution on
    MindSpore's CPU operators: an odd kernel above 1x1 and at least five inputs per output.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.

    Returns:
        bool: True where measured faster (module docstring).
    """
    return kernel_size > 1 and kernel_size % 2 == 1 and 5 * out_channels <= in_channels


def flipped_transposed_weight(w: Tensor) -> Tensor:
    """The (in, out, k, k) weight of the transposed form of the (out, in, k, k) weight ``w``.

    Args:
        w (Tensor): a convolution's weight.

    Returns:
        Tensor: ``w`` with its channel axes swapped and its kernel flipped in both axes.
    """
    return ops.flip(ops.transpose(w, (1, 0, 2, 3)), (2, 3))


class TransposedSameConv(nn.Cell):
    """``conv(x, W)`` (stride 1, padding ``k // 2``, no groups) computed as
    ``Conv2DBackpropInput(x, w_t)`` with ``w_t = flipped_transposed_weight(W)``.

    Args:
        in_channels (int): the convolution's input channels.
        out_channels (int): its output channels.
        kernel_size (int): odd square kernel size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        pad = kernel_size // 2
        kernel = (kernel_size, kernel_size)
        # the transposed form's "output" channels are the convolution's input channels
        self.op = ops.Conv2DBackpropInput(in_channels, kernel, pad_mode='pad', pad=pad)
        self.out_channels = out_channels

    def construct(self, x: Tensor, w_t: Tensor) -> Tensor:
        n, _, h, w = x.shape
        return self.op(x, w_t, (n, self.out_channels, h, w))


def attach_transposed_form(
    cell: nn.Cell, in_channels: int, out_channels: int, kernel_size: int, eligible: bool = True
) -> bool:
    """Give a convolution layer its transposed form where :func:`prefers_transposed_form` holds:
    ``transposed_form_supported``, the ``as_transposed`` cell, and the operator-form switch
    (:func:`.declare_operator_form`) the layer branches on in ``construct``.

    Args:
        cell (nn.Cell): the layer.
        in_channels (int): its input channels.
        out_channels (int): its output channels.
        kernel_size (int): its square kernel size.
        eligible (bool): False for geometries the form does not cover (a stride, groups, other
            padding than ``k // 2``).

    Returns:
        bool: whether the layer has the form.
    """
    supported = eligible and prefers_transposed_form(in_channels, out_channels, kernel_size)
    cell.transposed_form_supported = supported
    declare_operator_form(cell, supported)
    if supported:
        cell.as_transposed = TransposedSameConv(in_channels, out_channels, kernel_size)
    return supported
