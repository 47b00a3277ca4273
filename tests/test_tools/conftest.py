"""A config and an e2e checkpoint shared by the tool tests."""

import mindspore as ms
import pytest

from shmatting.engine.checkpoint import save_checkpoint_atomic
from shmatting.models import build_model
from tests.helpers import tiny_config
from tests.test_models.utils import make_input_sensitive


@pytest.fixture(scope='session')
def trained(tiny_data, tmp_path_factory):
    """A config and a checkpoint of the e2e model whose alpha depends on its input (random
    weights, BatchNorm statistics and scales made input-sensitive)."""
    from shmatting.config import Config

    base = tmp_path_factory.mktemp('export')
    cfg = tiny_config(base / 'exp.py', tiny_data, phase='e2e')
    ms.set_context(mode=ms.PYNATIVE_MODE)
    ms.set_seed(0)
    model = build_model(Config.fromfile(cfg).model)
    make_input_sensitive(model)
    ckpt = str(base / 'w.ckpt')
    save_checkpoint_atomic(model, ckpt)
    return cfg, ckpt, base
