"""Does 0.9 mean 90 %? Reliability tables, the Brier score and the expected calibration error.

Binary tasks look at the positive class's probability: rows are put in ``n_bins`` equal-width
bins of that probability exactly as ``sklearn.calibration.calibration_curve(strategy="uniform")``
bins them (``searchsorted`` on the inner edges: a probability on an edge goes to the lower bin),
and each bin compares the fraction of positive rows with the mean predicted probability.
Multiclass tasks do the same with the top-label probability (the highest one) against the
fraction of rows whose top label is right.

- Brier score: binary, the mean squared difference between the positive class's probability
  and the 0/1 outcome (``sklearn.metrics.brier_score_loss``); multiclass, the mean over rows of the
  squared distance between the probability vector and the one-hot label.
- ECE: the sum over non-empty bins of ``(rows in bin / rows) * |fraction positive - mean
  predicted probability|``.

Numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalstudio.core.evaluation.predictions import Predictions

__all__ = ["CalibrationReport", "ReliabilityBin", "brier_score", "calibration_report", "reliability_bins"]

DEFAULT_BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of predicted probabilities ``(low, high]`` (the first one includes 0)."""

    low: float
    high: float
    count: int
    mean_predicted: float  # NaN when the bin is empty
    fraction_positive: float  # NaN when the bin is empty

    def to_json(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {"low": self.low, "high": self.high, "count": self.count,
                "mean_predicted": num(self.mean_predicted), "fraction_positive": num(self.fraction_positive)}


@dataclass(frozen=True, eq=False)
class CalibrationReport:
    """Calibration of one evaluation.

    Attributes
    ----------
    kind : {"positive", "top-label"}
        What is binned: the positive class's probability (binary) or the highest one (multiclass).
    positive : str or None
        The positive class (binary).
    brier, ece : float
    bins : tuple of ReliabilityBin
        Every bin, empty ones included (count 0).
    probability : ndarray of shape (n_samples,)
        The binned probability of every row (for the histogram under the diagram).
    outcome : ndarray of shape (n_samples,), bool
        Binary: the row is of the positive class; multiclass: its top label is right.
    """

    kind: str
    positive: str | None
    brier: float
    ece: float
    bins: tuple[ReliabilityBin, ...]
    probability: np.ndarray
    outcome: np.ndarray

    @property
    def n_bins(self) -> int:
        return len(self.bins)

    def to_json(self) -> dict[str, Any]:
        """``{"brier", "ece", "bins": [{"low", "high", "count", "mean_predicted", "fraction_positive"}], ...}``."""
        out: dict[str, Any] = {
            "brier": float(self.brier),
            "ece": float(self.ece),
            "bins": [b.to_json() for b in self.bins],
            "n_bins": self.n_bins,
            "binned": "probability of the positive class" if self.kind == "positive"
            else "top-label probability (fraction_positive: fraction whose top label is right)",
        }
        if self.positive is not None:
            out["positive_class"] = self.positive
        return out


def _bin_ids(prob: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """(bin of every row, edges) exactly as ``calibration_curve(strategy="uniform")`` assigns them."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], prob), edges


def reliability_bins(outcome: np.ndarray, prob: np.ndarray, n_bins: int = DEFAULT_BINS) -> tuple[ReliabilityBin, ...]:
    """Every equal-width bin of ``prob`` with its count, mean probability and fraction of outcomes.

    Parameters
    ----------
    outcome : ndarray of shape (n_samples,), bool
    prob : ndarray of shape (n_samples,), float in [0, 1]
    n_bins : int
    """
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    p = np.asarray(prob, dtype=np.float64)
    ids, edges = _bin_ids(p, int(n_bins))
    count = np.bincount(ids, minlength=n_bins)
    total_p = np.bincount(ids, weights=p, minlength=n_bins)
    total_y = np.bincount(ids, weights=np.asarray(outcome, dtype=np.float64), minlength=n_bins)
    out = []
    for i in range(n_bins):
        c = int(count[i])
        mean_p = total_p[i] / c if c else math.nan
        frac = total_y[i] / c if c else math.nan
        out.append(ReliabilityBin(float(edges[i]), float(edges[i + 1]), c, float(mean_p), float(frac)))
    return tuple(out)


def expected_calibration_error(bins: tuple[ReliabilityBin, ...]) -> float:
    """Sum over non-empty bins of (share of rows) x |fraction positive - mean predicted|."""
    n = sum(b.count for b in bins)
    if not n:
        return math.nan
    return float(sum(b.count / n * abs(b.fraction_positive - b.mean_predicted) for b in bins if b.count))


def brier_score(pred: Predictions, positive: int = 1) -> float:
    """Binary: ``brier_score_loss`` on the positive class; multiclass: mean squared distance to one-hot."""
    s = np.asarray(pred.y_score, dtype=np.float64)
    if pred.task == "binary":
        return float(np.mean((s[:, positive] - (pred.y_true == positive)) ** 2))
    onehot = np.zeros_like(s)
    onehot[np.arange(s.shape[0]), pred.y_true] = 1.0
    return float(np.mean(np.sum((s - onehot) ** 2, axis=1)))


def calibration_report(pred: Predictions, *, positive: int = 1, n_bins: int = DEFAULT_BINS) -> CalibrationReport:
    """Brier score, ECE and the reliability table of one evaluation (see the module docstring)."""
    if pred.task == "binary":
        prob = np.asarray(pred.y_score[:, positive], dtype=np.float64)
        outcome = pred.y_true == positive
        kind, pos_name = "positive", pred.classes[positive]
    else:
        s = np.asarray(pred.y_score, dtype=np.float64)
        prob = s.max(axis=1)
        outcome = pred.argmax() == pred.y_true
        kind, pos_name = "top-label", None
    bins = reliability_bins(outcome, prob, n_bins)
    return CalibrationReport(kind, pos_name, brier_score(pred, positive), expected_calibration_error(bins), bins,
                             prob, np.asarray(outcome, dtype=bool))
