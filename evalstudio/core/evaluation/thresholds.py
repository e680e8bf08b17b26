"""The binary threshold table: every confusion matrix of a score vector, precomputed once.

Sorting the scores once and keeping, at each distinct score, how many positives and negatives
score at or above it turns "the confusion matrix at threshold t" into one binary search
(Orange's ``performance_curves``; scikit-learn's ``confusion_matrix_at_thresholds``). The
slider, the ROC and PR curves, their operating points and the suggested thresholds all read
this one table, so they can never disagree with each other.

Conventions (those of scikit-learn):

- a row is predicted positive when ``score >= t``;
- ``t`` is compared in the scores' own dtype (a float64 threshold against float32 scores is
  first rounded to float32, as numpy does for ``scores >= t`` with a Python float), so the
  table's counts equal a recount of ``scores >= t``;
- a ratio whose denominator is zero (precision with no predicted positives...) is 0, as
  scikit-learn's ``zero_division=0``; FPR/TPR with no negatives/positives are NaN, as in
  ``roc_curve``.

Numpy only: no torch, no Qt, no scikit-learn (the tests compare with scikit-learn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from evalstudio.core.errors import EvalStudioError, ModelError
from evalstudio.core.evaluation.confusion import binary_metrics_from_counts
from evalstudio.core.evaluation.simplify import simplify_curve

__all__ = ["ThresholdTable", "binary_metrics_from_counts"]


def _as_scores(y_score: np.ndarray) -> np.ndarray:
    """1-D float scores in their own float dtype (other dtypes become float64)."""
    s = np.asarray(y_score)
    if s.ndim != 1:
        raise ValueError(f"y_score must be 1-D (n_samples,), got shape {s.shape}")
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    return s


@dataclass(frozen=True, eq=False)
class ThresholdTable:
    """Cumulative counts at every distinct score of a binary problem.

    Build it with :meth:`from_scores`. Points are indexed in decreasing-threshold order:
    point 0 predicts nothing positive (its threshold is just above the highest score), point
    ``k >= 1`` is ``score >= thresholds[m - k]``, and the last point predicts everything
    positive.

    Attributes
    ----------
    thresholds : ndarray of shape (m,)
        The distinct scores, ascending, in the scores' dtype.
    tps, fps : ndarray of shape (m + 1,), integer
        Positives / negatives scoring at or above each point's threshold, non-decreasing.
    n_pos, n_neg : int
        Number of positive / negative rows.
    """

    thresholds: np.ndarray
    tps: np.ndarray
    fps: np.ndarray
    n_pos: int
    n_neg: int

    # ------------------------------------------------------------------ building
    @classmethod
    def from_scores(cls, y_true: np.ndarray, y_score: np.ndarray) -> ThresholdTable:
        """Sort once and count.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,), bool
            True for a row of the positive class.
        y_score : ndarray of shape (n_samples,), float
            Score of the positive class (higher means more positive); float32 stays float32.

        Raises
        ------
        ModelError
            A score is NaN or infinite.
        ValueError
            Shapes do not match or there are no rows.
        """
        s = _as_scores(y_score)
        y = np.asarray(y_true)
        if y.shape != s.shape:
            raise ValueError(f"y_true has shape {y.shape} but y_score has shape {s.shape}")
        if s.size == 0:
            raise ValueError("cannot build a threshold table from zero rows")
        y = y.astype(bool, copy=False)
        finite = np.isfinite(s)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ModelError(
                f"{bad.size} of {s.size} scores are NaN or infinite (first at position {bad[0]});",
                hint="the model's outputs must be finite: check the inputs for extreme values "
                "and the weights for divergence.",
            )
        n = s.size
        n_pos = int(np.count_nonzero(y))
        n_neg = n - n_pos
        # int32 halves the table's memory
        count_dtype: type[np.signedinteger[Any]] = np.int32 if n < 2**31 - 1 else np.int64

        # Sorting each class separately and merging the two sorted runs with a stable argsort
        # (timsort: one linear merge) is ~2x faster than argsort of all scores at 1e7.
        if n_pos and n_neg:
            merged = np.concatenate([np.sort(s[~y]), np.sort(s[y])])
            order = np.argsort(merged, kind="stable")
            values = merged[order]
            is_pos = order >= n_neg
            del merged, order
        else:
            values = np.sort(s)
            is_pos = np.full(n, n_pos > 0)
        starts = np.empty(n, dtype=bool)  # first row of each run of equal scores
        starts[0] = True
        np.not_equal(values[1:], values[:-1], out=starts[1:])
        first = np.flatnonzero(starts)
        thresholds = values[first]
        del values, starts
        # positives strictly below each distinct score = inclusive cumsum minus the row itself
        cum_pos = np.cumsum(is_pos, dtype=count_dtype)
        pos_below = cum_pos[first] - is_pos[first]
        del cum_pos
        tp_ge = n_pos - pos_below  # ascending-threshold order
        fp_ge = n_neg - (first.astype(count_dtype) - pos_below)
        zero = np.zeros(1, dtype=count_dtype)
        tps = np.concatenate([zero, tp_ge[::-1]])
        fps = np.concatenate([zero, fp_ge[::-1]])
        return cls(thresholds, tps, fps, n_pos, n_neg)

    # ------------------------------------------------------------------ lookups
    @property
    def n_samples(self) -> int:
        return self.n_pos + self.n_neg

    @property
    def n_points(self) -> int:
        """Number of distinct operating points (distinct scores + the "nothing positive" one)."""
        return int(self.tps.shape[0])

    def point_index(self, threshold: float) -> int:
        """Index of the operating point that ``score >= threshold`` selects (O(log n))."""
        t = self.thresholds.dtype.type(threshold)  # compare in the scores' own dtype
        if t != t:
            raise EvalStudioError("the threshold is NaN.", hint="Give a number, e.g. 0.5.")
        i = int(self.thresholds.searchsorted(t, "left"))  # distinct scores below t
        return int(self.thresholds.shape[0]) - i

    def counts_at(self, threshold: float) -> tuple[int, int, int, int]:
        """Confusion counts ``(tn, fp, fn, tp)`` when ``score >= threshold`` is positive.

        One binary search over the distinct scores: O(log n), a few microseconds.
        """
        k = self.point_index(threshold)
        tp, fp = int(self.tps[k]), int(self.fps[k])
        return self.n_neg - fp, fp, self.n_pos - tp, tp

    def confusion_matrix_at(self, threshold: float) -> np.ndarray:
        """``[[tn, fp], [fn, tp]]`` (rows actual negative/positive, columns predicted)."""
        tn, fp, fn, tp = self.counts_at(threshold)
        return np.array([[tn, fp], [fn, tp]], dtype=np.int64)

    def metrics_at(self, threshold: float) -> dict[str, float]:
        """Every threshold-dependent metric at ``threshold`` (see :func:`binary_metrics_from_counts`)."""
        return binary_metrics_from_counts(*self.counts_at(threshold))

    def threshold_of_point(self, k: int) -> float:
        """A threshold that selects point ``k`` exactly (``point_index(t) == k``).

        Point 0 (nothing positive) gets the next representable value above the highest score,
        so every returned threshold is finite and round-trips through :meth:`counts_at`.
        """
        m = self.thresholds.shape[0]
        if not 0 <= k <= m:
            raise IndexError(f"point {k} is outside 0..{m}")
        if k == 0:
            top = self.thresholds[-1]
            return float(np.nextafter(top, top.dtype.type(np.inf)))
        return float(self.thresholds[m - k])

    def _point_thresholds(self, points: np.ndarray) -> np.ndarray:
        """float64 thresholds of points ``k >= 1`` (``score >= thresholds[m - k]``)."""
        m = self.thresholds.shape[0]
        chosen: np.ndarray = self.thresholds[m - points]
        return chosen.astype(np.float64)

    def _kept_points(self, keep_rule: str | None) -> np.ndarray:
        """Points ``1..m`` that a curve keeps; scikit-learn's ``drop_intermediate`` rules.

        ``"roc"`` drops points where both counts continue in a straight line (equal steps);
        ``"pr"`` keeps only the first and last point of each run of equal TP (equal recall).
        Differences are taken as first differences compared for equality, so int32 counts
        cannot overflow.
        """
        m = self.thresholds.shape[0]
        if keep_rule is None or m <= 2:
            return np.arange(1, m + 1)
        tps, fps = self.tps[1:], self.fps[1:]
        dtp = np.diff(tps)
        if keep_rule == "roc":
            dfp = np.diff(fps)
            inner = (dtp[1:] != dtp[:-1]) | (dfp[1:] != dfp[:-1])
        else:
            inner = (dtp[:-1] != 0) | (dtp[1:] != 0)
        keep = np.concatenate([[True], inner, [True]])
        return np.flatnonzero(keep) + 1

    # ------------------------------------------------------------------ curves
    def roc_curve(self, *, drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ROC curve exactly as ``sklearn.metrics.roc_curve`` returns it.

        Returns
        -------
        fpr, tpr : ndarray of shape (p,), float64
            Increasing rates (NaN throughout when a class is absent).
        thresholds : ndarray of shape (p,), float64
            Decreasing; the first is ``inf`` (nothing positive).
        """
        pts = self._kept_points("roc" if drop_intermediate else None)
        fps = np.concatenate([[0.0], self.fps[pts].astype(np.float64)])
        tps = np.concatenate([[0.0], self.tps[pts].astype(np.float64)])
        thr = np.concatenate([[np.inf], self._point_thresholds(pts)])
        fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
        tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
        return fpr, tpr, thr

    @cached_property
    def roc_auc(self) -> float:
        """Area under the ROC curve (trapezoids, as ``roc_auc_score``); NaN with one class.

        Summed on the integer counts, ``sum(dFP * (TP_k + TP_k-1)) / (2 P N)``: the same
        trapezoids as scikit-learn without building the float curve (equal to ~1e-15).
        """
        if not (self.n_pos and self.n_neg):
            return math.nan
        tps = self.tps.astype(np.float64)
        dfp = np.diff(self.fps).astype(np.float64)
        area = np.dot(dfp, tps[1:] + tps[:-1])
        return float(area / (2.0 * self.n_pos * self.n_neg))

    def pr_curve(self, *, drop_intermediate: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Precision-recall curve exactly as ``sklearn.metrics.precision_recall_curve``.

        Returns
        -------
        precision, recall : ndarray of shape (p + 1,), float64
            Recall decreasing; the final point is (recall 0, precision 1). Precision with no
            predicted positives is 0; with no positive rows recall is 1 throughout.
        thresholds : ndarray of shape (p,), float64
            Increasing distinct scores.
        """
        pts = self._kept_points("pr" if drop_intermediate else None)
        fps = self.fps[pts].astype(np.float64)
        tps = self.tps[pts].astype(np.float64)
        thr = self._point_thresholds(pts)
        ps = tps + fps
        precision = np.divide(tps, ps, out=np.zeros_like(tps), where=ps != 0)
        recall = tps / tps[-1] if tps[-1] > 0 else np.ones_like(tps)
        return (
            np.concatenate([precision[::-1], [1.0]]),
            np.concatenate([recall[::-1], [0.0]]),
            thr[::-1].copy(),
        )

    @cached_property
    def average_precision(self) -> float:
        """Average precision as ``average_precision_score`` (step-wise, no interpolation).

        NaN when there are no positive rows (scikit-learn warns and returns 0 there; a 0 would
        read as "the worst possible model" where the metric is simply undefined).
        """
        if not self.n_pos:
            return math.nan
        # sum over points of (recall step) * precision there, on the counts (no curve built)
        tps = self.tps.astype(np.float64)
        precision = tps[1:] / (tps[1:] + self.fps[1:])  # every point k >= 1 holds >= 1 row
        return float(max(0.0, np.dot(np.diff(tps), precision) / self.n_pos))

    def roc_curve_for_plot(self, max_points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ROC curve reduced to at most ``max_points`` points that keep its visible shape.

        See :func:`evalstudio.core.evaluation.simplify.simplify_curve` for the method and its error bound
        (every dropped point lies within ``2 / (max_points // 4)`` of a kept one, L1 in the unit
        square). Returns ``(fpr, tpr, thresholds)`` like :meth:`roc_curve`.
        """
        fpr, tpr, thr = self.roc_curve(drop_intermediate=True)
        idx = simplify_curve(fpr, tpr, max_points)
        return fpr[idx], tpr[idx], thr[idx]

    def pr_curve_for_plot(self, max_points: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The PR curve reduced to at most ``max_points`` points (see ``simplify_curve``).

        Returns ``(precision, recall, thresholds)`` where ``thresholds`` has the same length as
        the curve (the final (recall 0, precision 1) point gets ``inf``).
        """
        precision, recall, thr = self.pr_curve(drop_intermediate=True)
        thr = np.concatenate([thr, [np.inf]])
        idx = simplify_curve(recall, precision, max_points)
        return precision[idx], recall[idx], thr[idx]

    # ------------------------------------------------------------------ picking a threshold
    def threshold_for_fpr(self, fpr: float) -> float:
        """The lowest threshold whose false-positive rate is at most ``fpr`` (best TPR there)."""
        if not self.n_neg:
            return self.threshold_of_point(self.n_points - 1)
        # floor with a little slack: 0.3 * 10 is 3.0000000000000004 in floating point
        allowed = math.floor(fpr * self.n_neg + 1e-9)
        k = int(self.fps.searchsorted(allowed, "right")) - 1
        return self.threshold_of_point(max(k, 0))

    def threshold_for_tpr(self, tpr: float) -> float:
        """The highest threshold whose true-positive rate (recall) is at least ``tpr``."""
        if not self.n_pos:
            return self.threshold_of_point(0)
        needed = math.ceil(tpr * self.n_pos - 1e-9)
        k = int(self.tps.searchsorted(needed, "left"))
        return self.threshold_of_point(min(k, self.n_points - 1))

    def threshold_at_roc_point(self, fpr: float, tpr: float) -> float:
        """Threshold of the curve point nearest ``(fpr, tpr)``: for dragging on the ROC plot.

        O(log n): of the two candidates found by FPR and by TPR, the one nearer (Euclidean)
        the pointer wins; on a monotone curve one of them is the nearest point or next to it.
        """
        best, best_d = 0.0, math.inf
        for t in (self.threshold_for_fpr(fpr), self.threshold_for_tpr(tpr)):
            m = self.metrics_at(t)
            d = (np.nan_to_num(m["fpr"]) - fpr) ** 2 + (np.nan_to_num(m["tpr"]) - tpr) ** 2
            if d < best_d:
                best, best_d = t, d
        return best

    def _best_point(self, objective: np.ndarray) -> int:
        """Index of the maximum of ``objective`` (ties go to the highest threshold)."""
        return int(np.argmax(objective))

    def best_f1_threshold(self) -> float | None:
        """Threshold with the highest F1 of the positive class; None with no positive rows."""
        if not self.n_pos:
            return None
        tps = self.tps.astype(np.float64)
        f1 = 2 * tps / (tps + self.fps + self.n_pos)  # 2tp / (2tp + fp + fn)
        return self.threshold_of_point(self._best_point(f1))

    def youden_threshold(self) -> float | None:
        """Threshold with the highest Youden's J = TPR - FPR; None when a class is absent."""
        if not (self.n_pos and self.n_neg):
            return None
        j = self.tps / self.n_pos - self.fps / self.n_neg
        return self.threshold_of_point(self._best_point(j))

    def min_cost_threshold(self, cost_fp: float = 1.0, cost_fn: float = 1.0) -> float:
        """Threshold with the lowest total cost ``cost_fp * FP + cost_fn * FN``.

        Raises
        ------
        EvalStudioError
            A cost is negative or not finite, or both are zero.
        """
        for name, c in (("false-positive", cost_fp), ("false-negative", cost_fn)):
            if not (math.isfinite(c) and c >= 0):
                raise EvalStudioError(
                    f"the {name} cost is {c!r};", hint="costs must be finite numbers >= 0."
                )
        if cost_fp == 0 and cost_fn == 0:
            raise EvalStudioError(
                "both costs are zero, so every threshold costs the same;",
                hint="give a positive cost to false positives, false negatives or both.",
            )
        cost = cost_fp * self.fps.astype(np.float64) + cost_fn * (self.n_pos - self.tps.astype(np.float64))
        return self.threshold_of_point(self._best_point(-cost))

    def suggested_thresholds(self, cost_fp: float = 1.0, cost_fn: float = 1.0) -> dict[str, float | None]:
        """The one-click choices of the views: default 0.5, max F1, Youden's J, min cost."""
        return {
            "default": 0.5,
            "max_f1": self.best_f1_threshold(),
            "youden": self.youden_threshold(),
            "min_cost": self.min_cost_threshold(cost_fp, cost_fn),
        }
