import mindspore as ms
import numpy as np
import pytest

from shmatting.models import build_model
from shmatting.registry import MODELS
from tests.test_models.utils import zoo_config, zoo_param_shapes

ZOO_NAMES = 'tests/data/zoo_param_names.txt'


@pytest.fixture(autouse=True)
def pynative():
    ms.set_context(mode=ms.PYNATIVE_MODE)


def count(params):
    return sum(int(np.prod(p.shape)) for p in params)


def test_parameter_count_and_names_match_the_zoo(repo_root):
    model = build_model(zoo_config())
    assert count(model.trainable_params()) == 3115603
    params = list(model.get_parameters())
    assert len(params) == 355
    assert count(params) == 3148851
    zoo = zoo_param_shapes(f'{repo_root}/{ZOO_NAMES}')
    from shmatting.models.converters import zoo_to_shm_name

    assert {zoo_to_shm_name(k): v for k, v in zoo.items()} == {
        p.name: tuple(p.shape) for p in params
    }


@pytest.mark.parametrize('hw', [(64, 48), (50, 37), (17, 33)])
def test_any_image_size_goes_through_the_pad_protocol(hw):
    from shmatting.evaluation import predict_image

    model = build_model(zoo_config())
    model.set_train(False)
    alpha, classes = predict_image(
        model, np.random.rand(3, *hw).astype(np.float32), dict(resize='pad')
    )
    assert alpha.shape == hw and classes.shape == hw
    assert model.size_divisor == 16


def test_pad_protocol_is_the_network_on_the_edge_padded_input_cropped_top_left():
    """Oracle: NumPy's edge padding to the divisor, the network, the top-left H x W."""
    from shmatting.evaluation import predict_image

    model = build_model(zoo_config())
    model.set_train(False)
    x = np.random.default_rng(1).uniform(-0.6, 0.6, (3, 30, 45)).astype(np.float32)
    padded = np.pad(x, ((0, 0), (0, 2), (0, 3)), mode='edge')  # 32 x 48
    logits, alpha = (t.asnumpy()[0] for t in model(ms.Tensor(padded[None])))
    got_alpha, got_classes = predict_image(model, x, dict(resize='pad', clamp=False))
    np.testing.assert_allclose(got_alpha, alpha[0, :30, :45], rtol=0, atol=1e-6)
    assert np.array_equal(got_classes, logits[:, :30, :45].argmax(0))
    # the bottom-right crop is another function: the comparison above can fail
    assert np.abs(got_alpha - alpha[0, 2:, 3:]).max() > 1e-4


@pytest.mark.parametrize(
    'phase,active', [('tnet', {'tnet'}), ('mnet', {'mnet'}), ('e2e', {'tnet', 'mnet'})]
)
def test_phase_switching_freezes_inactive_parameters(phase, active):
    model = build_model(zoo_config(train_cfg=dict(phase=phase)))
    trainable = model.phase_trainable_params()
    assert {p.name.split('.')[0] for p in trainable} == active
    assert not any('moving_' in p.name for p in trainable)
    expected = {'tnet': 2228387, 'mnet': 887216, 'e2e': 3115603}[phase]
    assert count(trainable) == expected


@pytest.mark.parametrize('phase', ['tnet', 'mnet', 'e2e'])
def test_only_end_to_end_takes_the_gradient_of_the_mnets_input(phase):
    """The T-Net reads the image; the M-Net reads the image and the trimap probabilities, which
    need a gradient only end to end (from the T-Net's softmax, not from a one-hot label)."""
    model = build_model(zoo_config(train_cfg=dict(phase=phase)))
    assert model.tnet.backbone.head_conv[0].input_grad is False
    assert model.mnet.backbone.en_conv_bn_relu_1[0].input_grad is (phase == 'e2e')


def test_losses_per_phase_and_gradients_only_reach_active_parts():
    rng = np.random.default_rng(0)
    img = ms.Tensor(rng.uniform(-0.5, 0.5, (2, 3, 32, 32)).astype(np.float32))
    trimap = ms.Tensor(rng.integers(0, 3, (2, 1, 32, 32)).astype(np.int32))
    alpha = ms.Tensor(rng.uniform(0, 1, (2, 1, 32, 32)).astype(np.float32))
    fg = ms.Tensor(rng.uniform(0, 1, (2, 3, 32, 32)).astype(np.float32))
    bg = ms.Tensor(rng.uniform(0, 1, (2, 3, 32, 32)).astype(np.float32))
    for phase, n_terms in (('tnet', 1), ('mnet', 2), ('e2e', 3)):
        model = build_model(zoo_config(train_cfg=dict(phase=phase)))
        model.set_train(True)
        total, terms = model.forward_train(img, trimap, alpha, fg, bg)
        assert len(terms) == n_terms == len(model.loss_names)
        if phase == 'e2e':
            expected = terms[0] + terms[1] + 0.01 * terms[2]
            assert abs(float(total) - float(expected)) < 1e-6
        params = model.phase_trainable_params()

        def fn(*inputs):
            return model.forward_train(*inputs)[0]

        grads = ms.grad(fn, grad_position=None, weights=params)(img, trimap, alpha, fg, bg)
        assert len(grads) == len(params)
        assert all(np.isfinite(g.asnumpy()).all() for g in grads)
        assert sum(float(np.abs(g.asnumpy()).sum()) > 0 for g in grads) > len(grads) // 2


