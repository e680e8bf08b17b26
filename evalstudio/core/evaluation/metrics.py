"""Every classification metric evalstudio shows, computed from raw predictions.

``evaluate_predictions`` turns a :class:`~evalstudio.core.evaluation.predictions.Predictions` into an
:class:`EvaluationReport`. Each number equals scikit-learn's on the same predictions (the
tests check it to 1e-9), but nothing here imports scikit-learn: it is numpy only and built
on one sort of the scores (:class:`~evalstudio.core.evaluation.thresholds.ThresholdTable`), which is
several times faster than scikit-learn at 10^7 rows.

Conventions (scikit-learn's):

- binary: a row is predicted as the positive class when its score ``>= threshold``;
  precision, recall and F1 are those of the positive class; specificity is the recall of
  the other class; macro / weighted variants are reported as well;
- multiclass: the prediction is the most probable class (argmax; ties go to the first
  class); precision, recall and F1 are macro averages (``*_weighted`` weight by support);
  ROC AUC and average precision are one-vs-rest macro averages;
- a ratio with a zero denominator is 0 (``zero_division=0``); macro averages run over the
  classes present in the labels or the predictions (scikit-learn without ``labels=``);
- ROC AUC is NaN when only one class is present, average precision NaN without positives
  (in the multiclass macro averages, such classes are left out and a note says so).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from evalstudio.core.errors import DataError, EvalStudioError, ModelError
from evalstudio.core.evaluation.confusion import (
    binary_metrics_from_counts,
    confusion_matrix,
    multiclass_metrics_from_confusion,
)
from evalstudio.core.evaluation.curves import one_vs_rest_table
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.core.evaluation.thresholds import ThresholdTable

__all__ = [
    "EvaluationReport",
    "confusion_matrix",
    "evaluate_predictions",
    "log_loss",
    "multiclass_metrics_from_confusion",
    "one_vs_rest_table",
    "summarize_folds",
]

# Metrics whose value does not depend on the threshold (kept when the threshold moves).
THRESHOLD_FREE = ("roc_auc", "average_precision", "log_loss")
# The order of ``EvaluationReport.metrics`` (and of the JSON): issue 2's headline metrics first.
METRIC_ORDER = (
    "accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
    "roc_auc", "average_precision", "log_loss",
    "precision_macro", "recall_macro", "f1_macro", "precision_weighted", "recall_weighted", "f1_weighted",
)


def _ordered(metrics: dict[str, float]) -> dict[str, float]:
    out = {k: float(metrics[k]) for k in METRIC_ORDER if k in metrics}
    out.update((k, float(v)) for k, v in metrics.items() if k not in out)
    return out


def _json_value(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    return value


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """All metrics of one evaluation.

    Attributes
    ----------
    task : {"binary", "multiclass"}
    classes : tuple of str
        Class names in index order.
    n_samples : int
    threshold : float or None
        Binary: the decision threshold (``score >= threshold`` is positive). None for
        multiclass (argmax).
    positive : int or None
        Binary: index of the positive class. None for multiclass.
    metrics : dict of str to float
        accuracy, balanced_accuracy, precision, recall, f1, specificity, mcc, roc_auc,
        average_precision, log_loss, precision_macro, recall_macro, f1_macro,
        precision_weighted, recall_weighted, f1_weighted (NaN where undefined).
    per_class : list of dict
        One ``{"class", "precision", "recall", "f1", "support"}`` per class, in index order.
    confusion_matrix : ndarray of shape (n_classes, n_classes), int64
        Rows actual, columns predicted.
    notes : tuple of str
        What a reader should know (an undefined metric and why).
    """

    task: str
    classes: tuple[str, ...]
    n_samples: int
    threshold: float | None
    positive: int | None
    metrics: dict[str, float]
    per_class: list[dict[str, Any]]
    confusion_matrix: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape of issue 2, plain Python types, NaN as ``None`` (null)."""
        out: dict[str, Any] = {
            "task": self.task,
            "classes": list(self.classes),
            "n_samples": int(self.n_samples),
            "threshold": _json_value(self.threshold),
            "metrics": {k: _json_value(v) for k, v in self.metrics.items()},
            "per_class": [{k: _json_value(v) for k, v in row.items()} for row in self.per_class],
            "confusion_matrix": [[int(c) for c in row] for row in np.asarray(self.confusion_matrix)],
        }
        if self.positive is not None:
            out["positive_class"] = self.classes[self.positive]
        out["notes"] = list(self.notes)
        return out

    def with_threshold(self, threshold: float, table: ThresholdTable) -> EvaluationReport:
        """The same binary evaluation at another threshold, in O(log n) (for the slider).

        Parameters
        ----------
        threshold : float
        table : ThresholdTable
            The table of these predictions (``evaluate_predictions(..., table=...)`` or
            ``ThresholdTable.from_scores(y_true == positive, y_score[:, positive])``).
        """
        if self.task != "binary" or self.positive is None:
            raise ValueError("only a binary report has a threshold")
        _check_threshold(threshold)
        metrics, per_class, cm = _binary_parts(table.counts_at(threshold), self.positive, self.classes)
        for key in THRESHOLD_FREE:
            metrics[key] = self.metrics[key]
        return replace(self, threshold=float(threshold), metrics=_ordered(metrics), per_class=per_class,
                       confusion_matrix=cm)


