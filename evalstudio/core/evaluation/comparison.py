"""Two (or more) models scored on the same rows, compared with the paired tests that fit.

Each model is evaluated on its own (its own encoding, standardisation and row guards), so the
rows each one scored can differ; :func:`pair_predictions` keeps the rows every model scored,
matched by their row number in the data file, and says what was left out. On those rows:

- every model's report (metrics at the threshold, the same as ``evaluate`` gives);
- McNemar's exact test of each model against the first on the rows' correctness at the threshold
  (binary) or by the most probable class (multiclass);
- DeLong's test of the ROC AUCs (binary; one-vs-rest per class for a multiclass task);
- for every metric, the difference (B - A); its paired bootstrap interval (the same resampled rows
  for every model) is added by :func:`with_differences`.

Differences are always "model minus the first model" (B - A).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.delong import DeLongTest, delong_test
from evalstudio.core.evaluation.metrics import THRESHOLD_FREE, EvaluationReport, evaluate_predictions
from evalstudio.core.evaluation.thresholds import ThresholdTable
from evalstudio.core.evaluation.paired_tests import McNemarTest, mcnemar_test
from evalstudio.core.evaluation.predictions import Predictions

def _json_value(value: Any) -> Any:
    """Plain JSON numbers: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = [
    "Difference",
    "ModelComparison",
    "PairComparison",
    "compare_predictions",
    "correct_rows",
    "pair_predictions",
    "predicted_labels",
]


@dataclass(frozen=True)
class Difference:
    """One metric's difference B - A with its paired interval (NaN bounds when none was computed)."""

    value: float
    low: float = float("nan")
    high: float = float("nan")

    def to_json(self) -> dict[str, Any]:
        return {"value": _json_value(self.value), "low": _json_value(self.low), "high": _json_value(self.high)}


