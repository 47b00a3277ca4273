"""Run a model over a batch-1 loader and compute metrics, all-reduced over ranks.

A sample that cannot be read (missing, empty, truncated or corrupt file, maps of different sizes,
non-finite values) is never replaced by another one here: it is reported by name, left out of
every metric, and counted, so a report says "N of M images scored".
"""

import logging
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np

from ..registry import METRICS
from .metrics import BaseMetric
from .protocol import predict_image, protocol_name

__all__ = ['Evaluator', 'MetricResults', 'build_metrics', 'metric_rule']

logger = logging.getLogger('shmatting')


def build_metrics(cfgs: Iterable[Any], convention: Optional[str] = None) -> List[BaseMetric]:
    """Build metrics from configs, registered names (``'SAD'``, ``'Grad'``, ``'mIoU'``...) or
    instances.

    Args:
        cfgs (Iterable): METRICS configs, names or :class:`BaseMetric` instances.
        convention (str, optional): ``'p3m'`` or ``'dim'`` for the metrics built here that do not
            set their own.

    Returns:
        list[BaseMetric]: the metrics (their keys must differ).
    """
    metrics = []
    for cfg in cfgs:
        if isinstance(cfg, BaseMetric):
            metrics.append(cfg)
            continue
        cfg = dict(type=cfg) if isinstance(cfg, str) else dict(cfg)
        if convention is not None:
            cfg.setdefault('convention', convention)
        metrics.append(METRICS.build(cfg))
    keys = [m.key for m in metrics]
    if len(set(keys)) != len(keys):
        raise ValueError(f'duplicate metric keys {keys}')
    return metrics


def metric_rule(key: str) -> str:
    """``'less'`` or ``'greater'`` is better for a metric key or registered name.

    Args:
        key (str): e.g. ``'SAD'``, ``'mIoU'``, ``'GradientError'``.

    Returns:
        str: the rule.
    """
    return METRICS.get(key).rule


class MetricResults(dict):
    """The results of one evaluation: a dict ``key -> float`` plus what they mean.

    Attributes:
        rules (dict): key -> ``'less'`` / ``'greater'`` is better.
        units (dict): key -> unit and region, for reports.
        protocol (str): the test protocol, e.g. ``'pad, clamp'``.
        convention (str): ``'p3m'`` or ``'dim'``.
        num_scored (int): images that entered the metrics (all ranks).
        num_images (int): images of the split (all ranks).
        failures (list[dict]): this rank's samples left out, with ``index``, ``name``, ``error``.
    """

    def __init__(
        self,
        values: Dict[str, float],
        rules: Dict[str, str],
        units: Dict[str, str],
        protocol: str,
        convention: str,
        num_scored: int,
        num_images: int,
        failures: Optional[List[dict]] = None,
    ):
        super().__init__(values)
        self.rules, self.units = dict(rules), dict(units)
        self.protocol, self.convention = protocol, convention
        self.num_scored, self.num_images = int(num_scored), int(num_images)
        self.failures = list(failures or [])

    @property
    def complete(self) -> bool:
        """bool: every image of the split was scored."""
        return self.num_scored == self.num_images

    def coverage_line(self) -> str:
        """str: ``'N of M images scored'`` plus how many were left out."""
        left = self.num_images - self.num_scored
        return f'{self.num_scored} of {self.num_images} images scored' + (
            f' ({left} unreadable, left out)' if left else ''
        )


