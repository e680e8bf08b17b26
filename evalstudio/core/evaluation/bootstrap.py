"""Every metric of one or more models on every stratified bootstrap resample, vectorised.

This is the engine behind the intervals (:mod:`~evalstudio.core.evaluation.intervals`) and the
paired comparison of models: :func:`resample_metrics` evaluates several models' predictions on
the **same** resamples and returns, per model, one value per resample of every metric of the
report, so the interval of a difference is a percentile of per-resample differences.

How it is fast: a resample is a weight per row (:class:`StratifiedBootstrap`); each class's rows
are sorted by score once, as the threshold table sorts them, so the weighted cumulative counts
of positives and negatives below every score are two cumulative sums per resample. From those,
a confusion matrix at any threshold is one column lookup, ROC AUC is the Mann-Whitney count of
weighted (positive, negative) pairs (exact integers, ties counting one half), average precision
is a sum over the distinct positive scores, and log loss is one matrix-vector product. No
resample is materialised, nothing is re-sorted, and resamples are processed a few at a time so
memory stays bounded (about 2**22 weights at once) at any size.

API
---
``resample_metrics(predictions, bootstrap, *, threshold=0.5, positive=1, keep_counts=False,
should_stop=None, on_progress=None) -> list[ResampledMetrics]``

- ``predictions``: a sequence of :class:`Predictions` over the same rows (same ``y_true``, in the
  same order), e.g. two models scored on one test file;
- ``bootstrap``: ``StratifiedBootstrap(y_true, n_resamples=1000, seed=0)``;
- each :class:`ResampledMetrics` has ``values[key]`` of shape ``(n_resamples,)`` for every key of
  ``EvaluationReport.metrics`` (binary at ``threshold``, multiclass by argmax), and, with
  ``keep_counts=True``, :class:`ResampledCounts` that give the per-resample confusion counts at
  any other threshold in O(n_resamples) (binary; per class one-vs-rest for multiclass).

Numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evalstudio.core.errors import Cancelled
from evalstudio.core.evaluation.batch_metrics import (
    binary_metrics_from_count_arrays,
    multiclass_metrics_from_confusions,
)
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampling import BLOCK_ELEMENTS, StratifiedBootstrap, byte_cumsum

__all__ = ["ResampledCounts", "ResampledMetrics", "StratifiedBootstrap", "resample_metrics"]

BINARY_DROPPED = ("fpr", "tpr", "npv")  # computed from counts but not keys of the report

#: What ``should_stop`` raises: the core's :class:`~evalstudio.core.errors.Cancelled` (the name the
#: engine's first version exported, kept for callers).
BootstrapCancelled = Cancelled


@dataclass(frozen=True, eq=False)
class ResampledCounts:
    """Per resample, the weighted counts below every score of one class-vs-rest problem.

    Attributes
    ----------
    pos_scores, neg_scores : ndarray of shape (n_pos,), (n_neg,)
        The positive / negative rows' scores, ascending, in the scores' dtype.
    cum_pos, cum_neg : ndarray of shape (n_resamples, n_pos + 1), (n_resamples, n_neg + 1)
        ``cum_pos[b, r]``: how many draws of resample ``b`` fell on the ``r`` lowest-scoring
        positive rows (likewise for negatives).
    """

    pos_scores: np.ndarray
    neg_scores: np.ndarray
    cum_pos: np.ndarray
    cum_neg: np.ndarray

    def counts_at(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(tn, fp, fn, tp)``, each of shape (n_resamples,), when ``score >= threshold`` is positive.

        The threshold is compared in the scores' dtype, as :class:`ThresholdTable` compares it.
        """
        kp = int(self.pos_scores.searchsorted(self.pos_scores.dtype.type(threshold), "left"))
        kn = int(self.neg_scores.searchsorted(self.neg_scores.dtype.type(threshold), "left"))
        fn = self.cum_pos[:, kp].astype(np.int64)
        tn = self.cum_neg[:, kn].astype(np.int64)
        return tn, self.neg_scores.size - tn, fn, self.pos_scores.size - fn

    @property
    def nbytes(self) -> int:
        return int(self.cum_pos.nbytes + self.cum_neg.nbytes)


