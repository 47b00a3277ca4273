"""The train step's compile cache: a graph is only ever loaded for the graph it was compiled as.

MindSpore's own cache (``MS_COMPILER_CACHE_ENABLE``) serves the N-th cached graph to the N-th
compile of a process whenever the entry script's imports are unchanged: another input shape,
another constant or another trainable set gets the old graph (checked in the probes below).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from shmatting.engine.compile_cache import cache_root, graph_key
from tests.helpers import ROOT, run_tool, tiny_config

PROBE = """
import sys
import numpy as np
import mindspore as ms
from mindspore import Tensor, nn
from shmatting.engine.compile_cache import cached_compile, graph_key

ms.set_device('CPU')
ms.set_context(mode=ms.GRAPH_MODE)

class Scaled(nn.Cell):
    def __init__(self, k):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, weight_init='ones', has_bias=False)
        self.k = Tensor(np.float32(k))

    def construct(self, x):
        return self.conv(x) * self.k

root, k, size = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
net, x = Scaled(k), Tensor(np.ones((1, 3, size, size), np.float32))
inputs = (x,) if size else ()
try:
    how = cached_compile(net, inputs, root, graph_key(net, inputs, 'probe'))
except TypeError:
    print('failed')
    sys.exit(0)
out = net(x).asnumpy()
print(how, out.shape[-1], float(out.mean()))
"""


def probe(root, k, size, script=True):
    """Run PROBE in a fresh process as a script, or imported under ``python -c`` (no entry
    script for MindSpore's cache to read)."""
    folder = os.path.dirname(root)
    with open(os.path.join(folder, 'cc_probe.py'), 'w') as f:
        f.write(PROBE)
    entry = [os.path.join(folder, 'cc_probe.py')] if script else ['-c', 'import cc_probe']
    res = subprocess.run(
        [sys.executable, *entry, str(root), str(k), str(size)],
        cwd=ROOT,
        env={**os.environ, 'PYTHONPATH': os.pathsep.join([ROOT, folder])},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    how, *rest = res.stdout.split()
    return (how, int(rest[0]), float(rest[1])) if rest else (how,)


def test_a_graph_is_never_served_for_another_shape_or_constant_and_is_served_for_itself(tmp_path):
    tmp_path = tmp_path / 'cache'
    first = probe(tmp_path, 2, 8)
    assert first[0] == 'stored' and first[1] == 8
    other_constant = probe(tmp_path, 3, 8)  # MindSpore's own cache returns k=2's graph here
    assert other_constant[0] == 'stored' and other_constant[2] == pytest.approx(first[2] * 1.5)
    other_shape = probe(tmp_path, 2, 16)  # ... and an 8x8 output here
    assert other_shape[0] == 'stored' and other_shape[1] == 16
    again = probe(tmp_path, 2, 8)
    assert again == ('hit', 8, first[2])
    assert len(os.listdir(tmp_path)) == 3 and not any('.tmp' in n for n in os.listdir(tmp_path))


def test_a_failed_compile_leaves_nothing_a_later_run_could_load(tmp_path):
    tmp_path = tmp_path / 'cache'
    assert probe(tmp_path, 2, 0) == ('failed',)  # the cell needs an input it was not given
    assert os.listdir(tmp_path) == []


def test_an_unwritable_cache_directory_compiles_uncached_instead_of_failing(tmp_path):
    (tmp_path / 'blocker').write_text('a file where the cache directory should be')
    assert probe(tmp_path / 'blocker', 2, 8) == ('unwritable', 8, 45.375)


def test_without_an_entry_script_the_step_compiles_uncached_instead_of_failing(tmp_path):
    assert probe(tmp_path / 'cache', 2, 8, script=False) == ('no-script', 8, 45.375)


def key_of(net, x, text='cfg'):
    return graph_key(net, (x,), text)


def test_the_key_follows_what_shapes_the_graph_and_ignores_parameter_values(monkeypatch):
    import mindspore as ms
    from mindspore import Tensor, nn

    net = nn.SequentialCell([nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)])
    x = Tensor(np.ones((1, 3, 8, 8), np.float32))
    base = key_of(net, x)
    assert key_of(net, x) == base
    net[0].weight.set_data(Tensor(np.zeros((4, 3, 3, 3), np.float32)))
    assert key_of(net, x) == base  # values are read at run time, not compiled in
    assert key_of(net, Tensor(np.ones((2, 3, 8, 8), np.float32))) != base
    assert key_of(net, x.astype(ms.float16)) != base
    assert key_of(net, x, 'cfg2') != base
    net[1].gamma.requires_grad = False  # another phase: another trainable set
    assert key_of(net, x) != base
    net[1].gamma.requires_grad = True
    net.set_train(True)
    assert key_of(net, x) != base
    net.set_train(False)
    momentum = net[1].momentum
    net[1].momentum = 0.5
    assert key_of(net, x) != base
    net[1].momentum = momentum
    assert key_of(net, x) == base
    monkeypatch.setenv('SHMATTING_CPU_KERNELS', '0')
    assert key_of(net, x) != base


@pytest.mark.parametrize('setting', [3, '', ['dir']])
def test_a_malformed_compile_cache_setting_is_refused(setting):
    with pytest.raises(ValueError, match='context.compile_cache must be True, False or a dir'):
        cache_root(setting)


def test_the_default_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    assert cache_root(False) is None and cache_root(None) is None
    monkeypatch.setenv('SHMATTING_COMPILE_CACHE', str(tmp_path))
    assert cache_root(True) == str(tmp_path)
    assert cache_root('~/x') == os.path.expanduser('~/x')


def train_log(work_dir):
    (name,) = [f for f in os.listdir(work_dir) if f.endswith('.log.json')]
    records = [json.loads(line) for line in open(os.path.join(work_dir, name))]
    return [r['loss'] for r in records if r['mode'] == 'train']


def train(cfg, work_dir, cache):
    res = run_tool(
        'tools/train.py', cfg, '--work-dir', str(work_dir),
        '--cfg-options', f'context.compile_cache={cache}',
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout + res.stderr


def test_a_rerun_loads_its_train_step_and_another_phase_never_gets_it(tiny_data, tmp_path):
    extra = 'default_hooks = dict(eval=None)\n'
    e2e = tiny_config(tmp_path / 'e2e.py', tiny_data, 'e2e', 'GRAPH', epochs=1, extra=extra)
    tnet = tiny_config(tmp_path / 'tnet.py', tiny_data, 'tnet', 'GRAPH', epochs=1, extra=extra)
    cache = tmp_path / 'cache'
    assert 'train step compiled and cached in' in train(e2e, tmp_path / 'a', cache)
    assert 'train step loaded from the compile cache' in train(e2e, tmp_path / 'b', cache)
    assert train_log(tmp_path / 'b') == train_log(tmp_path / 'a')  # the same graph, bit for bit
    # the quick start's failure with MindSpore's cache: the next phase got this phase's graph
    assert 'train step compiled and cached in' in train(tnet, tmp_path / 'c', cache)
    assert len(os.listdir(cache)) == 2