@dataclass(frozen=True)
class PairComparison:
    """Model ``b`` against model ``a`` (indices into the comparison's models) on the paired rows.

    Attributes
    ----------
    a, b : int
    mcnemar : McNemarTest
    delong : DeLongTest or None
        Binary tasks: DeLong's test of the ROC AUCs (B - A). None for multiclass.
    delong_per_class : tuple of (class name, DeLongTest)
        Multiclass tasks: each class against the rest. Empty for binary.
    differences : dict of str to Difference
        Every metric of the reports, B - A; the interval is the paired bootstrap's.
    """

    a: int
    b: int
    mcnemar: McNemarTest
    delong: DeLongTest | None
    delong_per_class: tuple[tuple[str, DeLongTest], ...] = ()
    differences: Mapping[str, Difference] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """Every model's evaluation on the rows all of them scored, and the paired tests.

    Attributes
    ----------
    names : tuple of str
    predictions : tuple of Predictions
        One per model, restricted to the paired rows, all in the same row order.
    reports : tuple of EvaluationReport
        One per model on the paired rows.
    pairs : tuple of PairComparison
        Each model after the first against the first.
    threshold : float or None
        Binary: the decision threshold. None for multiclass (argmax).
    positive : int or None
    n_scored : tuple of int
        Rows each model scored before pairing.
    intervals : tuple of dict
        Per model, ``{metric: (low, high)}`` from the same resamples as the differences (empty
        when no intervals were computed).
    interval : dict
        How the intervals were made (method, confidence, resamples, seed), or empty.
    notes : tuple of str
    """

    names: tuple[str, ...]
    predictions: tuple[Predictions, ...]
    reports: tuple[EvaluationReport, ...]
    pairs: tuple[PairComparison, ...]
    threshold: float | None
    positive: int | None
    n_scored: tuple[int, ...]
    intervals: tuple[Mapping[str, tuple[float, float]], ...] = ()
    interval: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    bootstrap: Any = None  # paired_bootstrap.PairedBootstrap: the resamples behind the intervals

    @property
    def task(self) -> str:
        return self.reports[0].task

    @property
    def classes(self) -> tuple[str, ...]:
        return self.predictions[0].classes

    @property
    def n_samples(self) -> int:
        return self.predictions[0].n_samples

    @property
    def row_numbers(self) -> np.ndarray:
        return self.predictions[0].row_numbers

    @property
    def y_true(self) -> np.ndarray:
        return self.predictions[0].y_true

    def correct(self, index: int) -> np.ndarray:
        """Whether model ``index`` gets each paired row right at the comparison's threshold."""
        return correct_rows(self.predictions[index], self.threshold, self.positive)

    def agreement(self, b: int = 1, a: int = 0) -> dict[str, np.ndarray]:
        """Positions of the paired rows in each cell of the 2 x 2 agreement table of models a and b.

        Keys: ``both_right``, ``only_a`` (A right, B wrong), ``only_b`` (B right, A wrong),
        ``both_wrong``. Positions index :attr:`row_numbers` and every model's predictions.
        """
        ra, rb = self.correct(a), self.correct(b)
        return {"both_right": np.flatnonzero(ra & rb), "only_a": np.flatnonzero(ra & ~rb),
                "only_b": np.flatnonzero(~ra & rb), "both_wrong": np.flatnonzero(~ra & ~rb)}

    def tables(self) -> tuple[ThresholdTable, ...]:
        """Binary: each model's threshold table (built once, kept), for :meth:`at_threshold`."""
        cached = self.__dict__.get("_tables")
        if cached is None:
            if self.positive is None:
                raise ValueError("only a binary comparison has threshold tables")
            pos = self.positive
            cached = tuple(ThresholdTable.from_scores(p.y_true == pos, p.y_score[:, pos]) for p in self.predictions)
            object.__setattr__(self, "_tables", cached)
        return cached

    def at_threshold(self, threshold: float) -> "ModelComparison":
        """The same binary comparison at another threshold: reports in O(log n) from the kept tables,
        McNemar and the differences' values recounted; DeLong and the threshold-free metrics kept.

        Intervals are the bootstrap's at the threshold they were computed for (``interval["threshold"]``);
        at any other threshold the threshold-dependent ones are NaN until computed there. Moving back
        to that threshold brings them back: every move starts from the comparison as computed.
        """
        if self.positive is None or self.threshold is None:
            return self
        base: ModelComparison = self.__dict__.get("_base", self)
        tables = base.tables()
        reports = tuple(r.with_threshold(threshold, t) for r, t in zip(base.reports, tables))
        computed_at = float(base.interval.get("threshold", base.threshold)) if base.interval else float(threshold)
        same = computed_at == float(threshold)
        moved = replace(base, reports=reports, threshold=float(threshold))
        correct = [moved.correct(i) for i in range(len(base.predictions))]
        boot = base.bootstrap
        fresh = boot.intervals(float(threshold)) if boot is not None and not same and boot.has_counts else None
        pairs = []
        for j, p in enumerate(base.pairs):
            diffs = {}
            for k, d in p.differences.items():
                value = reports[p.b].metrics[k] - reports[p.a].metrics[k]
                if fresh is not None:
                    low, high = fresh[1][j].get(k, (math.nan, math.nan))
                elif same or k in THRESHOLD_FREE:
                    low, high = d.low, d.high
                else:
                    low, high = math.nan, math.nan
                diffs[k] = Difference(value, low, high)
            pairs.append(replace(p, mcnemar=mcnemar_test(correct[p.a], correct[p.b]), differences=diffs))
        intervals = base.intervals
        if fresh is not None:
            intervals = tuple(fresh[0])
        elif intervals and not same:
            intervals = tuple({k: v if k in THRESHOLD_FREE else (math.nan, math.nan) for k, v in iv.items()}
                              for iv in intervals)
        out = replace(moved, pairs=tuple(pairs), intervals=intervals)
        object.__setattr__(out, "_tables", tables)
        object.__setattr__(out, "_base", base)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``compare --json`` shape: the issue's keys first (B - A for the second model)."""
        models = []
        for i, (name, report) in enumerate(zip(self.names, self.reports)):
            entry: dict[str, Any] = {"name": name, "metrics": {k: _json_value(v) for k, v in report.metrics.items()}}
            if self.intervals:
                entry["intervals"] = {k: {"low": _json_value(lo), "high": _json_value(hi)}
                                      for k, (lo, hi) in self.intervals[i].items()}
            entry["confusion_matrix"] = np.asarray(report.confusion_matrix).tolist()
            entry["n_scored"] = int(self.n_scored[i])
            models.append(entry)
        first = self.pairs[0]
        out: dict[str, Any] = {
            "n_samples": self.n_samples,
            "threshold": _json_value(self.threshold),
            "models": models,
            "mcnemar": first.mcnemar.to_json(),
            "delong": first.delong.to_json() if first.delong is not None else None,
            "differences": {k: d.to_json() for k, d in first.differences.items()},
            "task": self.task,
            "classes": list(self.classes),
        }
        if self.positive is not None:
            out["positive_class"] = self.classes[self.positive]
        if first.delong_per_class:
            out["delong_per_class"] = [{"class": c, **t.to_json()} for c, t in first.delong_per_class]
        if self.interval:
            out["interval"] = dict(self.interval)
        out["comparisons"] = [self._pair_json(p) for p in self.pairs]
        out["notes"] = list(self.notes)
        return out

    def _pair_json(self, p: PairComparison) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "a": self.names[p.a], "b": self.names[p.b], "mcnemar": p.mcnemar.to_json(),
            "delong": p.delong.to_json() if p.delong is not None else None,
            "differences": {k: d.to_json() for k, d in p.differences.items()},
        }
        if p.delong_per_class:
            entry["delong_per_class"] = [{"class": c, **t.to_json()} for c, t in p.delong_per_class]
        return entry