@dataclass(frozen=True, eq=False)
class ResampledMetrics:
    """Every metric of one model on every resample.

    Attributes
    ----------
    values : dict of str to ndarray of shape (n_resamples,)
        One entry per key of ``EvaluationReport.metrics`` (NaN where a metric is undefined).
    threshold : float or None
        Binary: the threshold of the threshold metrics. None for multiclass.
    positive : int or None
    counts : ResampledCounts or None
        Binary, with ``keep_counts``: the lookups for any other threshold.
    class_counts : tuple of ResampledCounts
        Multiclass, with ``keep_counts``: one per class (that class against the rest).
    """

    values: dict[str, np.ndarray]
    threshold: float | None
    positive: int | None
    counts: ResampledCounts | None = None
    class_counts: tuple[ResampledCounts, ...] = field(default=())

    @property
    def n_resamples(self) -> int:
        return int(next(iter(self.values.values())).shape[0])


def per_row_log_loss(pred: Predictions) -> np.ndarray:
    """``-log p(true class)`` of every row, clipped as :func:`~evalstudio.core.evaluation.metrics.log_loss`."""
    s = np.asarray(pred.y_score)
    if s.dtype not in (np.float32, np.float64):
        s = s.astype(np.float64)
    p = s[np.arange(s.shape[0]), pred.y_true]
    eps = np.finfo(s.dtype).eps
    return np.asarray(-np.log(np.clip(p, eps, 1 - eps).astype(np.float64)))


class _OneVsRest:
    """One class's rows against all others, each side sorted once by ``score``."""

    def __init__(self, boot: StratifiedBootstrap, y: np.ndarray, score: np.ndarray, cls: int) -> None:
        start, stop = boot.class_offsets.get(cls, (0, 0))
        cols = np.arange(boot.n_samples)
        pos_cols, neg_cols = cols[start:stop], np.concatenate([cols[:start], cols[stop:]])
        s_pos, s_neg = score[boot.grouped_rows[pos_cols]], score[boot.grouped_rows[neg_cols]]
        op, on = np.argsort(s_pos, kind="stable"), np.argsort(s_neg, kind="stable")
        self.pos_cols, self.neg_cols = pos_cols[op], neg_cols[on]
        self.sp, self.sn = s_pos[op], s_neg[on]
        self.n_pos, self.n_neg = int(self.sp.size), int(self.sn.size)
        # One step of the curves per distinct positive score: its positives, the negatives strictly
        # below it (ROC AUC credit, and average precision's false positives) and those tied with it.
        g = np.flatnonzero(self.sp[1:] != self.sp[:-1]) + 1
        self.g_start = np.concatenate([[0], g]).astype(np.intp)
        self.g_end = np.concatenate([g, [self.n_pos]]).astype(np.intp)
        self.distinct = self.g_start.size == self.n_pos  # no ties among positives: steps are weights
        self.g_lo = self.sn.searchsorted(self.sp[self.g_start], "left").astype(np.intp)
        self.g_hi = self.sn.searchsorted(self.sp[self.g_start], "right").astype(np.intp)
        self.cross_ties = bool((self.g_hi != self.g_lo).any())

    def cumulative(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(cum_pos, cum_neg, w_pos)`` from grouped weights ``w`` (b, n_samples).

        ``cum_*`` are int32 of shape (b, n + 1) (counts below each sorted position); ``w_pos`` the
        positives' weights in ascending score order.
        """
        wp = w.take(self.pos_cols, axis=1)
        return byte_cumsum(wp), byte_cumsum(w.take(self.neg_cols, axis=1)), wp

    def curves(self, cp: np.ndarray, cn: np.ndarray, wp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(roc_auc, average_precision)`` of each resample, as scikit-learn computes them.

        ROC AUC is the weighted Mann-Whitney count over (positive, negative) pairs, a tie counting
        one half, divided by ``n_pos n_neg`` (the trapezoids of ``roc_auc_score``), summed exactly
        in integers. Average precision sums, over distinct positive scores, the recall step times
        the precision there (``average_precision_score``).
        """
        b = cp.shape[0]
        if not self.n_pos:
            nan = np.full(b, np.nan)
            return nan, nan.copy()
        if self.distinct:
            step, below = wp, cp[:, :-1]
        else:
            below = cp.take(self.g_start, axis=1)
            step = cp.take(self.g_end, axis=1) - below
        # float64 holds these integer counts, and the sums of their products, exactly (< 2**53)
        lo = cn.take(self.g_lo, axis=1)
        if not self.n_neg:
            auc = np.full(b, np.nan)
        elif self.cross_ties:  # a tied negative counts one half: sum twice the credit, halve once
            auc = np.einsum("bg,bg->b", step, (lo + cn.take(self.g_hi, axis=1)).astype(np.float64))
            auc /= 2.0 * self.n_pos * self.n_neg
        else:
            auc = np.einsum("bg,bg->b", step, lo.astype(np.float64)) / (float(self.n_pos) * self.n_neg)
        tp = self.n_pos - below.astype(np.float64)
        predicted = tp + (self.n_neg - lo)
        np.maximum(predicted, 1.0, out=predicted)  # 0 only where tp = 0 and the step is 0 too
        np.divide(tp, predicted, out=tp)
        return auc, np.einsum("bg,bg->b", step, tp) / self.n_pos


@dataclass
class _Plan:
    """What one model needs per block of resamples, and where its values go."""

    pred: Predictions
    losses: np.ndarray  # per-row log loss in the bootstrap's grouped column order
    values: dict[str, np.ndarray]
    ovr: list[_OneVsRest]
    binary: bool
    positive: int
    threshold: float
    cm_cols: np.ndarray | None = None  # multiclass: columns ordered by (true, predicted) cell
    cm_starts: np.ndarray | None = None
    cm_cells: np.ndarray | None = None
    kept: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def _plan(pred: Predictions, boot: StratifiedBootstrap, threshold: float, positive: int, keep: bool) -> _Plan:
    y = pred.y_true
    losses = per_row_log_loss(pred)[boot.grouped_rows]
    b = boot.n_resamples
    binary = pred.task == "binary"
    if binary:
        ovr = [_OneVsRest(boot, y, pred.y_score[:, positive], positive)]
        plan = _Plan(pred, losses, {}, ovr, True, positive, float(threshold))
    else:
        ovr = [_OneVsRest(boot, y, pred.y_score[:, k], k) for k in range(pred.n_classes)]
        plan = _Plan(pred, losses, {}, ovr, False, 0, float(threshold))
        k = pred.n_classes
        cell = y[boot.grouped_rows] * k + pred.argmax()[boot.grouped_rows]
        order = np.argsort(cell, kind="stable")
        sorted_cells = cell[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_cells[1:] != sorted_cells[:-1]]))
        plan.cm_cols, plan.cm_starts, plan.cm_cells = order, starts, sorted_cells[starts]
    if keep:
        for o in ovr:
            dtype = np.uint16 if boot.n_samples < 2**16 else np.int32
            plan.kept.append((np.zeros((b, o.n_pos + 1), dtype), np.zeros((b, o.n_neg + 1), dtype)))
    return plan


