"""The model zoo's config.yaml (its documented fields, tests/data/zoo_config.yaml) becomes one
shmatting config per phase that loads, carries the yaml's values and trains."""

import pytest

from shmatting.config import Config
from tests.helpers import ROOT, run_tool

pytest.importorskip('yaml', reason='PyYAML is an optional extra')


def test_zoo_yaml_becomes_configs_per_phase_that_train(tiny_data, tmp_path):
    out = tmp_path / 'zoo.py'
    res = run_tool('tools/misc/zoo_yaml2config.py', f'{ROOT}/tests/data/zoo_config.yaml', str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    tnet = Config.fromfile(str(tmp_path / 'zoo_tnet.py'))
    e2e = Config.fromfile(str(tmp_path / 'zoo_e2e.py'))
    assert not (tmp_path / 'zoo_mnet.py').exists()  # the yaml has no pre_train_m_net
    assert tnet.model.train_cfg.phase == 'tnet' and e2e.model.train_cfg.phase == 'e2e'
    assert (tnet.optimizer.lr, tnet.total_epochs, tnet.data.workers) == (1e-3, 1000, 4)
    assert (e2e.optimizer.lr, e2e.total_epochs, e2e.data.samples_per_device) == (1e-4, 200, 8)
    assert tnet.seed == 9527 and tnet.data_root == '/cache/datasets'
    assert tnet.default_hooks.checkpoint.max_keep_ckpts == 10
    assert tnet.default_hooks.eval is None  # the zoo's T-Net phase does not evaluate
    assert e2e.load_from.tnet == 'work_dirs/ckpt_s2/pre_train_t_net/latest.ckpt'
    assert e2e.model.test_cfg.resize == 'squash' and e2e.model.fusion.zoo_compat
    assert '--zoo-compat --ratios 6 2 2 --kernel-size 10' in res.stdout
    assert 'DEVICES=8 tools/train_pipeline.sh' in res.stdout
    train = run_tool(
        'tools/train.py',
        str(tmp_path / 'zoo_tnet.py'),
        '--work-dir',
        str(tmp_path / 'wd'),
        '--cfg-options',
        f'data_root={tiny_data}',
        'total_epochs=1',
        'data.samples_per_device=2',
        'data.workers=0',
        'context.device_target=CPU',
        'context.mode=PYNATIVE',
    )
    assert train.returncode == 0, train.stderr[-2000:]
    assert (tmp_path / 'wd' / 'latest.ckpt').exists()


def test_a_yaml_that_is_not_the_zoos_is_refused_in_one_line(tmp_path):
    (tmp_path / 'x.yaml').write_text('a: 1\n')
    res = run_tool(
        'tools/misc/zoo_yaml2config.py', str(tmp_path / 'x.yaml'), str(tmp_path / 'o.py')
    )
    assert res.returncode == 1 and res.stderr.strip().startswith('error: ')
    assert 'not the model zoo SHM config.yaml' in res.stderr