# ---------------------------------------------------------------------- building blocks
def predicted_labels(pred: Predictions, threshold: float | None, positive: int | None) -> np.ndarray:
    """Class index predicted for each row: ``score >= threshold`` (binary), else the argmax."""
    if pred.task == "binary" and threshold is not None and positive is not None:
        scores = pred.y_score[:, positive]
        is_pos = scores >= np.asarray(threshold, dtype=scores.dtype)
        return np.where(is_pos, positive, 1 - positive)
    return pred.argmax()


def correct_rows(pred: Predictions, threshold: float | None, positive: int | None) -> np.ndarray:
    """Whether each row's predicted class is its true class."""
    return np.asarray(predicted_labels(pred, threshold, positive) == pred.y_true)


def pair_predictions(
    predictions: Sequence[Predictions], names: Sequence[str]
) -> tuple[tuple[Predictions, ...], tuple[str, ...]]:
    """Every model's predictions on the rows all of them scored, matched by row number.

    Returns
    -------
    paired : tuple of Predictions
        In the first model's row order.
    notes : tuple of str
        What was left out, and for which model.

    Raises
    ------
    DataError
        The models know different classes, no row was scored by all, or a row's label differs
        between the models' data (they did not read the same file).
    """
    if len(predictions) < 2:
        raise DataError("a comparison needs at least two models.",
                        hints={"cli": "Give --model (and --checkpoint) twice.", "app": "Choose model B."})
    first = predictions[0]
    for name, p in zip(names[1:], predictions[1:]):
        if p.classes != first.classes:
            raise DataError(
                f"model {name!r} predicts the classes ({', '.join(p.classes)}) but model {names[0]!r} "
                f"predicts ({', '.join(first.classes)}).",
                hint="Compare models trained on the same labels.",
            )
    common = first.row_numbers
    for p in predictions[1:]:
        common = np.intersect1d(common, p.row_numbers, assume_unique=True)
    if common.size == 0:
        raise DataError("no row was scored by every model, so there is nothing to pair.",
                        hint="Check that each model's guards (e.g. its training rows) leave rows in common.")
    keep = np.isin(first.row_numbers, common, assume_unique=True)
    order_rows = first.row_numbers[keep]
    paired = []
    notes = []
    for name, p in zip(names, predictions):
        sorter = np.argsort(p.row_numbers, kind="stable")
        idx = sorter[np.searchsorted(p.row_numbers, order_rows, sorter=sorter)]
        paired.append(p.subset(idx))
        left = p.n_samples - common.size
        if left:
            notes.append(f"{left} of the {p.n_samples} rows model {name!r} scored are not scored by every "
                         f"model and are left out of the comparison")
    for name, p in zip(names[1:], paired[1:]):
        differ = p.y_true != paired[0].y_true
        if differ.any():
            row = int(order_rows[np.flatnonzero(differ)[0]])
            raise DataError(
                f"data row {row} has a different label for model {name!r} than for model {names[0]!r}.",
                hint="Evaluate every model on the same data file.",
            )
    if notes:
        notes.insert(0, f"compared on the {common.size} rows every model scored")
    return tuple(paired), tuple(notes)


