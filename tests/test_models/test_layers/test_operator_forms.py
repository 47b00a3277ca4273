"""The operator-form switch: on by default on the CPU target for every layer that has a form,
off for all of them at once (ONNX exports), and a layer offered two forms has one if either
applies."""

from mindspore import nn

from shmatting.models.layers import BilinearUpsample2x, same_conv2d, set_operator_forms
from shmatting.models.layers.operator_forms import declare_operator_form


def test_set_operator_forms_switches_every_layer_that_has_one():
    # a transposed-form layer, one without a form, an upsampling
    model = nn.SequentialCell([same_conv2d(16, 3, 3), same_conv2d(3, 8, 3), BilinearUpsample2x(8)])
    assert [getattr(c, 'operator_form', False) for c in model.cell_list] == [True, False, True]
    assert set_operator_forms(model, False) == 2
    assert not any(getattr(c, 'operator_form', False) for c in model.cell_list)
    assert set_operator_forms(model, True) == 2
    assert not model[1].operator_form


def test_a_second_form_that_does_not_apply_keeps_the_first():
    cell = nn.Cell()
    declare_operator_form(cell, True)
    assert not declare_operator_form(cell, False)
    assert cell.operator_form_supported and cell.operator_form
