"""The documentation is code: every command block marked ``<!-- runnable -->`` in README.md,
docs/ and configs/ runs as written, in document order, in a scratch copy of the project whose
data the docs' own commands make."""

import glob
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT

MARKER = '<!-- runnable -->'
BLOCK = re.compile(re.escape(MARKER) + r'\s*\n```(?:bash|sh)\n(.*?)\n```', re.S)
DOCS = sorted(
    [os.path.join(ROOT, 'README.md')]
    + glob.glob(os.path.join(ROOT, 'docs', '*.md'))
    + glob.glob(os.path.join(ROOT, 'configs', '**', '*.md'), recursive=True)
)


def runnable_blocks(path):
    return BLOCK.findall(open(path, encoding='utf-8').read())


@pytest.fixture
def workspace(tmp_path):
    """A scratch project: the repository's code and configs; the data the docs make themselves
    (``data/synthetic_prepared``), with the AISegment and zoo layouts' folders pointing at it so
    that commands of the full-size recipes run as written on it."""
    for name in ('configs', 'tools', 'shmatting', 'examples', 'setup.py', 'requirements'):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    (tmp_path / 'data').mkdir()
    for name in ('human_matting', 'human_matting_zoo'):
        os.symlink('synthetic_prepared', tmp_path / 'data' / name)
    return tmp_path


def run_block(block, cwd, timeout=600):
    bin_dir = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        'PATH': f'{bin_dir}:{os.environ["PATH"]}',
        'PYTHON': sys.executable,
        'MS_COMPILER_CACHE_ENABLE': '0',
    }
    for key in ('SHM_DATA', 'SHM_SYNTH_DATA', 'SHM_ZOO_DATA'):
        env.pop(key, None)
    return subprocess.run(
        ['bash', '-euo', 'pipefail', '-c', block],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_some_blocks_are_marked_runnable():
    assert sum(len(runnable_blocks(p)) for p in DOCS) >= 8


@pytest.mark.timeout(1200)
def test_runnable_commands_run_as_written(workspace):
    """One test, the documents in order: later pages may use what earlier ones made (README's
    data), and the blocks of one scratch project must not be split across test workers."""
    for doc in DOCS:
        for block in runnable_blocks(doc):
            res = run_block(block, workspace)
            assert res.returncode == 0, (
                f'{os.path.relpath(doc, ROOT)}: this block failed:\n{block}\n--- stdout\n'
                f'{res.stdout[-1500:]}\n--- stderr\n{res.stderr[-2500:]}'
            )