def _delong_per_class(a: Predictions, b: Predictions) -> tuple[tuple[str, DeLongTest], ...]:
    out = []
    for k, name in enumerate(a.classes):
        y = a.y_true == k
        out.append((name, delong_test(y, a.y_score[:, k], b.y_score[:, k])))
    return tuple(out)


def compare_predictions(
    predictions: Sequence[Predictions],
    names: Sequence[str],
    *,
    threshold: float = 0.5,
    positive: int = 1,
    confidence: float = 0.95,
    n_scored: Sequence[int] | None = None,
    notes: Sequence[str] = (),
) -> ModelComparison:
    """Pair the models' rows, evaluate each on them and run the paired tests (no bootstrap).

    Parameters
    ----------
    predictions : sequence of Predictions
        One per model, each over the rows that model scored (row numbers identify rows).
    names : sequence of str
        One per model, the first is the reference ("A").
    threshold, positive : binary decision threshold and positive class index.
    confidence : level of DeLong's interval of the AUC difference.
    n_scored : rows each model scored, when ``predictions`` were already paired by the caller.
    notes : sequence of str
        Carried into the result's notes (first).
    """
    if len(names) != len(predictions):
        raise ValueError("one name per model")
    if len(set(names)) != len(names):
        raise DataError(f"two models share a name ({', '.join(names)}).",
                        hints={"cli": "Give each model its own --name.", "app": "Give each model its own name."})
    scored = tuple(int(p.n_samples) for p in predictions) if n_scored is None else tuple(n_scored)
    paired, pair_notes = pair_predictions(predictions, names)
    binary = paired[0].task == "binary"
    reports = tuple(evaluate_predictions(p, threshold=threshold, positive=positive) for p in paired)
    t = float(threshold) if binary else None
    pos = positive if binary else None
    correct = [correct_rows(p, t, pos) for p in paired]
    pairs = []
    for j in range(1, len(paired)):
        a, b = paired[0], paired[j]
        if binary:
            y = a.y_true == positive
            dl: DeLongTest | None = delong_test(y, a.y_score[:, positive], b.y_score[:, positive],
                                                confidence=confidence)
            per_class: tuple[tuple[str, DeLongTest], ...] = ()
        else:
            dl, per_class = None, _delong_per_class(a, b)
        diffs = {k: Difference(reports[j].metrics[k] - reports[0].metrics[k]) for k in reports[0].metrics}
        pairs.append(PairComparison(0, j, mcnemar_test(correct[0], correct[j]), dl, per_class, diffs))
    return ModelComparison(tuple(names), paired, reports, tuple(pairs), t, pos, scored,
                           notes=(*notes, *pair_notes))


def with_differences(
    comparison: ModelComparison,
    differences: Sequence[Mapping[str, tuple[float, float]]],
    intervals: Sequence[Mapping[str, tuple[float, float]]],
    interval: Mapping[str, Any],
) -> ModelComparison:
    """The comparison with bootstrap intervals: per pair ``{metric: (low, high)}`` of B - A, per model
    ``{metric: (low, high)}``, and how they were made."""
    pairs = tuple(
        replace(p, differences={k: Difference(d.value, *differences[i].get(k, (float("nan"), float("nan"))))
                                for k, d in p.differences.items()})
        for i, p in enumerate(comparison.pairs)
    )
    return replace(comparison, pairs=pairs, intervals=tuple(intervals), interval=dict(interval))
