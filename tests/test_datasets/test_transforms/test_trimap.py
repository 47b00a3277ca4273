import numpy as np
import pytest

from shmatting.datasets.transforms import GenerateTrimap, TrimapToIndex
from shmatting.datasets.transforms.trimap_ops import trimap_from_alpha, zoo_trimap_from_alpha


def disc_alpha(size=64, radius=20, soft=4):
    yy, xx = np.mgrid[:size, :size]
    d = np.sqrt((yy - size / 2) ** 2 + (xx - size / 2) ** 2)
    return (np.clip((radius + soft / 2 - d) / soft, 0, 1) * 255).round().astype(np.uint8)


def test_values_and_widths_on_a_known_matte():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[:, 20:] = 255  # a vertical step edge at x = 20
    for k in (3, 5, 9):
        tri = trimap_from_alpha(alpha, k)
        assert set(np.unique(tri)) == {0, 128, 255}
        row = tri[20]
        assert (row == 128).sum() == 2 * (k // 2)  # k//2 eroded + k//2 dilated columns
        assert np.all(row[: 20 - k // 2] == 0) and np.all(row[20 + k // 2 :] == 255)


def test_soft_regions_are_unknown_and_faint_noise_is_not_foreground():
    alpha = disc_alpha()
    alpha[0, 0] = 3  # faint background noise
    alpha[30:34, 30:34] = 120  # a semi-transparent patch inside
    tri = trimap_from_alpha(alpha, 5)
    assert tri[0, 0] == 128 and tri[32, 32] == 128
    assert tri[32, 32 - 12] == 255  # deep inside the disc: certain foreground
    soft = (alpha > 0) & (alpha < 255)
    assert np.all(tri[soft] == 128)


def test_fg_threshold():
    alpha = np.full((20, 20), 250, np.uint8)
    assert np.all(trimap_from_alpha(alpha, 3, fg_threshold=255) == 128)
    assert trimap_from_alpha(alpha, 3, fg_threshold=240)[10, 10] == 255


def test_zoo_rule_reproduces_its_quirks():
    alpha = np.zeros((30, 30), np.uint8)
    alpha[:, 15:] = 255
    alpha[5, 5] = 100  # soft background speck: the zoo labels its neighbourhood unknown
    tri = zoo_trimap_from_alpha(alpha, 10)
    assert set(np.unique(tri)) <= {0, 128, 255}
    assert tri[5, 5] == 128
    # a semi-transparent region touching an opaque one but no zero pixel: the zoo says foreground
    alpha2 = np.full((30, 30), 255, np.uint8)
    alpha2[10:20, 10:20] = 128
    assert zoo_trimap_from_alpha(alpha2, 10)[11, 11] == 255  # its window reaches opaque pixels
    assert trimap_from_alpha(alpha2, 10)[11, 11] == 128


def test_generate_trimap_transform_random_kernel_is_seeded():
    alpha = disc_alpha()
    t = GenerateTrimap(kernel_size=(3, 15))
    a = t(dict(alpha=alpha, rng=np.random.default_rng(5)))['trimap']
    b = t(dict(alpha=alpha, rng=np.random.default_rng(5)))['trimap']
    assert np.array_equal(a, b)
    widths = {
        int((t(dict(alpha=alpha, rng=np.random.default_rng(s)))['trimap'] == 128).sum())
        for s in range(8)
    }
    assert len(widths) > 1
    with pytest.raises(ValueError):
        GenerateTrimap(kernel_size=(5, 2))


def test_trimap_to_index():
    tri = np.array([[0, 128, 255, 250, 3]], np.uint8)
    out = TrimapToIndex()(dict(trimap=tri))['trimap']
    assert out.dtype == np.int32 and out.tolist() == [[0, 1, 2, 2, 1]]
