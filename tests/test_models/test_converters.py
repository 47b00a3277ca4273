"""Converters on synthetic state dicts built from the zoo's parameter list."""

import numpy as np
import pytest

from shmatting.models.converters import (
    ConversionError,
    convert_torch_state,
    convert_zoo_state,
    strip_wrapper_keys,
)
from shmatting.models.converters import zoo_to_shm_name as shm_name
from tests.test_models.utils import zoo_param_shapes


@pytest.fixture
def zoo_shapes(repo_root):
    return zoo_param_shapes(f'{repo_root}/tests/data/zoo_param_names.txt')


@pytest.fixture
def expected(zoo_shapes):
    return {shm_name(k): v for k, v in zoo_shapes.items()}


def synthetic_zoo_state(zoo_shapes):
    rng = np.random.default_rng(0)
    return {k: rng.normal(size=s).astype(np.float32) for k, s in zoo_shapes.items()}


def test_zoo_state_with_optimizer_keys(zoo_shapes, expected):
    state = synthetic_zoo_state(zoo_shapes)
    mixed = dict(state)
    for k in list(state)[:10]:
        mixed['moment1.' + k] = state[k]
        mixed['moment2.' + k] = state[k]
    mixed.update(
        global_step=np.array(5),
        learning_rate=np.array(1e-3, np.float32),
        beta1_power=np.array(0.9),
        epoch_num=np.array(3),
    )
    cleaned, report = strip_wrapper_keys(mixed)
    assert len(report['optimizer']) == 24
    converted = convert_zoo_state(cleaned, expected)
    assert len(converted) == 355
    for k, v in state.items():  # every value lands where it should
        assert np.array_equal(converted[shm_name(k)], v)


def test_wrapper_prefixes_are_stripped(zoo_shapes, expected):
    state = {'network.' + k: v for k, v in synthetic_zoo_state(zoo_shapes).items()}
    cleaned, report = strip_wrapper_keys(state)
    assert report['prefixes'] == ['network.']
    assert len(convert_zoo_state(cleaned, expected)) == 355


def test_a_torch_style_wrapper_dict_is_unwrapped_and_its_other_keys_reported(zoo_shapes, expected):
    state = synthetic_zoo_state(zoo_shapes)
    cleaned, report = strip_wrapper_keys({'state_dict': state, 'epoch': 7, 'arch': 'shm'})
    assert report['other'] == ['arch', 'epoch']  # said, not silently dropped
    assert len(convert_zoo_state(cleaned, expected)) == 355


def test_mismatch_and_unmapped_keys_are_listed(zoo_shapes, expected):
    state = synthetic_zoo_state(zoo_shapes)
    state['t_net.last_conv.weight'] = np.zeros((4, 16, 3, 3), np.float32)
    state['weird.key'] = np.zeros(1, np.float32)
    del state['m_net.conv.weight']
    with pytest.raises(ConversionError) as info:
        convert_zoo_state(state, expected)
    msg = str(info.value)
    assert 'weird.key' in msg and 't_net.last_conv.weight (4, 16, 3, 3)' in msg
    assert 'mnet.head.conv.weight' in msg


def test_torch_state_dict_conversion(zoo_shapes, expected):
    rng = np.random.default_rng(1)
    rename = {
        'gamma': 'weight',
        'beta': 'bias',
        'moving_mean': 'running_mean',
        'moving_variance': 'running_var',
    }
    torch_state = {}
    for k, s in zoo_shapes.items():
        prefix, _, leaf = k.rpartition('.')
        torch_state[f'{prefix}.{rename.get(leaf, leaf)}'] = rng.normal(size=s).astype(np.float32)
        if leaf == 'moving_variance':
            torch_state[f'{prefix}.num_batches_tracked'] = np.array(7)
    for leaf, shape in (
        ('0.weight', (128, 128, 3, 3)),
        ('1.weight', (128,)),
        ('1.bias', (128,)),
        ('1.running_mean', (128,)),
        ('1.running_var', (128,)),
    ):
        torch_state[f'm_net.en_conv_bn_relu_5.{leaf}'] = np.zeros(shape, np.float32)
    torch_state['m_net.en_conv_bn_relu_5.1.num_batches_tracked'] = np.array(7)
    assert len(torch_state) == 429  # as the PyTorch original's state_dict
    torch_state = {'module.' + k: v for k, v in torch_state.items()}
    cleaned, _ = strip_wrapper_keys({'state_dict': torch_state, 'epoch': 3})
    converted, dropped = convert_torch_state(cleaned, expected)
    assert len(converted) == 355
    assert len(dropped) == 69 + 5
    bn = converted['tnet.backbone.head_conv.1.gamma']
    assert np.array_equal(bn, torch_state['module.t_net.feature.head_conv.1.weight'])
    assert np.array_equal(
        converted['mnet.head.deconv_2.weight'], torch_state['module.m_net.deconv_2.weight']
    )
