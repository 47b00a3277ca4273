import copy
import os
import subprocess
import sys
import textwrap

import pytest

from shmatting.registry import ALL_REGISTRIES, Registry, RegistryKeyError, build_from_cfg


def make_registry():
    reg = Registry('TOYS')

    @reg.register_module()
    class Car:
        def __init__(self, wheels=4, parts=None):
            self.wheels = wheels
            self.parts = parts

    @reg.register_module(name='Bicycle')
    class TwoWheeler:
        def __init__(self, wheels=2):
            if wheels != 2:
                raise ValueError('a bicycle has two wheels')
            self.wheels = wheels

    return reg, Car, TwoWheeler


def test_register_decorator_and_call():
    reg, car, bike = make_registry()
    assert reg.get('Car') is car
    assert reg.get('Bicycle') is bike
    assert 'Car' in reg and 'TwoWheeler' not in reg
    assert len(reg) == 2

    class Boat:
        pass

    assert reg.register_module(module=Boat) is Boat
    reg.register_module(name=['Ship', 'Vessel'], module=Boat)
    assert reg.get('Ship') is Boat and reg.get('Vessel') is Boat

    @reg.register_module  # without parentheses
    class Plane:
        pass

    assert reg.get('Plane') is Plane


def test_duplicate_names_raise_unless_forced():
    reg, car, _ = make_registry()

    class Other:
        pass

    with pytest.raises(KeyError, match="'Car' is already registered in TOYS"):
        reg.register_module(name='Car', module=Other)
    reg.register_module(name='Car', force=True, module=Other)
    assert reg.get('Car') is Other
    with pytest.raises(TypeError):
        reg.register_module(force=1)
    with pytest.raises(TypeError):
        reg.register_module(module=3)


def test_miss_lists_close_matches_and_custom_imports_hint():
    reg, _, _ = make_registry()
    with pytest.raises(KeyError) as info:
        reg.build(dict(type='Cart'))
    msg = str(info.value)
    assert isinstance(info.value, RegistryKeyError)
    assert "'Cart' is not in the TOYS registry" in msg
    assert 'Did you mean: Car' in msg
    assert 'custom_imports' in msg
    assert reg.get('Cart', None) is None


def test_build_does_not_mutate_cfg_and_applies_default_args():
    reg, car, _ = make_registry()
    cfg = dict(type='Car', parts=dict(engine=dict(size=2)))
    frozen = copy.deepcopy(cfg)
    obj = reg.build(cfg, default_args=dict(wheels=6))
    assert isinstance(obj, car) and obj.wheels == 6
    assert cfg == frozen
    obj.parts['engine']['size'] = 3
    assert cfg == frozen
    assert reg.build(dict(type='Car', wheels=3), default_args=dict(wheels=6)).wheels == 3
    assert isinstance(reg.build(dict(type=car)), car)


def test_constructor_errors_are_prefixed():
    reg, _, _ = make_registry()
    with pytest.raises(ValueError, match=r'^TOYS\.Bicycle: a bicycle has two wheels'):
        reg.build(dict(type='Bicycle', wheels=3))
    with pytest.raises(TypeError, match=r'TOYS\.Car: .*unexpected keyword'):
        reg.build(dict(type='Car', wings=2))


def test_bad_cfg():
    reg, _, _ = make_registry()
    with pytest.raises(TypeError, match='must contain the key "type"'):
        reg.build(dict(wheels=2))
    with pytest.raises(TypeError, match='cfg must be a dict'):
        build_from_cfg('Car', reg)


def test_dotted_path_fallback():
    reg = Registry('MISC')
    assert reg.get('collections.OrderedDict').__name__ == 'OrderedDict'


def test_repr_is_a_table():
    reg, _, _ = make_registry()
    text = repr(reg)
    assert 'Registry TOYS (2 entries)' in text
    assert '| Car' in text and '| Bicycle' in text


def test_all_category_registries_exist():
    for name in (
        'MODELS',
        'BACKBONES',
        'HEADS',
        'LOSSES',
        'DATASETS',
        'TRANSFORMS',
        'HOOKS',
        'METRICS',
        'OPTIMIZERS',
        'LR_SCHEDULERS',
    ):
        assert name in ALL_REGISTRIES
        assert ALL_REGISTRIES[name].name == name


def test_lazy_registration_of_builtins(tmp_path, repo_root):
    """In a fresh interpreter, a lookup imports the package's own modules by itself."""
    pkg = tmp_path / 'lazy_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'parts.py').write_text(
        textwrap.dedent("""
        from shmatting.registry import Registry
        from lazy_pkg.reg import REG

        @REG.register_module()
        class Widget:
            pass
    """)
    )
    (pkg / 'reg.py').write_text(
        textwrap.dedent("""
        from shmatting.registry import Registry
        REG = Registry('WIDGETS', locations=['lazy_pkg.parts'])
    """)
    )
    code = textwrap.dedent("""
        import sys
        from lazy_pkg.reg import REG
        assert 'lazy_pkg.parts' not in sys.modules
        print(REG.build(dict(type='Widget')).__class__.__name__)
    """)
    out = subprocess.run(
        [sys.executable, '-c', code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, 'PYTHONPATH': os.pathsep.join([str(tmp_path), repo_root])},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'Widget'
