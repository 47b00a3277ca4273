"""The README's main job, reduced (a dozen small images, one epoch per phase): every stage runs and
the result table is printed."""

import pytest

from tests.helpers import run_tool

STAGES = (
    'synthetic data',
    'prepare',
    'test untrained',
    'train T-Net',
    'train end-to-end',
    'test trained',
    'export MINDIR',
    'deploy flow',
)


@pytest.mark.timeout(600)
def test_quick_start_runs_every_stage_and_prints_the_table(tmp_path):
    res = run_tool(
        'tools/quick_start.py',
        '--work-root',
        str(tmp_path / 'qs'),
        '--num',
        '12',
        '--size',
        '120',
        '160',
        '--epochs',
        '1',
        '1',
        '--deploy-images',
        '2',
        '--cfg-options',
        'data.samples_per_device=2',
        'context.mode=PYNATIVE',
        timeout=580,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    out = res.stdout
    for stage in STAGES:
        assert f'--- {stage}: ' in out, stage
        assert f'| {stage} ' in out, stage  # the timing table's row
    assert 'Quick start result' in out
    for metric in ('SAD', 'MSE', 'MAD', 'Grad', 'Conn'):
        assert f'| {metric} ' in out
    assert 'Total images: 2, total sad: ' in out  # the offline flow scored both images
    assert 'trained SAD is ' in out and (tmp_path / 'qs' / 'e2e' / 'best_SAD.ckpt').exists()
