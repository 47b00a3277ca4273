"""Text and JSON-lines training logs."""
import json
import os.path as osp
import time

import numpy as np

from ...registry import HOOKS
from .hook import Hook

__all__ = ['LoggerHook']


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

    def __init__(self, interval=10):
        self.interval = max(1, int(interval))
        self._losses = []
        self._json = None

    def before_run(self, runner):
        if runner.rank == 0 and runner.work_dir:
            self._json = osp.join(runner.work_dir, f'{runner.timestamp}.log.json')
        self._start = time.perf_counter()
        self._start_iter = runner.iter
        self._window_start = time.perf_counter()
        self._data_time = 0.0

    def write_json(self, record):
        if self._json is not None:
            with open(self._json, 'a', encoding='utf-8') as f:
                f.write(json.dumps(record) + '\n')

    def after_iter(self, runner):
        self._losses.append(runner.outputs)
        self._data_time += runner.data_time
        if len(self._losses) < self.interval and runner.inner_iter + 1 != runner.iters_per_epoch:
            return
        losses = np.stack([np.asarray(x.asnumpy() if hasattr(x, 'asnumpy') else x)
                           for x in self._losses]).mean(0)
        n = len(self._losses)
        now = time.perf_counter()
        iter_time = (now - self._window_start) / n
        done = runner.iter - self._start_iter
        remaining = runner.max_iters - runner.iter
        eta = (now - self._start) / max(done, 1) * remaining
        record = dict(mode='train', epoch=runner.epoch + 1, iter=runner.iter,
                      lr=float(runner.current_lr()), loss=float(losses[0]))
        for name, value in zip(runner.loss_names, losses[1:]):
            record[name] = float(value)
        record.update(time=round(iter_time, 4), data_time=round(self._data_time / n, 4),
                      eta_s=round(eta, 1),
                      img_per_s=round(runner.samples_per_step * runner.world_size / iter_time, 2))
        terms = ', '.join(f'{k}: {record[k]:.5f}' for k in ['loss'] + list(runner.loss_names))
        runner.logger.info(
            f"Epoch [{record['epoch']}/{runner.max_epochs}][{runner.inner_iter + 1}/"
            f"{runner.iters_per_epoch}] lr: {record['lr']:.3e}, eta: {_fmt(eta)}, "
            f"time: {iter_time:.3f}, data_time: {record['data_time']:.3f}, "
            f"img/s: {record['img_per_s']:.1f}, {terms}")
        if runner.rank == 0:
            self.write_json(record)
        self._losses = []
        self._data_time = 0.0
        self._window_start = time.perf_counter()

    def after_val(self, runner, metrics):
        from terminaltables import AsciiTable
        rows = [['Metric', 'Value', 'Rule', 'Unit']]
        for key, value in metrics.items():
            rows.append([key, f'{value:.5f}', runner.metric_rules.get(key, ''),
                         runner.metric_units.get(key, '')])
        runner.logger.info(f'val epoch {runner.epoch + 1} ({runner.val_protocol}, '
                           f'{runner.metric_convention} convention):\n' + AsciiTable(rows).table)
        if runner.rank == 0:
            self.write_json(dict(mode='val', epoch=runner.epoch + 1, iter=runner.iter,
                                 protocol=runner.val_protocol, **metrics))


def _fmt(seconds):
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f'{h}:{m:02d}:{s:02d}'
