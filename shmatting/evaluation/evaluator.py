"""Run a model over a batch-1 loader and compute metrics, all-reduced over ranks."""
import numpy as np

from ..registry import METRICS
from .metrics import BaseMetric
from .protocol import predict_image, protocol_name

__all__ = ['Evaluator', 'build_metrics']


def build_metrics(cfgs):
    """Build metrics from configs (dicts, names or instances)."""
    metrics = []
    for cfg in cfgs:
        if isinstance(cfg, BaseMetric):
            metrics.append(cfg)
        elif isinstance(cfg, str):
            metrics.append(METRICS.build(dict(type=cfg)))
        else:
            metrics.append(METRICS.build(cfg))
    keys = [m.key for m in metrics]
    if len(set(keys)) != len(keys):
        raise ValueError(f'duplicate metric keys {keys}')
    return metrics


class Evaluator:
    """Evaluate with the test protocol of ``test_cfg``; every rank gets the same numbers.

    Args:
        metrics (list): METRICS configs, names or instances.
        test_cfg (dict): the model's test protocol (see :mod:`shmatting.evaluation.protocol`).
        use_gt_trimap (bool): feed the one-hot ground-truth trimap (M-Net phase).
    """

    def __init__(self, metrics, test_cfg=None, use_gt_trimap=False):
        self.metrics = build_metrics(metrics)
        self.test_cfg = dict(test_cfg or {})
        self.use_gt_trimap = use_gt_trimap
        self.protocol = protocol_name(self.test_cfg)

    def evaluate(self, model, loader, all_reduce=None, progress=None, per_image=None,
                 on_result=None):
        """Evaluate ``model`` on ``loader`` (batches of one with ``img``, ``alpha``, ``trimap``).

        Args:
            model: the mattor (switched to eval mode during the run).
            loader: an eval :class:`DataLoader`.
            all_reduce (callable, optional): ``np.ndarray -> np.ndarray`` summing over ranks.
            progress (callable, optional): called once per image.
            per_image (list, optional): receives ``dict(index=..., <key>=value)`` per image.
            on_result (callable, optional): ``on_result(index, alpha, trimap_classes)`` per image.

        Returns:
            dict: metric key -> value.
        """
        for m in self.metrics:
            m.reset()
        was_training = model.training
        model.set_train(False)
        try:
            for batch in loader:
                img = batch['img'][0]
                onehot = None
                if self.use_gt_trimap:
                    onehot = np.eye(3, dtype=np.float32)[batch['trimap'][0, 0]].transpose(2, 0, 1)
                alpha, classes = predict_image(model, img, self.test_cfg, onehot)
                record = {'index': int(batch['index'][0])}
                for m in self.metrics:
                    gt_trimap = batch['trimap'][0] if 'trimap' in batch else None
                    if 'trimap' in m.needs:
                        record[m.key] = m.process(pred_trimap=classes, gt_trimap=gt_trimap)
                    else:
                        record[m.key] = m.process(alpha, batch['alpha'][0, 0], gt_trimap=gt_trimap)
                if per_image is not None:
                    per_image.append(record)
                if on_result is not None:
                    on_result(record['index'], alpha, classes)
                if progress is not None:
                    progress()
        finally:
            model.set_train(was_training)
        results = {}
        for m in self.metrics:
            state = m.state if all_reduce is None else all_reduce(m.state)
            results[m.key] = m.compute(state)
        return results

    @property
    def rules(self):
        """dict: metric key -> ``'less'`` / ``'greater'``."""
        return {m.key: m.rule for m in self.metrics}
