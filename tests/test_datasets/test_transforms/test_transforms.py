import numpy as np
import pytest

from shmatting.datasets.transforms import (
    Compose,
    CompositeBackground,
    LoadAlphaFromFile,
    LoadImageFromFile,
    Normalize,
    PackInputs,
    RandomCrop,
    RandomFlip,
    RandomScale,
    Resize,
)
from shmatting.datasets.transforms.loading import CorruptSampleError
from shmatting.registry import TRANSFORMS


def sample(seed=0, h=48, w=40):
    rng = np.random.default_rng(100)
    alpha = np.zeros((h, w), np.uint8)
    alpha[10:30, 8:30] = 255
    alpha[28:34, 8:30] = 128
    return dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        fg=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        alpha=alpha,
        trimap=np.where(alpha == 255, 255, np.where(alpha > 0, 128, 0)).astype(np.uint8),
        rng=np.random.default_rng(seed),
    )


def maps_equal(a, b):
    return all(np.array_equal(a[k], b[k]) for k in ('img', 'alpha', 'trimap', 'fg'))


@pytest.mark.parametrize(
    'transform',
    [
        RandomScale((0.5, 1.5), prob=1.0),
        RandomCrop(24, unknown_prob=0.5),
        RandomFlip(0.5, 0.5),
        Resize((32, 20), keep_ratio=True),
        Resize(30),
    ],
)
def test_geometric_shapes_dtypes_and_determinism(transform):
    a, b = transform(sample(1)), transform(sample(1))
    assert maps_equal(a, b)
    h, w = a['img'].shape[:2]
    for key in ('alpha', 'trimap'):
        assert a[key].shape == (h, w) and a[key].dtype == np.uint8
    assert a['fg'].shape == (h, w, 3)
    assert set(np.unique(a['trimap'])) <= {0, 128, 255}  # nearest keeps the labels
    assert 'RandomScale' in repr(RandomScale()) and repr(transform)


def test_crop_sizes_and_small_images():
    out = RandomCrop((24, 16))(sample(2))
    assert out['img'].shape == (16, 24, 3)
    big = RandomCrop(100)(sample(2))
    assert big['img'].shape == (100, 100, 3)


def test_unknown_centred_crop_contains_unknown():
    s = sample(3, h=200, w=200)
    s['alpha'][:] = 0
    s['alpha'][150:152, 150:152] = 100
    out = RandomCrop(20, unknown_prob=1.0)(s)
    assert ((out['alpha'] > 0) & (out['alpha'] < 255)).any()


def test_unknown_centred_crop_puts_the_unknown_pixel_at_the_centre():
    s = sample(3, h=200, w=200)
    s['alpha'][:] = 0
    s['alpha'][120, 90] = 100  # the only unknown pixel, far from every border
    out = RandomCrop((30, 20), unknown_prob=1.0)(s)
    ys, xs = np.nonzero((out['alpha'] > 0) & (out['alpha'] < 255))
    assert (ys.tolist(), xs.tolist()) == ([10], [15])  # (crop_h // 2, crop_w // 2)


def test_crop_size_defaults_to_the_papers_320():
    out = RandomCrop()(sample(5, h=400, w=360))
    assert out['img'].shape == (320, 320, 3)


def test_flip_is_horizontal_by_default():
    s = sample(4)
    seen = set()
    for seed in range(10):
        out = RandomFlip(prob=0.5)(dict(sample(seed)))
        if np.array_equal(out['img'], s['img']):
            seen.add('none')
        elif np.array_equal(out['img'], s['img'][:, ::-1]):
            seen.add('h')
        else:
            seen.add('other')
    assert seen == {'none', 'h'}


def test_composite_background():
    s = sample(5)
    out = CompositeBackground(prob=1.0)(dict(s))
    a = s['alpha'].astype(np.float32)[..., None] / 255
    expected = np.rint(s['fg'] * a + out['bg'] * (1 - a))
    assert np.abs(out['img'].astype(int) - expected).max() <= 1
    kept = CompositeBackground(prob=0.0)(dict(sample(5)))
    assert np.array_equal(kept['fg'], kept['img']) and np.array_equal(kept['bg'], kept['img'])


def test_composite_from_folder(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / 'b.png'), np.full((10, 12, 3), 77, np.uint8))
    out = CompositeBackground(bg_dir=str(tmp_path))(sample(6))
    assert out['bg'].shape == (48, 40, 3) and np.all(out['bg'] == 77)
    with pytest.raises(FileNotFoundError):
        CompositeBackground(bg_dir=str(tmp_path / 'none'))


def test_normalize_and_pack():
    s = Normalize(mean=(10, 20, 30), std=(2, 2, 2))(sample(7))
    assert s['img'].dtype == np.float32
    s['trimap'] = s['trimap'] // 127
    out = PackInputs(keys=('img', 'trimap', 'alpha', 'fg'))(s)['inputs']
    assert out['img'].shape == (3, 48, 40) and out['img'].dtype == np.float32
    assert out['trimap'].shape == (1, 48, 40) and out['trimap'].dtype == np.int32
    assert out['alpha'].max() == 1.0 and out['fg'].max() <= 1.0
    with pytest.raises(KeyError, match="no 'bg'"):
        PackInputs(keys=('bg',))(sample(7))
    with pytest.raises(ValueError):
        Normalize(mean=(1, 2), std=(1, 1))


def test_loading_errors(tmp_path):
    with pytest.raises(CorruptSampleError, match='missing file'):
        LoadImageFromFile()(dict(img_path=str(tmp_path / 'x.jpg')))
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'garbage')
    with pytest.raises(CorruptSampleError, match='unreadable image'):
        LoadAlphaFromFile()(dict(alpha_path=str(bad)))


def test_compose_from_configs():
    c = Compose([dict(type='RandomFlip', prob=1.0), dict(type='Resize', size=16)])
    out = c(sample(8))
    assert out['img'].shape == (16, 16, 3)
    assert 'RandomFlip' in repr(c) and 'Resize' in TRANSFORMS
    with pytest.raises(TypeError):
        Compose([3])


def test_normalize_uses_bgr_means_and_stds_per_channel():
    """Oracle: hand-computed (value - mean) / std for a BGR pixel whose channels differ."""
    img = np.empty((2, 3, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 10, 20, 30  # B, G, R
    out = Normalize(mean=(1, 2, 3), std=(2, 4, 8))(dict(img=img))['img']
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], np.array([4.5, 4.5, 3.375], np.float32))
    default = Normalize()(dict(img=img))['img'][0, 0]  # (114, 121, 134) / 255 in BGR order
    np.testing.assert_allclose(
        default, [(10 - 114) / 255, (20 - 121) / 255, (30 - 134) / 255], rtol=1e-6
    )
