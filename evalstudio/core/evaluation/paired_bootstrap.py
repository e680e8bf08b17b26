"""Paired bootstrap intervals: every model, and every difference B - A, on the same resamples.

Two models scored on the same rows are resampled together: each resample draws the same rows
(with the same multiplicities) for both, so the interval of a difference is the percentile
interval of the per-resample differences, which keeps the pairing (the rows both find hard move
together) and is much narrower than two separate intervals would suggest. The engine is
:func:`evalstudio.core.evaluation.bootstrap.resample_metrics` (several models, one
:class:`~evalstudio.core.evaluation.resampling.StratifiedBootstrap`); nothing here resamples on
its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from evalstudio.core.evaluation.batch_metrics import binary_metrics_from_count_arrays
from evalstudio.core.evaluation.bootstrap import BINARY_DROPPED, ResampledMetrics, resample_metrics
from evalstudio.core.evaluation.intervals import THRESHOLD_FREE, IntervalSettings, percentile_interval
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.resampling import StratifiedBootstrap

if TYPE_CHECKING:
    from evalstudio.core.evaluation.comparison import ModelComparison

__all__ = ["PairedBootstrap", "keep_counts_fits", "paired_bootstrap", "with_bootstrap"]

Limits = dict[str, tuple[float, float]]


def _limits(values: dict[str, np.ndarray], confidence: float) -> Limits:
    return {k: percentile_interval(v, confidence) for k, v in values.items()}


@dataclass(frozen=True, eq=False)
class PairedBootstrap:
    """Every metric of every model on the same resamples.

    Attributes
    ----------
    resampled : tuple of ResampledMetrics
        One per model, in the comparison's order, over the same resamples.
    settings : IntervalSettings
    threshold : float or None
        Binary: the threshold the values are at. None for multiclass.
    """

    resampled: tuple[ResampledMetrics, ...]
    settings: IntervalSettings
    threshold: float | None

    @property
    def has_counts(self) -> bool:
        """The per-resample counts are kept: intervals at any threshold are a lookup."""
        return all(r.counts is not None for r in self.resampled)

    def _values(self, threshold: float | None) -> list[dict[str, np.ndarray]]:
        if threshold is None or self.threshold is None or float(threshold) == self.threshold:
            return [r.values for r in self.resampled]
        if not self.has_counts:
            raise ValueError("these resamples kept no counts: intervals exist only at their own threshold")
        out = []
        for r in self.resampled:
            assert r.counts is not None
            values: dict[str, np.ndarray] = dict(binary_metrics_from_count_arrays(*r.counts.counts_at(threshold)))
            for key in BINARY_DROPPED:
                del values[key]
            for key in THRESHOLD_FREE:
                values[key] = r.values[key]
            out.append({k: values[k] for k in r.values if k in values})
        return out

    def intervals(self, threshold: float | None = None) -> tuple[list[Limits], list[Limits]]:
        """``(per model {metric: (low, high)}, per other model {metric: (low, high)} of B - A)``.

        ``threshold``: binary, another threshold than the one computed at (needs the counts).
        """
        values = self._values(threshold)
        c = self.settings.confidence
        models = [_limits(v, c) for v in values]
        diffs = [_limits({k: v[k] - values[0][k] for k in values[0] if k in v}, c) for v in values[1:]]
        return models, diffs

    def difference_values(self, b: int, metric: str, a: int = 0) -> np.ndarray:
        """The per-resample differences of one metric, model ``b`` minus model ``a`` (at the threshold computed)."""
        return np.asarray(self.resampled[b].values[metric] - self.resampled[a].values[metric])


def paired_bootstrap(
    predictions: Sequence[Predictions],
    *,
    threshold: float = 0.5,
    positive: int = 1,
    settings: IntervalSettings | None = None,
    keep_counts: bool = False,
    should_stop: Callable[[], bool] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    n_threads: int = 1,
    processes: bool = False,
) -> PairedBootstrap:
    """Resample the paired rows once and evaluate every model on each resample.

    Parameters
    ----------
    predictions : sequence of Predictions
        The models' predictions on the same rows, in the same order (``pair_predictions`` gives them).
    threshold, positive : binary decision threshold and positive class index.
    settings : IntervalSettings, optional
        Confidence, number of resamples and seed (the resamples depend on the labels and the seed
        only, so a rerun gives identical intervals).
    keep_counts : bool
        Keep each resample's counts so that :meth:`PairedBootstrap.intervals` answers at any
        threshold (about ``resamples x rows x 4`` bytes per model).
    n_threads : int
        Blocks of resamples processed side by side (the numbers do not depend on it).
    processes : bool
        Side by side in forked processes rather than threads where that is safe (see
        :func:`~evalstudio.core.evaluation.bootstrap.resample_metrics`).
    """
    settings = settings or IntervalSettings()
    boot = StratifiedBootstrap(predictions[0].y_true, n_resamples=settings.resamples, seed=settings.seed)
    resampled = resample_metrics(predictions, boot, threshold=threshold, positive=positive, keep_counts=keep_counts,
                                 should_stop=should_stop, on_progress=on_progress, n_threads=n_threads,
                                 processes=processes)
    binary = predictions[0].task == "binary"
    return PairedBootstrap(tuple(resampled), settings, float(threshold) if binary else None)


def keep_counts_fits(n_samples: int, n_models: int, resamples: int, budget_bytes: int = 256 * 2**20) -> bool:
    """Whether keeping every resample's counts (for intervals that follow the slider) fits ``budget_bytes``."""
    return 4 * n_samples * n_models * resamples <= budget_bytes


def with_bootstrap(comparison: "ModelComparison", boot: PairedBootstrap) -> "ModelComparison":
    """The comparison with every model's interval and every difference's paired interval.

    ``comparison.interval`` becomes the settings' JSON (method, confidence, resamples, seed) plus the
    threshold the intervals are at; the comparison keeps ``boot`` so that ``at_threshold`` can
    follow the slider when the counts were kept.
    """
    from evalstudio.core.evaluation.comparison import with_differences

    models, diffs = boot.intervals()
    interval = {**boot.settings.to_json(), "method": f"paired {boot.settings.method}",
                "threshold": comparison.threshold}
    return replace(with_differences(comparison, diffs, models, interval), bootstrap=boot)
