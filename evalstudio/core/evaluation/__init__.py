"""Scoring a model: predicting in eval mode, metrics, threshold tables, curves, reports, the evaluation pipeline.

May use :mod:`evalstudio.core.models` and :mod:`evalstudio.core.data`; knows nothing of training.
"""
