"""Every metric of one or more models on every stratified bootstrap resample, vectorised.

This is the engine behind the intervals (:mod:`~evalstudio.core.evaluation.intervals`) and the
paired comparison of models: :func:`resample_metrics` evaluates several models' predictions on
the **same** resamples and returns, per model, one value per resample of every metric of the
report, so the interval of a difference is a percentile of per-resample differences.

How it is fast: a resample is a weight per row (:class:`StratifiedBootstrap`), and a block of
``b`` resamples is a uint8 matrix with one row of ``b`` weights per data row. Each class's rows are
sorted by score once, as the threshold table sorts them; per block, the weights are taken in that
order a chunk of rows at a time (whole rows: one cache line each) and summed down the rows four
resamples to a 64-bit word, which gives the weighted counts of positives and negatives below every
positive score. From those, ROC AUC is the Mann-Whitney count of weighted (positive, negative)
pairs (exact integers, ties counting one half) and average precision a sum over the distinct
positive scores. The confusion counts at the threshold and log loss are one matrix product per
class (indicator and loss columns against the weights). No resample is materialised, nothing is
re-sorted, and memory stays bounded (a block is about 2**27 weights) at any size.

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

The resamples are the bootstrap's blocks: weights, and so every value, depend on the labels and
the seed only (not on the scores, nor on how many threads process the blocks).

Numpy only.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evalstudio.core.errors import Cancelled
from evalstudio.core.evaluation.batch_metrics import (
    binary_metrics_from_count_arrays,
    multiclass_metrics_from_confusions,
)
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampled_curves import OneVsRest
from evalstudio.core.evaluation.resampling import LANE_ROWS, StratifiedBootstrap

__all__ = ["ResampledCounts", "ResampledMetrics", "StratifiedBootstrap", "resample_metrics"]

BINARY_DROPPED = ("fpr", "tpr", "npv")  # computed from counts but not keys of the report
_GEMV_COLUMNS = 128

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
    cum_pos, cum_neg : ndarray of shape (n_pos + 1, n_resamples), (n_neg + 1, n_resamples)
        ``cum_pos[r, b]``: how many draws of resample ``b`` fell on the ``r`` lowest-scoring
        positive rows (likewise for negatives). A threshold reads one contiguous row of each.
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
        fn = self.cum_pos[kp].astype(np.int64)
        tn = self.cum_neg[kn].astype(np.int64)
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


@dataclass
class _Plan:
    """What one model needs per block of resamples, and where its values go."""

    pred: Predictions
    values: dict[str, np.ndarray]
    ovr: list[OneVsRest]
    binary: bool
    positive: int
    threshold: float
    columns: list[np.ndarray]  # per class matrix: (n_c, 1 + m) float64, log loss then indicator columns
    labels: list[int]  # the class of each class matrix
    kept: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


def _plan(pred: Predictions, boot: StratifiedBootstrap, threshold: float, positive: int, keep: bool) -> _Plan:
    losses = per_row_log_loss(pred)[boot.grouped_rows]
    binary = pred.task == "binary"
    labels = list(boot.class_offsets)
    columns = []
    if binary:  # the threshold's counts come with the curves: log loss alone here
        ind = np.zeros((boot.n_samples, 0))
        ovr = [OneVsRest(boot, pred.y_score[:, positive], positive)]
    else:
        ind = np.eye(pred.n_classes)[pred.argmax()[boot.grouped_rows]]  # confusion matrix row of each class
        ovr = [OneVsRest(boot, pred.y_score[:, k], k) for k in range(pred.n_classes)]
    for start, stop in boot.class_offsets.values():
        columns.append(np.ascontiguousarray(np.column_stack([losses[start:stop], ind[start:stop]])))
    plan = _Plan(pred, {}, ovr, binary, positive if binary else 0, float(threshold), columns, labels)
    if keep:
        dtype = np.uint16 if boot.n_samples < 2**16 else np.int32
        for o in ovr:
            plan.kept.append((np.zeros((o.n_pos + 1, boot.n_resamples), dtype),
                              np.zeros((o.n_neg + 1, boot.n_resamples), dtype)))
    return plan


def _weighted_sums(part: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``cols.T @ part`` (m, b) float64: exact for the indicator columns, the loss summed in float64.

    A cache-sized slice at a time. One column (binary: the loss alone) is a matrix-vector product
    per slice of at most :data:`_GEMV_COLUMNS` resamples, a size OpenBLAS runs in the calling
    thread (twice as fast as ``einsum`` here; larger ones it spreads over threads that spin after the call
    and take CPU from the other blocks' threads); several columns go through ``einsum``. ``np.dot``,
    not ``@``: the same BLAS call, but ``np.dot`` releases the GIL around it and the ``matmul`` ufunc
    does not (a one-item loop is under numpy's threshold for releasing it), which stalls the other
    blocks' threads.
    """
    out = np.zeros((cols.shape[1], part.shape[1]))
    for a in range(0, part.shape[0], LANE_ROWS):
        block = part[a:a + LANE_ROWS].astype(np.float64)
        if cols.shape[1] == 1:
            loss = cols[a:a + LANE_ROWS, 0]
            for c in range(0, block.shape[1], _GEMV_COLUMNS):
                out[0, c:c + _GEMV_COLUMNS] += np.dot(loss, block[:, c:c + _GEMV_COLUMNS])
        else:
            out += np.einsum("nm,nb->mb", cols[a:a + LANE_ROWS], block)
    return out


