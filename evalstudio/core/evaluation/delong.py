"""DeLong's nonparametric covariance of correlated ROC AUCs, and the paired test it gives.

DeLong, DeLong and Clarke-Pearson (1988) write each model's AUC as the mean of per-row
*placements* (structural components): a positive row's placement is the fraction of negatives
it outscores, a negative row's is the fraction of positives that outscore it (ties count one
half, as in the Mann-Whitney statistic and ``sklearn.metrics.roc_auc_score``). The covariance
of several AUCs measured on the same rows follows from the sample covariances of those
placements::

    S = S10 / m + S01 / n        (m positives, n negatives; covariances with ddof=1)

Computing placements pairwise is O(m n). Sun and Xu (2014) get them from midranks in
O(N log N); here they are two binary searches per row into the other class's sorted scores, the
same count with one sort per class and no combined ranking. Ties and float32 scores are handled
exactly: counts compare the scores in their own dtype.

Numpy and the standard library only (the normal tail is ``math.erfc``, its quantile
``statistics.NormalDist``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = ["DeLongTest", "delong_covariance", "delong_placements", "delong_test"]


def delong_placements(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Placements of the positive and the negative rows of one score vector.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,), bool
        True for a row of the positive class.
    y_score : ndarray of shape (n_samples,), float
        Higher means more positive.

    Returns
    -------
    v10 : ndarray of shape (n_positives,), float64
        For each positive row (in row order): (negatives scoring lower + half the negatives
        scoring equal) / n_negatives.
    v01 : ndarray of shape (n_negatives,), float64
        For each negative row (in row order): (positives scoring higher + half the positives
        scoring equal) / n_positives.

    The AUC is ``v10.mean()`` (equally ``v01.mean()``). Empty arrays come back when a class is
    absent.
    """
    y = np.asarray(y_true).astype(bool, copy=False)
    s = np.asarray(y_score)
    if y.shape != s.shape or s.ndim != 1:
        raise ValueError(f"y_true {y.shape} and y_score {s.shape} must be 1-D of the same length")
    return _placements(s, *_class_rows(y))


def _class_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the positives and of the negatives (``take`` with them is ~25x faster than a
    boolean mask at 1e6 rows, and several models share them)."""
    return np.flatnonzero(y), np.flatnonzero(~y)


def _placements(s: np.ndarray, pos_rows: np.ndarray, neg_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    pos = s.take(pos_rows)
    neg = s.take(neg_rows)
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        return np.zeros(0), np.zeros(0)
    # Each class sorted once; the positives are searched in the sorted negatives in sorted order
    # (sequential memory access: ~5x faster than in row order at 1e6). The negatives' counts then
    # follow from the positives' without searching again: with negatives sorted, a positive scores
    # below the j-th negative exactly when the negatives up to and including its score number at
    # most j, so a histogram of those numbers, summed up, counts the positives below every negative.
    # Counts are scattered back to row order, which the covariance between models needs (rows pair
    # across models). Ties among equal scores do not matter: equal scores get equal counts.
    pos_order = np.argsort(pos)
    neg_order = np.argsort(neg)
    pos_sorted = pos[pos_order]
    neg_sorted = neg[neg_order]
    lo = np.searchsorted(neg_sorted, pos_sorted, "left")  # negatives strictly below each positive
    hi = np.searchsorted(neg_sorted, pos_sorted, "right")  # ... at or below it
    pos_below = np.cumsum(np.bincount(hi, minlength=n + 1))[:n]  # positives strictly below each negative
    pos_at_or_below = np.cumsum(np.bincount(lo, minlength=n + 1))[:n]
    v10 = np.empty(m)
    v01 = np.empty(n)
    # below + equal/2 = (left + right) / 2; above + equal/2 = m - (strictly below + at or below) / 2
    v10[pos_order] = (lo + hi) / (2.0 * n)
    v01[neg_order] = (2 * m - pos_below - pos_at_or_below) / (2.0 * m)
    return v10, v01


def delong_covariance(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several score vectors on the same rows and DeLong's covariance matrix of them.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,), bool
    scores : ndarray of shape (n_models, n_samples)
        One row per model (a 1-D array is one model).

    Returns
    -------
    aucs : ndarray of shape (n_models,)
    covariance : ndarray of shape (n_models, n_models)
        NaN when a class has fewer than 2 rows (the sample covariances need ddof=1).
        The diagonal is each AUC's DeLong variance.
    """
    S = np.atleast_2d(np.asarray(scores))
    k = S.shape[0]
    y = np.asarray(y_true).astype(bool, copy=False)
    if y.shape != S.shape[1:]:
        raise ValueError(f"y_true {y.shape} does not match scores {S.shape}")
    rows = _class_rows(y)
    parts = [_placements(S[i], *rows) for i in range(k)]
    m, n = parts[0][0].size, parts[0][1].size
    if m == 0 or n == 0:
        return np.full(k, np.nan), np.full((k, k), np.nan)
    v10 = np.stack([p[0] for p in parts])
    v01 = np.stack([p[1] for p in parts])
    aucs = v10.mean(axis=1)
    if m < 2 or n < 2:
        return aucs, np.full((k, k), np.nan)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


