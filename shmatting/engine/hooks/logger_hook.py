"""Text and JSON-lines training logs."""

import json
import os.path as osp
import time
from typing import Any, Dict

import numpy as np

from ...evaluation.report import format_metrics_table
from ...registry import HOOKS
from .hook import Hook

__all__ = ['LoggerHook']


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f'{h}:{m:02d}:{s:02d}'


@HOOKS.register_module()
class LoggerHook(Hook):
    """Log loss terms, lr, time per iteration, data time, ETA and images/s every ``interval`` steps.

    Loss tensors are kept on the device and read once per interval (one host sync per interval).
    Rank 0 writes ``<work_dir>/<timestamp>.log.json``: one JSON record per line with ``mode``
    (``train``/``val``), ``epoch``, ``iter`` and plain keys (``loss``, ``SAD``...). After each
    evaluation a terminaltables summary is logged.

    Args:
        interval (int): steps between log lines.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 10):
        self.interval = max(1, int(interval))
        self._losses, self._json = [], None
        self._data_time, self._images = 0.0, 0

    def before_run(self, runner: Any) -> None:
        if runner.rank == 0 and runner.work_dir:
            self._json = osp.join(runner.work_dir, f'{runner.timestamp}.log.json')
        self._start = self._window_start = self._iter_end = time.perf_counter()
        self._start_iter = runner.iter

    def before_train_epoch(self, runner: Any) -> None:
        self._iter_end = time.perf_counter()

    def write_json(self, record: Dict[str, Any]) -> None:
        """Append one record to the JSON-lines log (rank 0)."""
        if self._json is not None:
            with open(self._json, 'a', encoding='utf-8') as f:
                f.write(json.dumps(record) + '\n')

    def before_train_iter(self, runner: Any, batch_idx: int, data_batch: Dict[str, Any]) -> None:
        self._data_time += time.perf_counter() - self._iter_end

    def after_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Dict[str, Any], outputs: Dict[str, Any]
    ) -> None:
        self._losses.append(outputs['losses'])
        self._images += len(data_batch['img'])
        self._iter_end = time.perf_counter()
        if len(self._losses) < self.interval and batch_idx + 1 != runner.iters_per_epoch:
            return
        losses = np.stack(
            [np.asarray(x.asnumpy() if hasattr(x, 'asnumpy') else x) for x in self._losses]
        ).mean(0)
        n, now = len(self._losses), time.perf_counter()
        iter_time = (now - self._window_start) / n
        done = runner.iter - self._start_iter
        eta = (now - self._start) / max(done, 1) * (runner.max_iters - runner.iter)
        record = dict(
            mode='train', epoch=runner.epoch + 1, iter=runner.iter, lr=float(runner.current_lr())
        )
        record.update(zip(outputs['loss_names'], (float(v) for v in losses)))
        record.update(
            time=round(iter_time, 4),
            data_time=round(self._data_time / n, 4),
            eta_s=round(eta, 1),
            img_per_s=round(self._images * runner.world_size / (now - self._window_start), 2),
        )
        if 'loss_scale' in outputs:
            record['loss_scale'] = float(np.asarray(outputs['loss_scale'].asnumpy()).reshape(-1)[0])
        terms = ', '.join(f'{k}: {record[k]:.5f}' for k in outputs['loss_names'])
        runner.logger.info(
            f'Epoch [{record["epoch"]}/{runner.max_epochs}][{batch_idx + 1}/'
            f'{runner.iters_per_epoch}] lr: {record["lr"]:.3e}, eta: {_fmt(eta)}, '
            f'time: {iter_time:.3f}, data_time: {record["data_time"]:.3f}, '
            f'img/s: {record["img_per_s"]:.1f}, {terms}'
        )
        if runner.rank == 0:
            self.write_json(record)
        self._losses, self._data_time, self._images = [], 0.0, 0
        self._window_start = time.perf_counter()

    def after_val_epoch(self, runner: Any, metrics: Dict[str, float]) -> None:
        runner.logger.info(
            f'val epoch {runner.epoch + 1} ({metrics.protocol}, '
            f'{metrics.convention} convention, {metrics.coverage_line()}):\n'
            + format_metrics_table(metrics)
        )
        if runner.rank == 0:
            self.write_json(
                dict(
                    mode='val',
                    epoch=runner.epoch + 1,
                    iter=runner.iter,
                    protocol=metrics.protocol,
                    convention=metrics.convention,
                    scored=metrics.num_scored,
                    images=metrics.num_images,
                    **metrics,
                )
            )
