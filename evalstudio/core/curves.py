"""Curves for the views: plot-sized ROC/PR curves, one-vs-rest tables, mean and macro ROC.

Numpy only. The exact curves come from :class:`~evalstudio.core.thresholds.ThresholdTable`;
this module makes them drawable (a few thousand points at 10^7 rows) and averages them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evalstudio.core.predictions import Predictions
from evalstudio.core.thresholds import ThresholdTable

__all__ = [
    "MeanRoc",
    "interpolate_roc",
    "macro_roc_curve",
    "mean_roc_curve",
    "one_vs_rest_table",
    "simplify_curve",
]


def simplify_curve(x: np.ndarray, y: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep a curve's visible shape.

    Method: cut the curve into ``B = max_points // 4`` pieces of equal arc length (L1:
    ``|dx| + |dy|``) and keep, in each piece, its first and last point and the points of its
    lowest and highest ``y`` (min/max decimation, which keeps the spikes of a jagged PR curve).
    Every dropped point lies within ``L / B`` (L1) of a kept point, where ``L`` is the curve's
    total L1 length: at most ``2 / B`` for a ROC curve, i.e. 0.004 of the axis at the default
    2000 points (2 pixels on a 500-pixel plot). The first and last points are always kept. Curves with NaN (a class absent) are thinned by
    even index spacing.

    Parameters
    ----------
    x, y : ndarray of shape (n,)
        The curve, in drawing order.
    max_points : int
        At most this many indices are returned (>= 4).

    Returns
    -------
    ndarray of shape (p,), int64
        Increasing indices into ``x`` / ``y``, ``p <= max_points``.
    """
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    arc = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(x)) + np.abs(np.diff(y)))])
    length = arc[-1]
    if not (math.isfinite(length) and length > 0):
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    n_bins = max_points // 4
    piece = np.minimum((arc * (n_bins / length)).astype(np.int64), n_bins - 1)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(piece)) + 1])
    ends = np.concatenate([starts[1:] - 1, [n - 1]])
    counts = ends - starts + 1
    owner = np.repeat(np.arange(starts.shape[0]), counts)  # which piece each point is in
    lo = np.minimum.reduceat(y, starts)
    hi = np.maximum.reduceat(y, starts)
    keep = np.zeros(n, dtype=bool)
    keep[starts] = True
    keep[ends] = True
    for extreme in (lo, hi):
        hits = np.flatnonzero(y == extreme[owner])
        _, first_hit = np.unique(owner[hits], return_index=True)
        keep[hits[first_hit]] = True
    return np.flatnonzero(keep)


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
    return tpr[i] + np.clip(frac, 0.0, 1.0) * (tpr[j] - tpr[i])


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
