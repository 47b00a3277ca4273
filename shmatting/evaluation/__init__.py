"""Evaluation: metrics, the test protocol and the evaluator."""

from .evaluator import Evaluator, MetricResults, build_metrics, metric_rule
from .metrics import MAD, MSE, SAD, BaseMetric, ConnectivityError, GradientError, TrimapIoU
from .protocol import PROTOCOLS, predict_image, protocol_name

__all__ = [
    'Evaluator',
    'MetricResults',
    'build_metrics',
    'metric_rule',
    'BaseMetric',
    'SAD',
    'MSE',
    'MAD',
    'TrimapIoU',
    'GradientError',
    'ConnectivityError',
    'PROTOCOLS',
    'predict_image',
    'protocol_name',
]
