"""A small mutation check: do the tests fail when one line of a module is broken?

Usage: python tools/misc/mutation_check.py [--modules NAME ...] [--per-module 6] [--seed 0]
           [--timeout 300] [--list]

For each module where a silent break costs most (metrics, protocol, transforms, the checkpoint
hook, resume, the converters), it picks mutants at random (seeded): a comparison turned (``<`` to
``<=``, ``==`` to ``!=``), an arithmetic operator swapped (``+``/``-``, ``*``/``/``), a number
changed, ``and``/``or`` swapped, a ``not`` dropped, a reversing slice un-reversed. Each mutant is
written into a scratch copy of the project and that module's tests run there (``pytest -x``); a
mutant the tests do not kill is listed with its line. The share of survivors is printed at the
end. Not part of CI (each mutant costs a test run); run it before stopping work on these modules
(docs/contributing.md).
"""

import argparse
import ast
import copy
import os
import os.path as osp
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# module -> the tests that must catch its mutants
TARGETS = {
    'shmatting/evaluation/functional.py': ['tests/test_evaluation/test_metrics.py'],
    'shmatting/evaluation/metrics.py': ['tests/test_evaluation/test_metrics.py'],
    'shmatting/evaluation/protocol.py': [
        'tests/test_evaluation/test_protocol.py',
        'tests/test_models/test_mattors/test_shm.py',
    ],
    'shmatting/evaluation/evaluator.py': [
        'tests/test_evaluation',
        'tests/test_tools/test_test_py.py',
    ],
    'shmatting/datasets/transforms/geometric.py': ['tests/test_datasets/test_transforms'],
    'shmatting/datasets/transforms/formatting.py': [
        'tests/test_datasets/test_transforms',
        'tests/test_datasets/test_image_io.py',
    ],
    'shmatting/engine/hooks/checkpoint_hook.py': [
        'tests/test_engine/test_checkpoint.py',
        'tests/test_engine/test_checkpoint_files.py',
        'tests/test_engine/test_runner_phases.py::test_phase_trains_and_keeps_the_best_epoch_of_its_log',
    ],
    'shmatting/engine/resume.py': [
        'tests/test_engine/test_resume_plan.py',
        'tests/test_engine/test_resume.py',
    ],
    'shmatting/models/converters.py': ['tests/test_models/test_converters.py'],
    'tools/dataset_converters/human_matting.py': [
        'tests/test_datasets/test_human_matting_converter.py'
    ],
}
SWAPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


def parse_args(argv=None):
    from shmatting.utils.cli import positive_int

    parser = argparse.ArgumentParser(description='one-line mutants against the tests')
    parser.add_argument('--modules', nargs='+', default=list(TARGETS), metavar='PATH')
    parser.add_argument(
        '--per-module', type=positive_int, default=6, help='mutants drawn per module'
    )
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--timeout', type=positive_int, default=300, help='seconds per test run')
    parser.add_argument('--list', action='store_true', help='list the mutation sites and stop')
    return parser.parse_args(argv)


def _docstring_ids(tree):
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            ids.add(id(body[0].value))
    return ids


def _in_message(node, parents):
    """Inside a raise, a log call or an f-string: changing it changes a message, not behaviour."""
    for parent in parents:
        if isinstance(parent, (ast.Raise, ast.JoinedStr, ast.Assert)):
            return True
        if (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Attribute)
            and parent.func.attr in ('info', 'warning', 'error', 'debug', 'warn')
        ):
            return True
    return False


def mutation_sites(tree):
    """``(path to the node, description, line)`` for every mutable spot of a module."""
    skip, sites = _docstring_ids(tree), []

    def visit(node, parents, path):
        for field, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for i, child in enumerate(children):
                if isinstance(child, ast.AST):
                    child_path = path + [(field, i if isinstance(value, list) else None)]
                    describe(child, parents + [node], child_path)
                    visit(child, parents + [node], child_path)

    def describe(node, parents, path):
        if _in_message(node, parents):
            return
        line = getattr(node, 'lineno', None)
        if isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            sites.append(
                (path, f'{type(node.ops[0]).__name__} -> {SWAPS[type(node.ops[0])].__name__}', line)
            )
        elif isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
            sites.append(
                (path, f'{type(node.op).__name__} -> {SWAPS[type(node.op)].__name__}', line)
            )
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append((path, 'not dropped', line))
        elif (
            isinstance(node, ast.Constant)
            and id(node) not in skip
            and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)
        ):
            sites.append((path, f'{node.value!r} -> {_changed(node.value)!r}', line))
        elif (
            isinstance(node, ast.Slice)
            and isinstance(node.step, ast.UnaryOp)
            and isinstance(node.step.op, ast.USub)
        ):
            sites.append((path, 'reversing slice un-reversed', line))

    visit(tree, [], [])
    return sites


