"""Curves for the views: plot-sized ROC/PR curves, one-vs-rest tables, mean and macro ROC.

Numpy only. The exact curves come from :class:`~evalstudio.core.evaluation.thresholds.ThresholdTable`;
this module makes them drawable (a few thousand points at 10^7 rows) and averages them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.simplify import simplify_curve
from evalstudio.core.evaluation.thresholds import ThresholdTable

__all__ = [
    "MeanRoc",
    "interpolate_roc",
    "macro_roc_curve",
    "mean_roc_curve",
    "one_vs_rest_table",
    "simplify_curve",
]


def one_vs_rest_table(pred: Predictions, class_index: int) -> ThresholdTable:
    """Threshold table of class ``class_index`` against all others (its own score column)."""
    if not 0 <= class_index < pred.n_classes:
        raise ValueError(f"class index {class_index} is outside 0..{pred.n_classes - 1}")
    return ThresholdTable.from_scores(pred.y_true == class_index, pred.y_score[:, class_index])


def interpolate_roc(fpr: np.ndarray, tpr: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """TPR of a ROC curve at each false-positive rate of ``grid``.

    Where the curve is vertical (several points at one FPR) the top point counts, as a
    classifier may always take the best TPR at a given FPR; between FPR values the curve is
    interpolated linearly.

    Parameters
    ----------
    fpr, tpr : ndarray of shape (p,)
        A ROC curve with non-decreasing ``fpr`` (as ``roc_curve`` returns it).
    grid : ndarray of shape (g,)
        FPR values in [0, 1].

    Returns
    -------
    ndarray of shape (g,), float64
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    tpr = np.asarray(tpr, dtype=np.float64)
    grid = np.asarray(grid, dtype=np.float64)
    i = np.searchsorted(fpr, grid, "right") - 1  # last point at or left of x: the top one
    i = np.clip(i, 0, fpr.shape[0] - 1)
    j = np.minimum(i + 1, fpr.shape[0] - 1)
    dx = fpr[j] - fpr[i]
    frac = np.divide(grid - fpr[i], dx, out=np.zeros_like(grid), where=dx > 0)
    out: np.ndarray = tpr[i] + np.clip(frac, 0.0, 1.0) * (tpr[j] - tpr[i])
    return out


@dataclass(frozen=True, eq=False)
class MeanRoc:
    """A vertically averaged ROC curve (over folds, or over classes one-vs-rest).

    Attributes
    ----------
    fpr : ndarray of shape (g,)
        The common FPR grid over [0, 1].
    tpr_mean, tpr_std : ndarray of shape (g,)
        Mean and population standard deviation (ddof=0) of the curves' TPR at each grid FPR.
    auc_mean, auc_std : float
        Mean and population std of the curves' own (exact) AUCs, NaN ones left out.
    n_curves : int
        Curves with a defined AUC (both classes present).
    """

    fpr: np.ndarray
    tpr_mean: np.ndarray
    tpr_std: np.ndarray
    auc_mean: float
    auc_std: float
    n_curves: int


def mean_roc_curve(tables: Sequence[ThresholdTable], *, n_points: int = 201) -> MeanRoc:
    """Mean ROC of several tables (k folds, or the classes of a one-vs-rest view).

    Tables with a class absent (no ROC curve) are left out of the mean, and of ``n_curves``.
    """
    grid = np.linspace(0.0, 1.0, n_points)
    usable = [t for t in tables if t.n_pos and t.n_neg]
    if not usable:
        nan = np.full(n_points, np.nan)
        return MeanRoc(grid, nan, nan.copy(), math.nan, math.nan, 0)
    stack = np.vstack([interpolate_roc(*t.roc_curve()[:2], grid) for t in usable])
    aucs = np.array([t.roc_auc for t in usable])
    return MeanRoc(
        grid, stack.mean(axis=0), stack.std(axis=0), float(aucs.mean()), float(aucs.std()), len(usable)
    )


def macro_roc_curve(pred: Predictions, *, n_points: int = 201) -> MeanRoc:
    """Macro-average one-vs-rest ROC of a multiclass (or binary) prediction, for plotting.

    ``auc_mean`` equals the macro one-vs-rest ROC AUC of the report when every class is
    present.
    """
    return mean_roc_curve([one_vs_rest_table(pred, k) for k in range(pred.n_classes)], n_points=n_points)
