"""Evaluation: metrics, the test protocol, the evaluator and its reports."""

from .evaluator import Evaluator, MetricResults, build_metrics, metric_rule
from .metrics import MAD, MSE, SAD, BaseMetric, ConnectivityError, GradientError, TrimapIoU
from .protocol import PROTOCOLS, predict_image, protocol_name
from .report import format_metrics_table, last_line, report_lines, write_results_json

__all__ = [
    'Evaluator', 'MetricResults', 'build_metrics', 'metric_rule', 'BaseMetric', 'SAD', 'MSE',
    'MAD', 'TrimapIoU', 'GradientError', 'ConnectivityError', 'PROTOCOLS', 'predict_image',
    'protocol_name', 'format_metrics_table', 'report_lines', 'write_results_json', 'last_line',
]  # fmt: skip