# ---------------------------------------------------------------------- building blocks
def log_loss(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean cross-entropy of the true class, as ``sklearn.metrics.log_loss(..., labels=all)``
    computes it from the same probabilities written out as float64 (``--predictions``, exports).

    The probabilities are taken in float64 and clipped to ``[eps, 1 - eps]`` with float64's
    ``eps`` whatever their dtype: clipping float32 scores at float32's eps (1.2e-7) would cap each
    row's loss at 15.9 where the exported probabilities give up to 36, so the two would disagree
    on any row whose true class got a probability below 1e-7.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples,), int
    y_score : ndarray of shape (n_samples, n_classes), float
    """
    s = np.asarray(y_score)
    p = s[np.arange(s.shape[0]), np.asarray(y_true)].astype(np.float64)
    eps = np.finfo(np.float64).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(np.log(p)))


# ---------------------------------------------------------------------- the report
def _check_threshold(threshold: float) -> None:
    if not isinstance(threshold, (int, float, np.integer, np.floating)) or not math.isfinite(threshold):
        raise EvalStudioError(f"the threshold {threshold!r} is not a finite number;",
                              hint="give a number between 0 and 1, e.g. 0.5.")


def _validate(pred: Predictions, positive: int) -> None:
    if pred.n_samples == 0:
        raise DataError("there are no rows to evaluate;",
                        hint="check the data file and any row filters (e.g. --drop-missing).",
                        hints={"app": "check the data file and whether \u201cDrop rows with missing values\u201d "
                               "(Data tab) removed every row."})
    if pred.n_classes < 2:
        raise DataError(f"only {pred.n_classes} class is known; a classifier needs at least two.")
    if pred.y_true.min() < 0 or pred.y_true.max() >= pred.n_classes:
        raise DataError(f"the labels hold class indices outside 0..{pred.n_classes - 1}.")
    finite = np.isfinite(pred.y_score).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ModelError(
            f"the model produced NaN or infinite scores for {bad.size} of {pred.n_samples} rows "
            f"(first at data row {int(pred.row_numbers[bad[0]])});",
            hint="check that row's features for extreme values and the checkpoint for "
            "weights that diverged in training.",
        )
    if pred.task == "binary" and positive not in (0, 1):
        raise EvalStudioError(f"the positive class index {positive!r} is not 0 or 1.",
                              hint=f"choose one of the classes {pred.classes}.")


def _binary_parts(
    counts: tuple[int, int, int, int], positive: int, classes: tuple[str, ...]
) -> tuple[dict[str, float], list[dict[str, Any]], np.ndarray]:
    """Metrics, per-class rows and the class-ordered matrix of one binary confusion."""
    tn, fp, fn, tp = counts
    m = binary_metrics_from_counts(tn, fp, fn, tp)
    for key in ("fpr", "tpr", "npv"):
        del m[key]
    neg_row = {"precision": _ratio(tn, tn + fn), "recall": _ratio(tn, tn + fp),
               "f1": _ratio(2 * tn, 2 * tn + fp + fn), "support": tn + fp}
    pos_row = {"precision": m["precision"], "recall": m["recall"], "f1": m["f1"], "support": tp + fn}
    if positive == 1:
        cm = np.array([[tn, fp], [fn, tp]], dtype=np.int64)
        rows = [neg_row, pos_row]
    else:
        cm = np.array([[tp, fn], [fp, tn]], dtype=np.int64)
        rows = [pos_row, neg_row]
    per_class = [{"class": c, **r} for c, r in zip(classes, rows)]
    return m, per_class, cm


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate_predictions(
    pred: Predictions,
    *,
    threshold: float = 0.5,
    positive: int = 1,
    table: ThresholdTable | None = None,
) -> EvaluationReport:
    """Every metric of one set of predictions.

    Parameters
    ----------
    pred : Predictions
        True class and class probabilities of every row.
    threshold : float
        Binary only: ``score >= threshold`` is positive (ignored for multiclass).
    positive : int
        Binary only: index of the positive class (its column is the score).
    table : ThresholdTable, optional
        Binary only: the table of these predictions when the caller already built it (the
        GUI keeps it for the slider); built here otherwise.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    DataError, ModelError, EvalStudioError
        No rows, labels out of range, non-finite scores, a bad threshold or positive class.
    """
    _validate(pred, positive)
    if pred.task == "binary":
        _check_threshold(threshold)
        if table is None:
            table = ThresholdTable.from_scores(pred.y_true == positive, pred.y_score[:, positive])
        metrics, per_class, cm = _binary_parts(table.counts_at(threshold), positive, pred.classes)
        notes: list[str] = []
        metrics["roc_auc"] = table.roc_auc
        metrics["average_precision"] = table.average_precision
        metrics["log_loss"] = log_loss(pred.y_true, pred.y_score)
        if not (table.n_pos and table.n_neg):
            only = pred.classes[positive] if table.n_pos else pred.classes[1 - positive]
            notes.append(f"ROC AUC is undefined: every row is of class {only!r}.")
        if not table.n_pos:
            notes.append(f"average precision is undefined: no row is of the positive class "
                         f"{pred.classes[positive]!r}.")
        return EvaluationReport("binary", pred.classes, pred.n_samples, float(threshold), positive,
                                _ordered(metrics), per_class, cm, tuple(notes))
    return _multiclass_report(pred)


def _multiclass_report(pred: Predictions) -> EvaluationReport:
    k = pred.n_classes
    cm = confusion_matrix(pred.y_true, pred.argmax(), k)
    metrics, pc = multiclass_metrics_from_confusion(cm)
    notes: list[str] = []
    tables = [one_vs_rest_table(pred, i) for i in range(k)]
    aucs = np.array([t.roc_auc for t in tables])
    aps = np.array([t.average_precision for t in tables])
    metrics["roc_auc"] = float(np.nanmean(aucs)) if np.isfinite(aucs).any() else math.nan
    metrics["average_precision"] = float(np.nanmean(aps)) if np.isfinite(aps).any() else math.nan
    metrics["log_loss"] = log_loss(pred.y_true, pred.y_score)
    absent = [pred.classes[i] for i in range(k) if not tables[i].n_pos]
    if absent:
        notes.append(
            f"ROC AUC and average precision average {k - len(absent)} of {k} classes: no row "
            f"is of class {', '.join(repr(a) for a in absent)}."
        )
    per_class = [
        {"class": c, "precision": float(pc["precision"][i]), "recall": float(pc["recall"][i]),
         "f1": float(pc["f1"][i]), "support": int(pc["support"][i])}
        for i, c in enumerate(pred.classes)
    ]
    return EvaluationReport("multiclass", pred.classes, pred.n_samples, None, None, _ordered(metrics),
                            per_class, cm, tuple(notes))


# ---------------------------------------------------------------------- k-fold summaries
def summarize_folds(fold_metrics: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and population standard deviation (ddof=0, as numpy) of each metric over folds.

    NaN values (a metric undefined in a fold, e.g. ROC AUC of a fold holding one class) and
    missing keys are left out of that metric's mean and std; ``"n"`` says how many folds
    count. A metric undefined in every fold has NaN mean and std. Metrics keep the order in
    which they first appear.

    Returns
    -------
    dict of str to dict
        ``{metric: {"mean": float, "std": float, "n": int}}``.
    """
    if not fold_metrics:
        raise ValueError("summarize_folds needs at least one fold")
    names: dict[str, None] = {}
    for fm in fold_metrics:
        names.update(dict.fromkeys(fm))
    out: dict[str, dict[str, float]] = {}
    for name in names:
        values = np.array([float(fm.get(name, math.nan)) for fm in fold_metrics], dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            out[name] = {"mean": float(values.mean()), "std": float(values.std()), "n": int(values.size)}
        else:
            out[name] = {"mean": math.nan, "std": math.nan, "n": 0}
    return out
