"""Evaluation: metrics and evaluator."""
