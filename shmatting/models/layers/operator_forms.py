"""Inference forms for MindSpore's own CPU operators.

Some layers compute the same function faster on MindSpore 2.10's CPU operators when written as
another composition of them: a few-output convolution as a transposed convolution
(:mod:`.transposed_form`), a 1x1 expansion with its bias as an extra input channel of ones
(:mod:`.bias_channel`), the bilinear x2 upsampling as ``ResizeBilinearV2``
(:class:`.BilinearUpsample2x`). Such a layer declares its form with
:func:`declare_operator_form`; the form is used in eval mode without the project's kernels (the
exported MINDIR, machines without a compiler) and is on by default on the CPU target, where it
was measured. Every form is built from MindSpore's own operators, so the MINDIR stays portable.
ONNX exports switch them off (:func:`set_operator_forms`): ONNX Runtime has its own kernels, and
``ResizeBilinearV2`` does not convert to ONNX.
"""

import mindspore as ms
from mindspore import nn

__all__ = ['declare_operator_form', 'on_cpu_target', 'set_operator_forms']


def on_cpu_target() -> bool:
    """Whether MindSpore's device target is the CPU (where the operator choices were measured)."""
    return ms.get_context('device_target') == 'CPU'


def declare_operator_form(cell: nn.Cell, supported: bool) -> bool:
    """Declare whether ``cell`` has an operator form: sets ``operator_form_supported`` and
    ``operator_form`` (the switch its ``construct`` branches on; on by default on the CPU target).
    A layer offered several forms (one per geometry) has one if any applies.

    Args:
        cell (nn.Cell): the layer.
        supported (bool): whether the layer's geometry has this faster form.

    Returns:
        bool: ``supported``.
    """
    cell.operator_form_supported = getattr(cell, 'operator_form_supported', False) or supported
    cell.operator_form = bool(cell.operator_form_supported) and on_cpu_target()
    return bool(supported)


def set_operator_forms(model: nn.Cell, enabled: bool) -> int:
    """Allow or forbid the operator forms of every layer of ``model`` that has one; call before
    the first forward (a compiled graph keeps the form it was compiled with).

    Args:
        model (nn.Cell): a network.
        enabled (bool): False keeps every layer's plain form (ONNX exports).

    Returns:
        int: the number of layers set.
    """
    count = 0
    for _, cell in model.cells_and_names():
        if getattr(cell, 'operator_form_supported', False):
            cell.operator_form = bool(enabled)
            count += 1
    return count
