"""Every map of a sample (image, alpha, trimap, foreground, background) stays aligned through every
geometric transform. The oracle: the maps are made from one coordinate field (each a different
function of x or y), so after a transform they must still agree with one another pixel by pixel
(a map moved alone, such as an image flipped without its matte, breaks the agreement)."""

import numpy as np
import pytest

from shmatting.datasets.transforms import (
    RandomCrop,
    RandomFlip,
    RandomScale,
    Resize,
    ZooCropOrSquash,
)

H, W = 90, 120  # 2 * 120 < 256: the ramps stay in uint8


def coordinate_maps():
    y, x = np.mgrid[:H, :W]
    img = np.stack([2 * x, 2 * y, np.full_like(x, 128)], -1).astype(np.uint8)
    return dict(
        img=img,
        alpha=(255 - 2 * x).astype(np.uint8),
        fg=np.stack([2 * y, np.full_like(x, 100), 2 * x], -1).astype(np.uint8),
        bg=np.stack([np.full_like(x, 50), 255 - 2 * y, 2 * x], -1).astype(np.uint8),
        trimap=np.where(x < 40, 0, np.where(x < 80, 128, 255)).astype(np.uint8),
    )


def check_agreement(results, tol=4, margin=3):
    """Each map against the image's encoded coordinates, away from borders and trimap edges."""
    h, w = results.get('pad_shape', results['img'].shape[:2])
    img, a = results['img'][:h, :w].astype(int), results['alpha'][:h, :w].astype(int)
    fg, bg = results['fg'][:h, :w].astype(int), results['bg'][:h, :w].astype(int)
    inner = (slice(margin, h - margin), slice(margin, w - margin))
    x2, y2 = img[..., 0][inner], img[..., 1][inner]
    assert np.abs(a[inner] - (255 - x2)).max() <= tol, 'alpha moved apart from the image'
    assert np.abs(fg[..., 0][inner] - y2).max() <= tol, 'fg moved apart from the image'
    assert np.abs(fg[..., 2][inner] - x2).max() <= tol, 'fg moved apart from the image'
    assert np.abs(bg[..., 1][inner] - (255 - y2)).max() <= tol, 'bg moved apart from the image'
    trimap = results['trimap'][:h, :w][inner]
    expected = np.where(x2 < 80, 0, np.where(x2 < 160, 128, 255))
    clear = (np.abs(x2 - 80) > 2 * tol) & (np.abs(x2 - 160) > 2 * tol)
    assert np.array_equal(trimap[clear], expected[clear]), 'trimap moved apart from the image'


def run(transform, seed):
    results = dict(coordinate_maps(), rng=np.random.default_rng(seed))
    return transform(results)


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize(
    'transform',
    [
        RandomFlip(prob=1.0),
        RandomFlip(prob=0.0, vertical_prob=1.0),
        RandomFlip(prob=0.5, vertical_prob=0.5),
        RandomCrop(crop_size=(64, 48)),
        RandomCrop(crop_size=(64, 48), unknown_prob=1.0),
        RandomCrop(crop_size=(150, 100)),  # larger than the image: scaled up first
        RandomScale(scale_range=(0.6, 1.4), prob=1.0),
        Resize(size=(60, 60)),
        Resize(size=(100, 100), keep_ratio=True),
        ZooCropOrSquash(size=64, crop_prob=1.0),
        ZooCropOrSquash(size=64, crop_prob=0.0),
    ],
    ids=lambda t: repr(t),
)
def test_every_geometric_transform_keeps_the_maps_aligned(transform, seed):
    check_agreement(run(transform, seed))


def test_the_check_fails_when_one_map_is_moved_alone():
    results = run(RandomFlip(prob=1.0), 0)
    results['alpha'] = np.ascontiguousarray(results['alpha'][:, ::-1])  # flipped back alone
    with pytest.raises(AssertionError, match='alpha moved apart'):
        check_agreement(results)


def test_flips_and_crops_move_the_content_where_they_say():
    flipped = run(RandomFlip(prob=1.0), 0)
    assert flipped['img'][0, 0, 0] == 2 * (W - 1)  # the right edge is now on the left
    crop = run(RandomCrop(crop_size=(64, 48)), 1)
    assert crop['img'].shape == (48, 64, 3) and crop['trimap'].shape == (48, 64)
    x0, y0 = crop['img'][0, 0, 0] // 2, crop['img'][0, 0, 1] // 2
    assert 0 <= x0 <= W - 64 and 0 <= y0 <= H - 48


def test_zoo_crop_never_draws_the_last_offset_and_squashes_small_images():
    offsets = set()
    for seed in range(200):
        out = run(ZooCropOrSquash(size=64, crop_prob=1.0), seed)
        offsets.add((int(out['img'][0, 0, 0]) // 2, int(out['img'][0, 0, 1]) // 2))
    xs, ys = {x for x, _ in offsets}, {y for _, y in offsets}
    assert min(xs) == 0 and max(xs) == W - 64 - 1  # randrange(0, w - s): the last is never drawn
    assert min(ys) == 0 and max(ys) == H - 64 - 1
    small = dict(coordinate_maps(), rng=np.random.default_rng(0))
    small = {k: (v[:60, :60] if isinstance(v, np.ndarray) else v) for k, v in small.items()}
    out = ZooCropOrSquash(size=64, crop_prob=1.0)(small)  # not larger than 64: squashed
    assert out['img'].shape == (64, 64, 3) and out['img'][0, -1, 0] > 2 * 57
