"""Metrics: scores from a confusion matrix, per-class reports."""
