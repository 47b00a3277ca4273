import os

import cv2
import numpy as np

from shmatting.datasets.synthetic import make_portrait, raw_paths


def test_raw_layout_and_rgba(raw_synthetic):
    clip, matting = raw_paths(raw_synthetic, 3)
    assert os.path.isfile(clip) and os.path.isfile(matting)
    assert '/clip_img/1803151818/clip_00000000/1803151818-00000003.jpg' in clip
    rgba = cv2.imread(matting, cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (80, 64, 4)
    assert len(os.listdir(os.path.join(raw_synthetic, 'backgrounds'))) == 4


def test_portrait_has_soft_and_semi_transparent_regions():
    image, fg, alpha = make_portrait(np.random.default_rng(0), 600, 800)
    assert image.shape == (800, 600, 3) and alpha.dtype == np.uint8
    assert (alpha == 255).mean() > 0.1 and (alpha == 0).mean() > 0.2
    soft = (alpha > 0) & (alpha < 255)
    assert soft.mean() > 0.01
    assert ((alpha > 60) & (alpha < 180)).sum() > 1000  # the scarf / strands
    again = make_portrait(np.random.default_rng(0), 600, 800)[2]
    assert np.array_equal(alpha, again)
