"""What tools/test.py and tools/deploy/deploy_test.py print and write, in one place."""

import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional

from terminaltables import AsciiTable

from .evaluator import MetricResults

__all__ = ['format_metrics_table', 'report_lines', 'write_results_json', 'last_line']


def format_metrics_table(metrics: MetricResults) -> str:
    """A terminaltables summary: metric, value, rule, unit and region.

    Args:
        metrics (MetricResults): the results.

    Returns:
        str: the table.
    """
    rows = [['Metric', 'Value', 'Rule', 'Unit / region']]
    for key, value in metrics.items():
        rows.append([key, f'{value:.5f}', metrics.rules.get(key, ''), metrics.units.get(key, '')])
    return AsciiTable(rows).table


def report_lines(results: MetricResults, split: str, source: str) -> List[str]:
    """The header (coverage, protocol, convention, what was scored), each sample left out, the
    table.

    Args:
        results (MetricResults): the results.
        split (str): the split's name.
        source (str): the checkpoint or exported model scored.

    Returns:
        list[str]: the lines to print.
    """
    lines = [
        f'{split}: {results.coverage_line()}, protocol {results.protocol}, '
        f'{results.convention} convention, {source}'
    ]
    lines += [f'  left out: {f["name"]}: {f["error"]}' for f in results.failures]
    return lines + [format_metrics_table(results)]


def write_results_json(
    path: str,
    results: MetricResults,
    per_image: List[Dict[str, Any]],
    samples: Optional[list] = None,
    **info: Any,
) -> None:
    """Per-image values (each sample once, with its name) and the summary, written atomically.

    Args:
        path (str): the JSON file.
        results (MetricResults): the results.
        per_image (list[dict]): the evaluator's per-image records.
        samples (list, optional): the dataset's samples (to name the images).
        **info: more top-level entries (config, checkpoint, split...).
    """
    for record in per_image:
        if samples is not None:
            record['name'] = samples[record['index']]['rel']
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    data = dict(
        info,
        protocol=results.protocol,
        convention=results.convention,
        scored=results.num_scored,
        images=results.num_images,
        metrics=dict(results),
        per_image=per_image,
        failed=results.failures,
    )
    tmp = f'{path}.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def last_line(results: MetricResults) -> Optional[str]:
    """``ave_sad: X`` in the p3m convention (what the model zoo's scripts grep), ``ave_sad_dim:
    X`` in the dim convention (another quantity), None without SAD."""
    if 'SAD' not in results:
        return None
    key = 'ave_sad' if results.convention == 'p3m' else f'ave_sad_{results.convention}'
    return f'{key}: {results["SAD"]:.10f}'
