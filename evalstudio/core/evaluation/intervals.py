"""A 95 % interval on every number: percentile intervals from the stratified bootstrap.

``bootstrap_intervals(pred, threshold=..., positive=...)`` resamples the rows (stratified by class,
seeded: a rerun gives identical numbers), computes every metric of the report on every resample
(:mod:`~evalstudio.core.evaluation.bootstrap`) and keeps the per-resample values, so
:meth:`BootstrapIntervals.intervals` is the percentile interval of each metric, and with
``keep_counts=True`` :meth:`BootstrapIntervals.at_threshold` gives the intervals at any other
threshold in well under a millisecond (the slider). :func:`fold_mean_interval` is the interval
of a mean over k folds (Student's t).

JSON (``evaluate --json``)::

    "intervals": {"accuracy": {"low": 0.7078, "high": 0.8377}, ...every key of "metrics"...}
    "interval": {"method": "stratified bootstrap (percentile)", "confidence": 0.95,
                 "resamples": 1000, "seed": 0}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from evalstudio.core.errors import EvalStudioError
from evalstudio.core.evaluation.batch_metrics import binary_metrics_from_count_arrays
from evalstudio.core.evaluation.bootstrap import (
    BINARY_DROPPED,
    ResampledCounts,
    ResampledMetrics,
    resample_metrics,
)
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampling import StratifiedBootstrap

__all__ = [
    "BootstrapIntervals",
    "IntervalSettings",
    "MetricIntervals",
    "bootstrap_intervals",
    "fold_mean_interval",
    "fold_mean_intervals",
    "percentile_interval",
]

METHOD = "stratified bootstrap (percentile)"
THRESHOLD_FREE = ("roc_auc", "average_precision", "log_loss")
#: The range of each metric whose range is not [0, 1].
METRIC_RANGES: dict[str, tuple[float, float]] = {"mcc": (-1.0, 1.0), "log_loss": (0.0, math.inf)}


@dataclass(frozen=True)
class IntervalSettings:
    """How intervals are computed: ``--confidence``, ``--resamples``, the seed."""

    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    method: str = METHOD

    def __post_init__(self) -> None:
        if not (isinstance(self.confidence, (int, float)) and 0.0 < float(self.confidence) < 1.0):
            raise EvalStudioError(f"the confidence level {self.confidence!r} is not between 0 and 1.",
                                  hint="Give a level such as 0.95 (a 95 % interval).")
        if not isinstance(self.resamples, (int, np.integer)) or isinstance(self.resamples, bool) or self.resamples < 2:
            raise EvalStudioError(f"{self.resamples!r} resamples are too few for an interval.",
                                  hint="Use at least 200; 1000 (the default) gives stable 95 % limits.")

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "confidence": float(self.confidence), "resamples": int(self.resamples),
                "seed": int(self.seed)}


def percentile_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` share of ``values`` (NaNs left out): ``(low, high)``.

    Quantiles interpolate linearly (numpy's default), at ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2``. ``(nan, nan)`` when no value is defined.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(v, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
    return float(lo), float(hi)


def _quantiles(rows: np.ndarray, q: tuple[float, float]) -> np.ndarray:
    """``np.quantile(rows, q, axis=1)`` (linear interpolation, numpy's formula) from a partial sort:
    only the four order statistics needed are placed, O(n) per row instead of a full sort (the
    slider computes these on every tick)."""
    n = rows.shape[1]
    pos = np.array(q) * (n - 1)
    below = np.floor(pos).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    part = np.partition(rows, np.unique(np.concatenate([below, above])), axis=1)
    a, b = part[:, below].T, part[:, above].T  # (2, n_rows)
    t = (pos - below)[:, None]
    # numpy's _lerp: exact at both ends, symmetric around t = 0.5
    diff = b - a
    return np.asarray(np.where(t >= 0.5, b - diff * (1 - t), a + diff * t))


def _intervals_of(values: Mapping[str, np.ndarray], confidence: float) -> dict[str, tuple[float, float]]:
    """Percentile intervals of several metrics at once (one quantile call on a stacked array)."""
    keys = list(values)
    if not keys:
        return {}
    stack = np.vstack([np.asarray(values[k], dtype=np.float64) for k in keys])
    q = ((1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0)
    out: dict[str, tuple[float, float]] = {}
    complete = ~np.isnan(stack).any(axis=1)
    if complete.any():
        lims = _quantiles(stack[complete], q)
        for j, i in enumerate(np.flatnonzero(complete)):
            out[keys[i]] = (float(lims[0, j]), float(lims[1, j]))
    for i in np.flatnonzero(~complete):
        out[keys[i]] = percentile_interval(stack[i], confidence)
    return {k: out[k] for k in keys}


def _json_number(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


@dataclass(frozen=True, eq=False)
class MetricIntervals:
    """Interval of every metric of one evaluation (at one threshold).

    Attributes
    ----------
    limits : dict of str to (float, float)
        ``(low, high)`` of each metric key of the report; NaN where the metric is undefined.
    settings : IntervalSettings
    threshold : float or None
    """

    limits: dict[str, tuple[float, float]]
    settings: IntervalSettings
    threshold: float | None = None

    def __getitem__(self, key: str) -> tuple[float, float]:
        return self.limits[key]

    def __contains__(self, key: object) -> bool:
        return key in self.limits

    def to_json(self) -> dict[str, Any]:
        """``{"intervals": {key: {"low", "high"}}, "interval": {"method", "confidence", "resamples", "seed"}}``."""
        return {
            "intervals": {k: {"low": _json_number(lo), "high": _json_number(hi)} for k, (lo, hi) in self.limits.items()},
            "interval": self.settings.to_json(),
        }


@dataclass(frozen=True, eq=False)
class BootstrapIntervals:
    """The per-resample metrics of one evaluation, and the intervals they give.

    Attributes
    ----------
    resampled : ResampledMetrics
        Every metric on every resample (the raw material; a comparison of models reads it).
    settings : IntervalSettings
    """

    resampled: ResampledMetrics
    settings: IntervalSettings

    def intervals(self) -> MetricIntervals:
        """Intervals of every metric at the evaluation's own threshold."""
        return MetricIntervals(_intervals_of(self.resampled.values, self.settings.confidence), self.settings,
                               self.resampled.threshold)

    @property
    def has_counts(self) -> bool:
        return self.resampled.counts is not None or bool(self.resampled.class_counts)

    def at_threshold(self, threshold: float) -> MetricIntervals:
        """Binary: every metric's interval at another threshold, from the kept counts (O(resamples)).

        Raises
        ------
        ValueError
            The intervals were computed without ``keep_counts`` (or the task is multiclass).
        """
        counts = self.resampled.counts
        if counts is None:
            raise ValueError("these intervals kept no per-resample counts (binary, keep_counts=True)")
        values: dict[str, np.ndarray] = dict(binary_metrics_from_count_arrays(*counts.counts_at(threshold)))
        for key in BINARY_DROPPED:
            del values[key]
        for key in THRESHOLD_FREE:
            values[key] = self.resampled.values[key]
        ordered = {k: values[k] for k in self.resampled.values if k in values}
        return MetricIntervals(_intervals_of(ordered, self.settings.confidence), self.settings, float(threshold))

    def class_at_threshold(self, class_index: int, threshold: float) -> dict[str, tuple[float, float]]:
        """Multiclass: intervals of one class against the rest at ``threshold`` (precision, recall,
        f1, specificity, accuracy, ...), from the kept counts."""
        if not self.resampled.class_counts:
            raise ValueError("these intervals kept no per-class counts (multiclass, keep_counts=True)")
        counts: ResampledCounts = self.resampled.class_counts[class_index]
        values = binary_metrics_from_count_arrays(*counts.counts_at(threshold))
        return _intervals_of(values, self.settings.confidence)


def bootstrap_intervals(
    pred: Predictions,
    *,
    threshold: float = 0.5,
    positive: int = 1,
    settings: IntervalSettings | None = None,
    keep_counts: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    n_threads: int = 1,
    processes: bool = False,
) -> BootstrapIntervals:
    """Bootstrap every metric of one evaluation (see :func:`resample_metrics` for the parameters)."""
    settings = settings or IntervalSettings()
    boot = StratifiedBootstrap(pred.y_true, n_resamples=settings.resamples, seed=settings.seed)
    (resampled,) = resample_metrics([pred], boot, threshold=threshold, positive=positive, keep_counts=keep_counts,
                                    should_stop=should_stop, on_progress=on_progress, n_threads=n_threads,
                                    processes=processes)
    return BootstrapIntervals(resampled, settings)


def fold_mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student's t interval of the mean of per-fold values: ``mean +- t * s / sqrt(k)`` (s: ddof=1).

    NaN folds are left out; fewer than two defined folds give ``(nan, nan)``. The folds share
    training rows, so they are not independent and this interval is on the optimistic side
    (Bengio and Grandvalet, 2004); it says how precisely k folds pin down the mean, no more.
    """
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    v = v[~np.isnan(v)]
    k = v.size
    if k < 2:
        return math.nan, math.nan
    from scipy.stats import t as student_t

    half = float(student_t.ppf((1.0 + confidence) / 2.0, k - 1)) * float(v.std(ddof=1)) / math.sqrt(k)
    mean = float(v.mean())
    return mean - half, mean + half


def fold_mean_intervals(
    fold_metrics: Sequence[Mapping[str, float]], confidence: float = 0.95
) -> dict[str, tuple[float, float]]:
    """:func:`fold_mean_interval` of every numeric metric of per-fold metric dicts (k-fold's table),
    clipped to the metric's own range (a recall interval does not reach below 0)."""
    names: dict[str, None] = {}
    for fm in fold_metrics:
        names.update((k, None) for k, v in fm.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    out = {}
    for k in names:
        lo, hi = fold_mean_interval([float(fm.get(k, math.nan)) for fm in fold_metrics], confidence)
        floor, ceiling = METRIC_RANGES.get(k, (0.0, 1.0))
        out[k] = (max(lo, floor), min(hi, ceiling)) if math.isfinite(lo) else (lo, hi)
    return out