def test_mnet_phase_uses_the_one_hot_trimap_without_softmax():
    model = build_model(zoo_config(train_cfg=dict(phase='mnet')))
    model.set_train(False)
    x = ms.Tensor(np.random.rand(1, 3, 32, 32).astype(np.float32))
    onehot = np.zeros((1, 3, 32, 32), np.float32)
    onehot[:, 2, :16] = 1  # foreground top half
    onehot[:, 0, 16:] = 1  # background bottom half
    trimap, alpha = model(x, ms.Tensor(onehot))
    a = alpha.asnumpy()
    assert np.allclose(a[:, :, :16], 1.0) and np.allclose(a[:, :, 16:], 0.0)
    assert trimap.shape == (1, 3, 32, 32)


def test_comp_loss_can_be_dropped_and_bad_keys_are_reported():
    model = build_model(zoo_config(losses=dict(comp=None)))
    assert model.loss_names == ('loss_alpha', 'loss_trimap')
    with pytest.raises(KeyError, match='unknown losses'):
        build_model(zoo_config(losses=dict(compp=None)))
    with pytest.raises(KeyError, match='unknown train_cfg'):
        build_model(zoo_config(train_cfg=dict(phse='tnet')))
    with pytest.raises(ValueError, match='phase must be one of'):
        build_model(zoo_config(train_cfg=dict(phase='mnett')))
    with pytest.raises(KeyError, match=r'mnet must be dict\(backbone=.*got keys \[.neck.\]'):
        build_model(zoo_config(mnet=dict(neck=dict())))
    with pytest.raises(KeyError, match='tnet must be dict'):
        build_model(zoo_config(tnet='mobilenetv2'))


def test_graph_mode_forward_at_64():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = build_model(zoo_config())
        model.set_train(False)
        x = np.random.rand(1, 3, 64, 64).astype(np.float32)
        logits, alpha = model(ms.Tensor(x))
        assert logits.shape == (1, 3, 64, 64) and alpha.shape == (1, 1, 64, 64)
        ms.set_context(mode=ms.PYNATIVE_MODE)
        logits2, alpha2 = model(ms.Tensor(x))
        assert np.abs(alpha.asnumpy() - alpha2.asnumpy()).max() < 1e-5
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_repeated_graph_calls_do_not_walk_every_cell_to_set_an_unchanged_phase():
    ms.set_context(mode=ms.GRAPH_MODE)
    try:
        model = build_model(zoo_config())
        model.set_train(False)
        leaf = model.mnet.head.conv
        small, large = (ms.Tensor(np.zeros((1, 3, s, s), np.float32)) for s in (32, 64))
        model(small)
        first = model.compile_phase
        assert leaf.compile_phase == first  # the first call reaches every cell
        object.__setattr__(leaf, '_compile_phase', 'untouched')
        model(small)  # the same graph: MindSpore sets the same phase again
        assert model.compile_phase == first and leaf.compile_phase == 'untouched'
        model(large)  # another graph: a new phase, set on every cell again
        assert model.compile_phase != first and leaf.compile_phase == model.compile_phase
    finally:
        ms.set_context(mode=ms.PYNATIVE_MODE)


def test_torch_default_init_statistics():
    ms.set_seed(0)
    model = build_model(zoo_config())
    params = {p.name: p.asnumpy() for p in model.get_parameters()}
    w = params['tnet.backbone.block_4.0.conv.0.weight']  # (192, 32, 1, 1): fan_in 32
    bound = 1 / np.sqrt(32)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    b = params['tnet.head.last_conv.bias']
    assert np.abs(b).max() <= 1 / np.sqrt(16 * 9)
    d = params['mnet.head.deconv_1.weight']  # torch: fan_in = dim1 * k * k
    assert abs(d.std() - 1 / np.sqrt(128 * 25) / np.sqrt(3)) < 0.05 / np.sqrt(128 * 25)
    assert np.all(params['tnet.head.s4_fusion.1.gamma'] == 1)
    assert np.all(params['mnet.backbone.en_conv_bn_relu_1.1.moving_variance'] == 1)
    ms.set_seed(0)
    again = build_model(zoo_config())
    assert np.array_equal(again.tnet.backbone.block_4[0].conv[0].weight.asnumpy(), w)


def test_pretrained_init_cfg_by_prefix(tmp_path):
    from shmatting.engine.checkpoint import save_checkpoint_atomic

    ms.set_seed(1)
    source = build_model(zoo_config())
    path = str(tmp_path / 'src.ckpt')
    save_checkpoint_atomic(source, path)
    ms.set_seed(2)
    model = build_model(
        zoo_config(
            init_cfg=[
                dict(type='TorchDefault'),
                dict(type='Pretrained', checkpoint=path, prefix='tnet.'),
            ]
        )
    )
    src = {p.name: p.asnumpy() for p in source.get_parameters()}
    got = {p.name: p.asnumpy() for p in model.get_parameters()}
    assert all(np.array_equal(got[k], src[k]) for k in got if k.startswith('tnet.'))
    assert not np.array_equal(got['mnet.head.conv.weight'], src['mnet.head.conv.weight'])
    with pytest.raises(FileNotFoundError):
        build_model(
            zoo_config(init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'no.ckpt')))
        )


def test_registered_and_buildable_by_name():
    assert 'SHM' in MODELS
    model = MODELS.build(zoo_config())
    assert type(model).__name__ == 'SHM'
