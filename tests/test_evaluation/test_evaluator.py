"""The evaluator feeds the M-Net phase the one-hot of the ground-truth trimap (the oracle: the
network run on a one-hot built here, and SAD computed by hand)."""

import mindspore as ms
import numpy as np

from shmatting.evaluation import Evaluator, predict_image
from shmatting.models import build_model
from tests.test_models.utils import make_input_sensitive, zoo_config


def test_mnet_phase_is_scored_on_the_ground_truth_trimap():
    ms.set_context(mode=ms.PYNATIVE_MODE)
    model = build_model(zoo_config(train_cfg=dict(phase='mnet')))
    make_input_sensitive(model)
    model.set_train(False)
    rng = np.random.default_rng(0)
    h, w = 40, 56
    trimap = np.zeros((h, w), np.int32)
    trimap[8:32, 10:46] = 1
    trimap[14:26, 18:38] = 2
    img = rng.uniform(-0.5, 0.5, (3, h, w)).astype(np.float32)
    gt_alpha = (trimap / 2.0).astype(np.float32)
    batch = dict(
        img=img[None], trimap=trimap[None, None], alpha=gt_alpha[None, None], index=np.array([0])
    )
    evaluator = Evaluator(['SAD'], dict(resize='pad'), use_gt_trimap=model.eval_uses_gt_trimap)
    record = evaluator._score(model, batch)

    onehot = np.stack([(trimap == k) for k in range(3)]).astype(np.float32)
    alpha, _ = predict_image(model, img, dict(resize='pad'), onehot)
    assert np.isclose(record['SAD'], np.abs(alpha - gt_alpha).sum() / 1000, rtol=1e-6)
    other, _ = predict_image(model, img, dict(resize='pad'), onehot[::-1].copy())
    assert np.abs(other - alpha).max() > 1e-3  # the trimap matters: a wrong one would show