class Evaluator:
    """Evaluate with the test protocol of ``test_cfg``; every rank gets the same numbers.

    Args:
        metrics (list): METRICS configs, names or instances.
        test_cfg (dict): the model's test protocol (see :mod:`shmatting.evaluation.protocol`).
        use_gt_trimap (bool): feed the one-hot ground-truth trimap (M-Net phase).
        convention (str, optional): default convention of the metrics given by name.
    """

    def __init__(
        self,
        metrics: Iterable[Any],
        test_cfg: Optional[dict] = None,
        use_gt_trimap: bool = False,
        convention: Optional[str] = None,
    ):
        self.metrics = build_metrics(metrics, convention)
        self.test_cfg = dict(test_cfg or {})
        self.use_gt_trimap = use_gt_trimap
        self.protocol = protocol_name(self.test_cfg)

    @property
    def rules(self) -> Dict[str, str]:
        """dict: metric key -> ``'less'`` / ``'greater'``."""
        return {m.key: m.rule for m in self.metrics}

    @property
    def convention(self) -> str:
        """str: the convention of the first metric (all share one in the stock configs)."""
        return self.metrics[0].convention

    def _score(self, model: Any, batch: dict) -> dict:
        img = batch['img'][0]
        onehot = None
        gt_trimap = batch['trimap'][0] if 'trimap' in batch else None
        if self.use_gt_trimap:
            onehot = np.eye(3, dtype=np.float32)[batch['trimap'][0, 0]].transpose(2, 0, 1)
        alpha, classes = predict_image(model, img, self.test_cfg, onehot)
        record = {'index': int(batch['index'][0])}
        for m in self.metrics:
            if 'trimap' in m.needs:
                record[m.key] = m.process(pred_trimap=classes, gt_trimap=gt_trimap)
            else:
                record[m.key] = m.process(alpha, batch['alpha'][0, 0], gt_trimap=gt_trimap)
        record['_outputs'] = (alpha, classes)
        return record

    def evaluate(
        self,
        model: Any,
        loader: Any,
        all_reduce: Optional[Callable] = None,
        progress: Optional[Callable] = None,
        per_image: Optional[list] = None,
        on_result: Optional[Callable] = None,
    ) -> MetricResults:
        """Evaluate ``model`` on ``loader`` (an eval loader: batches of one with ``img``,
        ``alpha``, ``trimap``, ``index``, and ``error`` for a sample that could not be read).

        Args:
            model: the mattor (switched to eval mode during the run).
            loader: an eval :class:`~shmatting.datasets.DataLoader`.
            all_reduce (callable, optional): ``np.ndarray -> np.ndarray`` summing over ranks.
            progress (callable, optional): called once per image.
            per_image (list, optional): receives ``dict(index=..., <key>=value)`` per scored image.
            on_result (callable, optional): ``on_result(index, alpha, trimap_classes)`` per image.

        Returns:
            MetricResults: metric key -> value, with the protocol, convention and coverage.
        """
        for m in self.metrics:
            m.reset()
        was_training = model.training
        model.set_train(False)
        failures, seen = [], 0
        try:
            for batch in loader:
                seen += 1
                if 'error' in batch:
                    failures.append(self._failure(loader, batch))
                else:
                    record = self._score(model, batch)
                    outputs = record.pop('_outputs')
                    if per_image is not None:
                        per_image.append(record)
                    if on_result is not None:
                        on_result(record['index'], *outputs)
                if progress is not None:
                    progress()
        finally:
            model.set_train(was_training)
        return self._results(all_reduce, seen, failures)

    @staticmethod
    def _failure(loader: Any, batch: dict) -> dict:
        index = int(batch['index'][0])
        samples = getattr(getattr(loader, 'dataset', None), 'samples', None)
        name = samples[index].get('rel', str(index)) if samples else str(index)
        record = dict(index=index, name=name, error=batch['error'])
        logger.warning(f'evaluation: sample {name!r} (index {index}) left out: {batch["error"]}')
        return record

    def _results(self, all_reduce: Optional[Callable], seen: int, failures: list) -> MetricResults:
        counts = np.array([seen - len(failures), seen], np.float64)
        if all_reduce is not None:
            counts = all_reduce(counts)
        values = {}
        for m in self.metrics:
            state = m.state if all_reduce is None else all_reduce(m.state)
            values[m.key] = m.compute(state)
        units = {m.key: m.description for m in self.metrics}
        return MetricResults(
            values,
            self.rules,
            units,
            self.protocol,
            self.convention,
            int(counts[0]),
            int(counts[1]),
            failures,
        )
