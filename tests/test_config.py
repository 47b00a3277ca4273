import argparse
import os
import textwrap

import pytest

from shmatting.config import Config, ConfigDict, DictAction, parse_literal


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def tree(tmp_path):
    """A three-level config tree: leaf -> (model, data) -> runtime."""
    write(
        tmp_path,
        '_base_/runtime.py',
        """
        seed = 0
        log = dict(interval=10, hooks=[dict(type='Text')])
        load_from = None
    """,
    )
    write(
        tmp_path,
        '_base_/model.py',
        """
        _base_ = './runtime.py'
        model = dict(type='SHM', tnet=dict(backbone=dict(type='MobileNetV2', widen=1.0,
                                                         out_indices=(1, 2, 3))),
                     test_cfg=dict(resize='pad'))
        lr = 1e-3
    """,
    )
    write(
        tmp_path,
        '_base_/data.py',
        """
        data_root = 'data/x'
        data = dict(train=dict(type='DS', split='train',
                               pipeline=[dict(type='Load'), dict(type='Crop', size=320),
                                         dict(type='Flip')]),
                    samples_per_device=8)
    """,
    )
    leaf = write(
        tmp_path,
        'shm/leaf.py',
        """
        _base_ = ['../_base_/model.py', '../_base_/data.py']
        model = dict(tnet=dict(backbone=dict(widen=0.5)))
        lr = {{_base_.lr}} * 10
        crop = {{_base_.data.train.pipeline.1}}
        size_text = 'crop at {{_base_.data.train.pipeline.1.size}}px'
        quoted = '{{_base_.model.type}}'
        load_from = dict(tnet='a.ckpt')
    """,
    )
    return tmp_path, leaf


def test_multi_level_inheritance_and_merge(tree):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    assert cfg.seed == 0
    assert cfg.model.type == 'SHM'
    assert cfg.model.tnet.backbone.widen == 0.5
    assert cfg.model.tnet.backbone.type == 'MobileNetV2'
    assert cfg.model.tnet.backbone.out_indices == (1, 2, 3)
    assert cfg.model.test_cfg.resize == 'pad'
    assert cfg.data.train.pipeline[1].size == 320
    assert '_base_' not in cfg
    assert cfg.load_from.tnet == 'a.ckpt'  # a dict may replace a None base value


def test_base_references(tree):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    assert cfg.lr == pytest.approx(1e-2)
    assert cfg.crop == dict(type='Crop', size=320)
    assert cfg.size_text == 'crop at 320px'
    assert cfg.quoted == 'SHM'


def test_delete_replaces(tmp_path, tree):
    base_dir, _ = tree
    child = write(
        base_dir,
        'shm/child_delete.py',
        """
        _base_ = '../_base_/model.py'
        model = dict(tnet=dict(backbone=dict(_delete_=True, type='ResNet', depth=18)))
    """,
    )
    cfg = Config.fromfile(child)
    assert cfg.model.tnet.backbone.to_dict() == dict(type='ResNet', depth=18)
    assert cfg.model.test_cfg.resize == 'pad'


def test_dict_meets_non_dict_suggests_delete(tree):
    base_dir, _ = tree
    child = write(
        base_dir,
        'shm/bad.py',
        """
        _base_ = '../_base_/model.py'
        lr = dict(base=1)
    """,
    )
    with pytest.raises(TypeError, match='_delete_=True'):
        Config.fromfile(child)