def _fill(plan: _Plan, first: int, w: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of ``plan``'s model on the resamples whose weights are ``w`` (b, n_samples)."""
    n = w.shape[1]
    out: dict[str, np.ndarray] = {}
    cums = [o.cumulative(w) for o in plan.ovr]
    for (kp, kn), (cp, cn, _) in zip(plan.kept, cums):
        kp[first:first + w.shape[0]] = cp
        kn[first:first + w.shape[0]] = cn
    if plan.binary:
        o, (cp, cn, wp) = plan.ovr[0], cums[0]
        t = o.sp.dtype.type(plan.threshold)
        fn = cp[:, int(o.sp.searchsorted(t, "left"))].astype(np.int64)
        tn = cn[:, int(o.sn.searchsorted(t, "left"))].astype(np.int64)
        m = binary_metrics_from_count_arrays(tn, o.n_neg - tn, fn, o.n_pos - fn)
        for key in BINARY_DROPPED:
            del m[key]
        out.update(m)
        out["roc_auc"], out["average_precision"] = o.curves(cp, cn, wp)
    else:
        assert plan.cm_cols is not None and plan.cm_starts is not None and plan.cm_cells is not None
        k = plan.pred.n_classes
        sums = np.add.reduceat(w.take(plan.cm_cols, axis=1), plan.cm_starts, axis=1, dtype=np.int64)
        cm = np.zeros((w.shape[0], k * k), dtype=np.int64)
        cm[:, plan.cm_cells] = sums
        out.update(multiclass_metrics_from_confusions(cm.reshape(-1, k, k)))
        curves = [o.curves(*c) for o, c in zip(plan.ovr, cums)]
        aucs = np.stack([c[0] for c in curves])
        aps = np.stack([c[1] for c in curves])
        out["roc_auc"] = _mean_defined(aucs)
        out["average_precision"] = _mean_defined(aps)
    out["log_loss"] = np.einsum("bn,n->b", w, plan.losses) / n
    return out


def _mean_defined(rows: np.ndarray) -> np.ndarray:
    """Mean over classes of per-class values, leaving out classes undefined in every resample."""
    defined = ~np.isnan(rows).all(axis=1)
    if not defined.any():
        return np.full(rows.shape[1], np.nan)
    return np.asarray(rows[defined].mean(axis=0))


def resample_metrics(
    predictions: Sequence[Predictions],
    bootstrap: StratifiedBootstrap,
    *,
    threshold: float = 0.5,
    positive: int = 1,
    keep_counts: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    n_threads: int = 1,
) -> list[ResampledMetrics]:
    """Every metric of each model in ``predictions`` on every resample of ``bootstrap``.

    Parameters
    ----------
    predictions : sequence of Predictions
        Over the same rows as ``bootstrap`` (equal ``y_true``); several models share resamples.
    bootstrap : StratifiedBootstrap
    threshold, positive : binary decision threshold and positive class index.
    keep_counts : bool
        Keep each resample's cumulative counts (memory ~ n_resamples x n_samples x 2 bytes) so
        the metrics at any other threshold are a lookup (:class:`ResampledCounts`).
    should_stop : callable, optional
        Checked between blocks; True raises :class:`~evalstudio.core.errors.Cancelled`.
    on_progress : callable, optional
        ``on_progress(done, total)`` resamples after each block (called from the calling thread).
    n_threads : int
        Threads that process blocks of resamples side by side; the results do not depend on it.

    Returns
    -------
    list of ResampledMetrics, one per model
    """
    plans = []
    for pred in predictions:
        if pred.n_samples != bootstrap.n_samples:
            raise ValueError(f"the predictions hold {pred.n_samples} rows but the resamples {bootstrap.n_samples}")
        plans.append(_plan(pred, bootstrap, threshold, positive, keep_counts))
    for p in plans[1:]:
        if not np.array_equal(p.pred.y_true, plans[0].pred.y_true):
            raise ValueError("models compared on the same resamples need the same rows and labels")
    total = bootstrap.n_resamples
    # Each block is processed a few resamples at a time: the cumulative counts are int32, 4x the weights.
    step = max(1, BLOCK_ELEMENTS // (4 * max(bootstrap.n_samples, 1)))

    def run_block(index: int) -> int:
        first, w = index * bootstrap.block, bootstrap.block_weights(index)
        for a in range(0, w.shape[0], step):
            part = w[a:a + step]
            for plan in plans:
                for key, v in _fill(plan, first + a, part).items():
                    plan.values.setdefault(key, np.empty(total))[first + a:first + a + part.shape[0]] = v
        return int(first + w.shape[0])

    def stop_now() -> bool:
        return should_stop is not None and bool(should_stop())

    if stop_now():
        raise Cancelled()
    done = run_block(0)  # first, alone: it creates every result array (the threads then fill slices)
    if on_progress is not None:
        on_progress(done, total)
    rest = range(1, bootstrap.n_blocks)
    if n_threads > 1 and len(rest) > 1:
        # Blocks have their own random streams and write disjoint slices: any number of threads gives
        # the same numbers. numpy releases the GIL in the heavy calls (take, cumsum, einsum).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            futures = [pool.submit(run_block, i) for i in rest]
            for future in futures:
                if stop_now():
                    for f in futures:
                        f.cancel()
                    raise Cancelled()
                done = max(done, future.result())
                if on_progress is not None:
                    on_progress(done, total)
    else:
        for i in rest:
            if stop_now():
                raise Cancelled()
            done = run_block(i)
            if on_progress is not None:
                on_progress(done, total)
    results = []
    for plan in plans:
        report_keys = _report_order(plan.values)
        counts = None
        class_counts: tuple[ResampledCounts, ...] = ()
        if keep_counts:
            made = tuple(ResampledCounts(o.sp, o.sn, kp, kn) for o, (kp, kn) in zip(plan.ovr, plan.kept))
            counts, class_counts = (made[0], ()) if plan.binary else (None, made)
        results.append(ResampledMetrics(report_keys, plan.threshold if plan.binary else None,
                                        plan.positive if plan.binary else None, counts, class_counts))
    return results


def _report_order(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from evalstudio.core.evaluation.metrics import METRIC_ORDER

    out = {k: values[k] for k in METRIC_ORDER if k in values}
    out.update((k, v) for k, v in values.items() if k not in out)
    return out
