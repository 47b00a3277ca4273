"""Two settings of environment variables compared in fresh processes of ``benchmark.py``.

Usage:
    python benchmarks/env_ab.py A B [--rounds 4] -- BENCHMARK_ARGS...

``A`` and ``B`` are comma lists of ``NAME=VALUE`` (``NAME=`` unsets NAME; ``-`` is the environment
as it is), e.g. ``SHMATTING_KERNEL_SPIN_US=0 -``. Each round runs the benchmark once with each, in
the order A, B, B, A, ... (the drift of a shared host falls on both equally), and prints the
figure ``tools/analysis/benchmark.py`` reports (``ms/image`` for ``--infer``, ``s/step`` for
``--train``); then the medians. Settings read once per process (the kernels' thread pool, their
instruction sets) need this rather than an alternation within one process.
"""

import argparse
import os
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from shmatting.utils.cli import positive_int  # noqa: E402

FIGURE = re.compile(r'([0-9.]+) (ms/image|s/step)')


def parse_setting(text: str) -> dict:
    """``NAME=VALUE,...`` (or ``-``) as a dict; an empty value means unset (None).

    Args:
        text (str): the setting as given on the command line.

    Returns:
        dict: variable name -> value, or None to unset it.
    """
    if text == '-':
        return {}
    setting = {}
    for item in text.split(','):
        name, sep, value = item.partition('=')
        if not sep or not name:
            raise argparse.ArgumentTypeError(f'expected NAME=VALUE, got {item!r}')
        setting[name] = value or None
    return setting


def parse_args(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    own, bench = (
        (argv[: argv.index('--')], argv[argv.index('--') + 1 :]) if '--' in argv else (argv, [])
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('a', type=parse_setting, metavar='A')
    parser.add_argument('b', type=parse_setting, metavar='B')
    parser.add_argument('--rounds', type=positive_int, default=4)
    args = parser.parse_args(own)
    if not bench:
        parser.error('give the benchmark.py arguments after --, e.g. -- --infer CONFIG')
    args.bench = bench
    return args


def run_once(setting: dict, bench: list) -> float:
    """The figure one fresh ``benchmark.py`` process reports under ``setting``.

    Args:
        setting (dict): variables to set (None: unset) over this process's environment.
        bench (list): ``benchmark.py`` arguments.

    Returns:
        float: milliseconds per image or seconds per step, as the benchmark printed it.
    """
    env = dict(os.environ)
    for name, value in setting.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'analysis', 'benchmark.py'), *bench]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    found = FIGURE.findall(res.stdout)
    if res.returncode != 0 or not found:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:]
        sys.exit(f'error: {" ".join(cmd)} failed: {tail[0] if tail else "no output"}')
    return float(found[0][0])


def alternate(run, rounds: int) -> dict:
    """``run('A')`` and ``run('B')`` once per round, A first in even rounds, B first in odd ones.

    Args:
        run (Callable[[str], float]): one measurement of a setting.
        rounds (int): rounds.

    Returns:
        dict: ``'A'`` and ``'B'`` -> their figures, one per round.
    """
    times = {'A': [], 'B': []}
    for r in range(rounds):
        for key in ('A', 'B') if r % 2 == 0 else ('B', 'A'):
            times[key].append(run(key))
        print(f'round {r + 1}: A {times["A"][-1]:g}  B {times["B"][-1]:g}', flush=True)
    return times


def main(argv=None):
    args = parse_args(argv)
    settings = {'A': args.a, 'B': args.b}
    times = alternate(lambda key: run_once(settings[key], args.bench), args.rounds)
    med_a, med_b = (float(np.median(times[k])) for k in ('A', 'B'))
    print(f'median: A {med_a:g}  B {med_b:g}  (B / A = {med_b / med_a:.3f})')


if __name__ == '__main__':
    main()