def test_duplicate_key_between_bases(tmp_path):
    write(tmp_path, 'a.py', 'x = 1\n')
    write(tmp_path, 'b.py', 'x = 2\n')
    leaf = write(tmp_path, 'c.py', "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(KeyError, match="'x' is defined by two of its bases"):
        Config.fromfile(leaf)


def test_missing_base_and_missing_file(tmp_path):
    leaf = write(tmp_path, 'c.py', "_base_ = 'nope.py'\n")
    with pytest.raises(FileNotFoundError, match="_base_ file 'nope.py' not found"):
        Config.fromfile(leaf)
    with pytest.raises(FileNotFoundError, match='config file not found'):
        Config.fromfile(tmp_path / 'absent.py')


def test_circular_bases(tmp_path):
    write(tmp_path, 'a.py', "_base_ = 'b.py'\n")
    write(tmp_path, 'b.py', "_base_ = 'a.py'\n")
    with pytest.raises(RecursionError, match='circular'):
        Config.fromfile(tmp_path / 'a.py')


def test_bad_base_reference(tree):
    base_dir, _ = tree
    child = write(
        base_dir,
        'shm/badref.py',
        """
        _base_ = '../_base_/model.py'
        y = {{_base_.nothing}}
    """,
    )
    with pytest.raises(KeyError, match="'nothing' is not defined in the base configs"):
        Config.fromfile(child)


def test_missing_key_raises_not_empty_dict(tree):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    with pytest.raises(AttributeError, match='bakbone'):
        cfg.model.tnet.bakbone
    with pytest.raises(KeyError):
        cfg['nope']
    with pytest.raises(AttributeError):
        cfg.nope
    d = ConfigDict(a=dict(b=1))
    with pytest.raises(KeyError):
        d['x']
    assert d.a.b == 1


def test_env_substitution(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        'env.py',
        """
        data_root = '{{$SHM_TEST_DATA:data/human_matting}}'
        workers = {{$SHM_TEST_WORKERS:2}}
        name = '{{ fileBasenameNoExtension }}'
    """,
    )
    monkeypatch.delenv('SHM_TEST_DATA', raising=False)
    monkeypatch.delenv('SHM_TEST_WORKERS', raising=False)
    cfg = Config.fromfile(path)
    assert cfg.data_root == 'data/human_matting' and cfg.workers == 2 and cfg.name == 'env'
    monkeypatch.setenv('SHM_TEST_DATA', '/mnt/data')
    monkeypatch.setenv('SHM_TEST_WORKERS', '4')
    cfg = Config.fromfile(path)
    assert cfg.data_root == '/mnt/data' and cfg.workers == 4
    nodefault = write(tmp_path, 'env2.py', "x = '{{$SHM_SURELY_UNSET_VAR}}'\n")
    monkeypatch.delenv('SHM_SURELY_UNSET_VAR', raising=False)
    with pytest.raises(KeyError, match='SHM_SURELY_UNSET_VAR is not set'):
        Config.fromfile(nodefault)


def test_merge_from_dict_dotted_and_list_index(tree):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    cfg.merge_from_dict(
        {
            'model.tnet.backbone.widen': 1.0,
            'data.train.pipeline.1.size': 256,
            'data.train.pipeline.-1.direction': 'horizontal',
            'new_key': [1, 2],
        }
    )
    assert cfg.model.tnet.backbone.widen == 1.0
    assert cfg.data.train.pipeline[1].size == 256
    assert cfg.data.train.pipeline[1].type == 'Crop'
    assert cfg.data.train.pipeline[2].direction == 'horizontal'
    assert cfg.new_key == [1, 2]
    with pytest.raises(IndexError, match='out of range'):
        cfg.merge_from_dict({'data.train.pipeline.7.size': 1})
    with pytest.raises(TypeError, match='_delete_'):
        cfg.merge_from_dict({'lr': dict(a=1)})
    cfg.merge_from_dict({'model.tnet.backbone': dict(_delete_=True, type='X')})
    assert cfg.model.tnet.backbone.to_dict() == dict(type='X')


def test_literal_parsing_and_dict_action():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(
        [
            '--cfg-options',
            'a=1',
            'b=[1,2]',
            'c=None',
            "d='text'",
            'e=text',
            'f=0.5',
            'g=true',
            'h=1,2',
            'i=[a,b]',
            'j=(1,[2,3])',
            'k=__import__("os").system("echo hi")',
        ]
    )
    o = args.cfg_options
    assert o['a'] == 1 and o['b'] == [1, 2] and o['c'] is None and o['d'] == 'text'
    assert o['e'] == 'text' and o['f'] == 0.5 and o['g'] is True and o['h'] == [1, 2]
    assert o['i'] == ['a', 'b'] and o['j'] == (1, [2, 3])
    assert isinstance(o['k'], str)  # never evaluated
    assert parse_literal('1e-4') == 1e-4
    with pytest.raises(SystemExit):
        parser.parse_args(['--cfg-options', 'novalue'])


def test_dump_round_trip(tree, tmp_path):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    cfg.merge_from_dict({'weird': {'a-b': 1, 'x': float('inf')}, 'tup': (1,), 'n': None})
    out = tmp_path / 'dumped' / 'cfg.py'
    cfg.dump(str(out))
    again = Config.fromfile(str(out))
    assert again.to_dict() == cfg.to_dict()
    assert isinstance(again.tup, tuple)
    with pytest.raises(ValueError):
        cfg.dump(str(tmp_path / 'cfg.json'))


@pytest.fixture
def fresh_yapf_cache():
    from shmatting.config import _yapf_format

    _yapf_format.cache_clear()
    yield
    _yapf_format.cache_clear()


def test_pretty_text_is_formatted_and_survives_yapf_failure(tree, monkeypatch, fresh_yapf_cache):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    text = cfg.pretty_text
    assert 'model = dict(' in text
    import yapf.yapflib.yapf_api as api

    from shmatting.config import _yapf_format

    _yapf_format.cache_clear()

    def broken(*args, **kwargs):
        raise RuntimeError('yapf exploded')

    monkeypatch.setattr(api, 'FormatCode', broken)
    with pytest.warns(UserWarning, match='yapf could not format'):
        raw = cfg.pretty_text
    ns = {}
    exec(raw, ns)
    assert ns['model'] == cfg.model.to_dict()


def test_yapf_without_verify_keyword(tree, monkeypatch, fresh_yapf_cache):
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    import yapf.yapflib.yapf_api as api

    real = api.FormatCode

    def new_signature(text, style_config=None):  # yapf >= 0.40.2 has no `verify`
        return real(text, style_config=style_config)

    monkeypatch.setattr(api, 'FormatCode', new_signature)
    assert 'model = dict(' in cfg.pretty_text


def test_the_same_config_is_not_formatted_again_for_each_checkpoint(
    tree, tmp_path, monkeypatch, fresh_yapf_cache
):
    """yapf costs about 0.5 s per config: a run's log, dump and checkpoint metadata share one."""
    _, leaf = tree
    cfg = Config.fromfile(leaf)
    import yapf.yapflib.yapf_api as api

    calls = []
    real = api.FormatCode

    def counting(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(api, 'FormatCode', counting)
    texts = {cfg.pretty_text for _ in range(3)}
    cfg.dump(str(tmp_path / 'dumped.py'))
    # (a yapf without the ``verify`` keyword is called twice for one text)
    assert len(set(calls)) == 1 and len(calls) <= 2 and len(texts) == 1
    cfg.merge_from_dict({'model.changed': 1})
    assert 'changed=1' in cfg.pretty_text and len(set(calls)) == 2


def test_custom_imports(tmp_path, monkeypatch):
    pkg = tmp_path / 'my_plugins'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'toy.py').write_text(
        textwrap.dedent("""
        from shmatting.registry import HOOKS

        @HOOKS.register_module(force=True)
        class ToyHookFromPlugin:
            pass
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path, 'c.py', "custom_imports = dict(imports=['my_plugins.toy'])\n")
    Config.fromfile(path)
    from shmatting.registry import HOOKS

    assert 'ToyHookFromPlugin' in HOOKS
    bad = write(tmp_path, 'd.py', "custom_imports = dict(imports=['no_such_pkg_xyz'])\n")
    with pytest.raises(ImportError, match="cannot import 'no_such_pkg_xyz'"):
        Config.fromfile(bad)
    ok = write(
        tmp_path,
        'e.py',
        "custom_imports = dict(imports=['no_such_pkg_xyz'], allow_failed_imports=True)\n",
    )
    with pytest.warns(UserWarning):
        Config.fromfile(ok)


def test_config_item_and_attribute_access():
    cfg = Config(dict(a=dict(b=[dict(c=1)])))
    assert cfg['a']['b'][0]['c'] == 1 and cfg.a.b[0].c == 1
    cfg.x = dict(y=2)
    assert cfg.x.y == 2
    cfg['z'] = 3
    assert 'z' in cfg and len(cfg) == 3
    assert cfg.get('missing', 5) == 5
    with pytest.raises(KeyError, match='reserved'):
        Config(dict(filename='x'))
    copied = cfg.copy()
    copied.a.b[0].c = 9
    assert cfg.a.b[0].c == 1


def test_syntax_error_names_file(tmp_path):
    path = write(tmp_path, 'broken.py', 'x = (\n')
    with pytest.raises(SyntaxError, match='broken.py'):
        Config.fromfile(path)


def test_runtime_error_in_config_names_file(tmp_path):
    path = write(tmp_path, 'err.py', 'x = 1 / 0\n')
    with pytest.raises(ZeroDivisionError, match='err.py'):
        Config.fromfile(path)


def test_env_default_is_not_frozen_into_bases(tmp_path, monkeypatch):
    """A base referenced by env var is re-read on every load (no caching across loads)."""
    monkeypatch.setenv('SHM_TEST_LR', '0.1')
    path = write(tmp_path, 'lr.py', 'lr = {{$SHM_TEST_LR:0.5}}\n')
    assert Config.fromfile(path).lr == 0.1
    monkeypatch.setenv('SHM_TEST_LR', '0.2')
    assert Config.fromfile(path).lr == 0.2
    assert os.environ['SHM_TEST_LR'] == '0.2'