@dataclass(frozen=True)
class DeLongTest:
    """DeLong's test of two correlated ROC AUCs (B - A).

    Attributes
    ----------
    auc_a, auc_b : float
    difference : float
        ``auc_b - auc_a``.
    se : float
        Standard error of the difference, sqrt(var A + var B - 2 cov(A, B)).
    z : float
        ``difference / se``; 0 when both the difference and its variance are 0 (the same
        ranking); NaN when the variance is undefined or 0 with a nonzero difference.
    p_value : float
        Two-sided, from the standard normal; 1 for identical rankings; NaN when undefined.
    low, high : float
        The ``confidence`` interval of the difference, ``difference -/+ z_(1-alpha/2) se``.
    confidence : float
    note : str
        Why the test is undefined, when it is ("" otherwise).
    """

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    low: float
    high: float
    confidence: float = 0.95
    note: str = ""

    def to_json(self) -> dict[str, object]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        out: dict[str, object] = {
            "auc": [num(self.auc_a), num(self.auc_b)], "difference": num(self.difference),
            "z": num(self.z), "p_value": num(self.p_value), "se": num(self.se),
            "low": num(self.low), "high": num(self.high), "confidence": self.confidence,
        }
        if self.note:
            out["note"] = self.note
        return out


def delong_test(
    y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, *, confidence: float = 0.95
) -> DeLongTest:
    """DeLong's two-sided test that two models' ROC AUCs on the same rows are equal.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,), bool
        True for a row of the positive class.
    score_a, score_b : ndarray of shape (n_samples,)
        Each model's score of the positive class on the same rows, in the same order.
    confidence : float
        Level of the interval of the difference.

    Returns
    -------
    DeLongTest
        The difference is B - A, as everywhere in a comparison.
    """
    aucs, cov = delong_covariance(y_true, np.stack([np.asarray(score_a), np.asarray(score_b)]))
    auc_a, auc_b = float(aucs[0]), float(aucs[1])
    diff = auc_b - auc_a
    nan = math.nan
    if not (math.isfinite(auc_a) and math.isfinite(auc_b)):
        return DeLongTest(auc_a, auc_b, nan, nan, nan, nan, nan, nan, confidence,
                          "ROC AUC is undefined: the rows hold one class only")
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    if not math.isfinite(var):
        return DeLongTest(auc_a, auc_b, diff, nan, nan, nan, nan, nan, confidence,
                          "DeLong's variance needs at least 2 rows of each class")
    var = max(var, 0.0)  # rounding can leave -1e-18 for identical models
    se = math.sqrt(var)
    zq = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    if se < 1e-12:  # 0 up to rounding
        if abs(diff) <= 1e-12:
            return DeLongTest(auc_a, auc_b, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, confidence,
                              "the two AUCs are equal and their difference has no variance (the same ranking of the rows)")
        return DeLongTest(auc_a, auc_b, diff, 0.0, nan, nan, diff, diff, confidence,
                          "DeLong's variance of the difference is 0: the test is undefined")
    z = diff / se
    p = math.erfc(abs(z) / math.sqrt(2.0))
    return DeLongTest(auc_a, auc_b, diff, se, z, min(1.0, p), diff - zq * se, diff + zq * se, confidence)