def _fill(plan: _Plan, first: int, parts: list[np.ndarray], top: int) -> dict[str, np.ndarray]:
    """Every metric of ``plan``'s model on one block of resamples (``parts``: its class matrices)."""
    n = sum(p.shape[0] for p in parts)
    b = parts[0].shape[1]
    cached: list[np.ndarray] = []

    def whole() -> np.ndarray:
        if not cached:
            cached.append(np.concatenate(parts) if len(parts) > 1 else parts[0])
        return cached[0]

    out: dict[str, np.ndarray] = {}
    sums = [_weighted_sums(p, c) for p, c in zip(parts, plan.columns)]
    for o, (kp, kn) in zip(plan.ovr, plan.kept):
        kp[:, first:first + b] = o.cumulative(o.pos, o.pos.source(parts, whole), top)
        kn[:, first:first + b] = o.cumulative(o.neg, o.neg.source(parts, whole), top)
    if plan.binary:
        o = plan.ovr[0]
        t = o.sp.dtype.type(plan.threshold)
        at = (int(o.sp.searchsorted(t, "left")), int(o.sn.searchsorted(t, "left")))
        auc, ap, fn, tn = o.curves(o.pos.source(parts, whole), o.neg.source(parts, whole), top, at)
        m = binary_metrics_from_count_arrays(tn, o.n_neg - tn, fn, o.n_pos - fn)
        for key in BINARY_DROPPED:
            del m[key]
        out.update(m)
        out["roc_auc"], out["average_precision"] = auc, ap
    else:
        k = plan.pred.n_classes
        cm = np.zeros((b, k, k))
        for label, s in zip(plan.labels, sums):
            cm[:, label, :] = s[1:].T
        out.update(multiclass_metrics_from_confusions(cm))
        curves = [o.curves(o.pos.source(parts, whole), o.neg.source(parts, whole), top)[:2] for o in plan.ovr]
        out["roc_auc"] = _mean_defined(np.stack([c[0] for c in curves]))
        out["average_precision"] = _mean_defined(np.stack([c[1] for c in curves]))
    out["log_loss"] = sum(s[0] for s in sums) / n
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
    processes: bool = False,
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
    processes : bool
        Run the blocks in ``n_threads`` forked worker processes instead of threads (each block's
        values come back; nothing large is copied: the workers share the parent's memory). Threads
        of one process wait on each other for the GIL in the calls numpy runs holding it (the
        running sums), processes do not. Only where ``fork`` is safe (Linux), only without
        ``keep_counts`` (the counts are the workers' memory) and only with several blocks; otherwise
        threads. If a worker dies (killed, out of memory), its blocks are run here, in threads.
        The numbers are the same either way. Not for a process with a Qt event loop (the app).

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

    def store(index: int, values: list[dict[str, np.ndarray]]) -> int:
        """Put block ``index``'s values in place; return its number of resamples."""
        first = index * bootstrap.block
        for plan, vals in zip(plans, values):
            for key, v in vals.items():
                plan.values.setdefault(key, np.empty(total))[first:first + v.shape[0]] = v
        return min(total, first + bootstrap.block) - first

    def run_block(index: int) -> int:
        return store(index, _block_values(plans, bootstrap, index))

    def stop_now() -> bool:
        return should_stop is not None and bool(should_stop())

    if stop_now():
        raise Cancelled()
    done = 0
    blocks = list(range(bootstrap.n_blocks))
    if runs_in_processes(bootstrap, n_threads, processes, keep_counts):
        def collected(index: int, values: list[dict[str, np.ndarray]]) -> None:
            nonlocal done
            done += store(index, values)
            if on_progress is not None:
                on_progress(done, total)

        blocks = _run_in_processes(plans, bootstrap, blocks, n_threads, stop_now, collected)
    if n_threads > 1 and len(blocks) > 1:
        # Blocks have their own random streams and write disjoint slices (each result array is made
        # by whichever block comes first: dict.setdefault is atomic): any number of threads gives
        # the same numbers. numpy releases the GIL in most heavy calls (take, comparisons, astype).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            futures = [pool.submit(run_block, i) for i in blocks]
            for future in futures:
                if stop_now():
                    for f in futures:
                        f.cancel()
                    raise Cancelled()
                done += future.result()
                if on_progress is not None:
                    on_progress(done, total)
    else:
        for n, i in enumerate(blocks):
            if n and stop_now():
                raise Cancelled()
            done += run_block(i)
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


def _block_values(plans: Sequence[_Plan], bootstrap: StratifiedBootstrap, index: int) -> list[dict[str, np.ndarray]]:
    """Every plan's metrics on block ``index`` of ``bootstrap``'s resamples."""
    parts, top = bootstrap.draw_block(index)
    return [_fill(plan, index * bootstrap.block, parts, top) for plan in plans]


def runs_in_processes(bootstrap: StratifiedBootstrap, n_threads: int, processes: bool,
                      keep_counts: bool = False) -> bool:
    """Whether :func:`resample_metrics` with these arguments forks worker processes (else threads,
    or this thread alone)."""
    return processes and n_threads > 1 and bootstrap.n_blocks > 1 and not keep_counts and fork_is_safe()


def fork_is_safe() -> bool:
    """Whether :func:`resample_metrics` may fork worker processes here: Linux, where ``fork`` is
    the platform's own way (macOS's system libraries are not fork-safe, Windows has no fork)."""
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


#: What forked workers find: each call's plans and resamples under a token (the children inherit
#: this dictionary as it is when they are forked, so nothing is pickled on the way in).
_FORKED: dict[int, tuple[Sequence[_Plan], StratifiedBootstrap]] = {}
_TOKENS = itertools.count()


def _forked_block(token: int, index: int) -> tuple[int, list[dict[str, np.ndarray]]]:
    plans, bootstrap = _FORKED[token]
    return index, _block_values(plans, bootstrap, index)


def _run_in_processes(plans: Sequence[_Plan], bootstrap: StratifiedBootstrap, blocks: list[int], workers: int,
                      stop_now: Callable[[], bool],
                      collected: Callable[[int, list[dict[str, np.ndarray]]], None]) -> list[int]:
    """Run ``blocks`` in forked worker processes, handing each block's values to ``collected`` as
    it arrives; return the blocks left undone (no worker could be started, or one died: they run in
    threads after)."""
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    token = next(_TOKENS)
    _FORKED[token] = (plans, bootstrap)
    left = set(blocks)
    cancelled = False
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns on fork() in a process with threads (torch's, Qt's): the children
            # run numpy on inherited arrays and exit, never touching those threads' locks.
            warnings.simplefilter("ignore", DeprecationWarning)
            pool = ProcessPoolExecutor(max_workers=min(workers, len(blocks)),
                                       mp_context=multiprocessing.get_context("fork"))
            try:
                futures = [pool.submit(_forked_block, token, i) for i in blocks]
            except (OSError, BrokenProcessPool):  # no workers to be had (memory, process limits): threads
                pool.shutdown(wait=False, cancel_futures=True)
                return sorted(left)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        try:
            for future in as_completed(futures):
                if stop_now():
                    cancelled = True
                    raise Cancelled()
                index, values = future.result()
                collected(index, values)
                left.discard(index)
        except BrokenProcessPool:
            pass  # a worker was killed: the blocks it did not return run in threads
        finally:
            pool.shutdown(wait=not cancelled, cancel_futures=True)
    finally:
        del _FORKED[token]
    return sorted(left)


def _report_order(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from evalstudio.core.evaluation.metrics import METRIC_ORDER

    out = {k: values[k] for k in METRIC_ORDER if k in values}
    out.update((k, v) for k, v in values.items() if k not in out)
    return out