def _changed(value):
    if isinstance(value, int):
        return value + 1
    return value * 1.5 if value else 0.5


def _node_at(tree, path):
    node = tree
    for field, index in path:
        node = getattr(node, field) if index is None else getattr(node, field)[index]
    return node


def mutate(tree, path):
    """A copy of ``tree`` with the node at ``path`` mutated."""
    tree = copy.deepcopy(tree)
    node = _node_at(tree, path)
    if isinstance(node, ast.Compare):
        node.ops[0] = SWAPS[type(node.ops[0])]()
    elif isinstance(node, (ast.BinOp, ast.BoolOp)):
        node.op = SWAPS[type(node.op)]()
    elif isinstance(node, ast.UnaryOp):
        parent_field, index = path[-1]
        parent = _node_at(tree, path[:-1])
        if index is None:
            setattr(parent, parent_field, node.operand)
        else:
            getattr(parent, parent_field)[index] = node.operand
    elif isinstance(node, ast.Constant):
        node.value = _changed(node.value)
    elif isinstance(node, ast.Slice):
        node.step = None
    return ast.unparse(tree)


def scratch_copy():
    """A copy of the project to mutate (the working tree is never touched)."""
    root = tempfile.mkdtemp(prefix='shm_mutation_')
    for name in ('shmatting', 'tools', 'tests', 'configs', 'examples', 'setup.cfg'):
        src = osp.join(ROOT, name)
        dst = osp.join(root, name)
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(src, dst)
    return root


def run_tests(root, tests, timeout):
    env = {**os.environ, 'PYTHONPATH': root, 'MS_COMPILER_CACHE_ENABLE': '0'}
    cmd = [sys.executable, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', *tests]
    try:
        res = subprocess.run(
            cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return 'killed (timeout)'
    return 'survived' if res.returncode == 0 else 'killed'


def check_module(root, module, args, rng):
    path = osp.join(root, module)
    original = open(path, encoding='utf-8').read()
    tree = ast.parse(original)
    sites = mutation_sites(tree)
    picked = rng.sample(sites, min(args.per_module, len(sites)))
    if run_tests(root, TARGETS[module], args.timeout) != 'survived':  # the unmutated code
        raise RuntimeError(f'the tests of {module} fail without any mutant: {TARGETS[module]}')
    results = []
    try:
        for site_path, what, line in picked:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(mutate(tree, site_path))
            start = time.perf_counter()
            verdict = run_tests(root, TARGETS[module], args.timeout)
            results.append((module, line, what, verdict))
            print(
                f'{module}:{line}: {what}: {verdict} ({time.perf_counter() - start:.0f}s)',
                flush=True,
            )
    finally:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(original)
    return results, len(sites)


def main(argv=None):
    args = parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        raise KeyError(f'no tests known for {unknown}; modules: {", ".join(TARGETS)}')
    if args.list:
        for module in args.modules:
            tree = ast.parse(open(osp.join(ROOT, module), encoding='utf-8').read())
            for _, what, line in mutation_sites(tree):
                print(f'{module}:{line}: {what}')
        return
    rng = random.Random(args.seed)
    root = scratch_copy()
    results = []
    try:
        for module in args.modules:
            module_results, total = check_module(root, module, args, rng)
            results += module_results
            print(f'  {module}: {len(module_results)} of {total} sites tried', flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    survivors = [r for r in results if r[3] == 'survived']
    print(
        f'\n{len(results)} mutants, {len(results) - len(survivors)} killed, {len(survivors)} '
        f'survived ({100 * len(survivors) / max(len(results), 1):.0f}%)'
    )
    for module, line, what, _ in survivors:
        print(f'  survived: {module}:{line}: {what}')


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    from shmatting.utils.cli import run_cli

    run_cli(main)
