"""Habits that keep the code readable: short functions, typed constructors of registered parts,
the linter configured for CI."""

import ast
import glob
import inspect
import os

import pytest

from tests.helpers import ROOT

MAX_FUNCTION_LINES = 60


def python_files(*folders):
    return sorted(
        p for f in folders for p in glob.glob(os.path.join(ROOT, f, '**', '*.py'), recursive=True)
    )


def long_functions(path):
    tree = ast.parse(open(path, encoding='utf-8').read())
    return [
        f'{node.name} ({node.end_lineno - node.lineno + 1} lines)'
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


@pytest.mark.parametrize(
    'path',
    python_files('shmatting', 'tools', 'benchmarks'),
    ids=lambda p: os.path.relpath(p, ROOT),
)
def test_no_function_grows_past_sixty_lines(path):
    assert not long_functions(path), f'{path}: split into named steps: {long_functions(path)}'


def registered_parts():
    import shmatting.datasets  # noqa: F401  (registration)
    import shmatting.engine  # noqa: F401
    import shmatting.evaluation  # noqa: F401
    import shmatting.models  # noqa: F401
    from shmatting.registry import ALL_REGISTRIES

    for reg_name, registry in ALL_REGISTRIES.items():
        for name, obj in sorted(registry.module_dict.items()):
            if getattr(obj, '__module__', '').startswith('shmatting.'):
                yield f'{reg_name}.{name}', obj


def untyped_arguments(obj):
    fn = obj.__init__ if inspect.isclass(obj) else obj
    return [
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.name != 'self'
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and p.annotation is inspect.Parameter.empty
    ]


def test_constructors_of_registered_parts_are_typed():
    missing = {name: untyped_arguments(obj) for name, obj in registered_parts()}
    missing = {k: v for k, v in missing.items() if v}
    assert not missing, f'constructor arguments without type hints: {missing}'


def test_the_linter_is_configured_and_run_by_ci():
    ruff = open(os.path.join(ROOT, 'ruff.toml'), encoding='utf-8').read()
    assert 'line-length = 100' in ruff and '"I"' in ruff
    ci = open(os.path.join(ROOT, '.ci', 'run'), encoding='utf-8').read()
    assert 'ruff check' in ci and 'ruff format --check' in ci
    assert os.path.isfile(os.path.join(ROOT, '.pre-commit-config.yaml'))
