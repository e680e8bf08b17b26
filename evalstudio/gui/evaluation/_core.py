"""The one place the evaluation views call the core's metrics, threshold tables and curves.

Imports are lazy (inside functions) so importing the views stays cheap. Nothing here computes
a metric: it picks the core's functions and shapes their results for drawing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from evalstudio.core.evaluation.curves import MeanRoc
    from evalstudio.core.evaluation.intervals import BootstrapIntervals
    from evalstudio.core.evaluation.metrics import EvaluationReport
    from evalstudio.core.evaluation.predictions import Predictions
    from evalstudio.core.evaluation.thresholds import ThresholdTable


def report(
    pred: "Predictions", *, threshold: float = 0.5, positive: int = 1, table: "ThresholdTable | None" = None
) -> "EvaluationReport":
    from evalstudio.core.evaluation.metrics import evaluate_predictions

    return evaluate_predictions(pred, threshold=threshold, positive=positive, table=table)


def binary_table(pred: "Predictions", positive: int = 1) -> "ThresholdTable":
    """The table the slider looks up: class ``positive`` against the other one."""
    from evalstudio.core.evaluation.curves import one_vs_rest_table

    return one_vs_rest_table(pred, positive)


ovr_table = binary_table


def macro_roc(pred: "Predictions") -> "MeanRoc":
    from evalstudio.core.evaluation.curves import macro_roc_curve

    return macro_roc_curve(pred)


def mean_roc(tables: list["ThresholdTable"]) -> "MeanRoc":
    from evalstudio.core.evaluation.curves import mean_roc_curve

    return mean_roc_curve(tables)


def matrix_at(table: "ThresholdTable", t: float) -> np.ndarray:
    """2 x 2 counts at ``t``: rows actual (rest, class), columns predicted."""
    return table.confusion_matrix_at(t)


def metrics_at(table: "ThresholdTable", t: float) -> dict[str, Any]:
    return dict(table.metrics_at(t))


def roc_points(table: "ThresholdTable") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) of the down-sampled ROC curve for plotting."""
    return table.roc_curve_for_plot()


def pr_points(table: "ThresholdTable") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(recall, precision, thresholds) of the down-sampled PR curve for plotting."""
    precision, recall, thr = table.pr_curve_for_plot()
    return recall, precision, thr


def suggestions(table: "ThresholdTable", c_fp: float, c_fn: float) -> dict[str, float | None]:
    """The core's suggested thresholds (None for one it cannot give, e.g. both costs zero)."""
    from evalstudio.core.errors import EvalStudioError

    try:
        return table.suggested_thresholds(c_fp, c_fn)
    except EvalStudioError:
        return {
            "default": 0.5,
            "max_f1": table.best_f1_threshold(),
            "youden": table.youden_threshold(),
            "min_cost": None,
        }


def intervals_now(boot: "BootstrapIntervals") -> dict[str, tuple[float, float]]:
    """Every metric's interval at the threshold the intervals were computed for."""
    return dict(boot.intervals().limits)


def intervals_at(boot: "BootstrapIntervals", t: float) -> dict[str, tuple[float, float]] | None:
    """Binary: every metric's interval at threshold ``t``: a lookup when the per-resample counts were
    kept, the computed ones at their own threshold, else None (they must be computed again)."""
    if boot.resampled.counts is not None:
        return dict(boot.at_threshold(t).limits)
    if boot.resampled.threshold is not None and float(boot.resampled.threshold) == float(t):
        return intervals_now(boot)
    return None


def class_intervals_at(boot: "BootstrapIntervals", k: int, t: float) -> dict[str, tuple[float, float]]:
    """Multiclass: class ``k`` against the rest at threshold ``t`` (per-resample counts kept)."""
    return boot.class_at_threshold(k, t)


def fold_intervals(fold_metrics: list[dict[str, float]], confidence: float = 0.95) -> dict[str, tuple[float, float]]:
    """Student's t interval of each metric's mean over folds (clipped to the metric's range)."""
    from evalstudio.core.evaluation.intervals import fold_mean_intervals

    return fold_mean_intervals(fold_metrics, confidence)


def calibration(pred: "Predictions", positive: int = 1) -> Any:
    """The core's CalibrationReport (reliability bins, Brier, ECE) of ``pred``."""
    from evalstudio.core.evaluation.calibration import calibration_report

    return calibration_report(pred, positive=positive if pred.task == "binary" else 1)
