"""Two k-fold runs on the same data and folds, compared fold by fold.

A k-fold run records what it ran on: the data file's SHA-256 and a fingerprint of the fold
assignment (which data row went to which fold). Two runs compare only when both match; the
per-fold differences of a metric are then tested with the corrected resampled t-test
(:func:`evalstudio.core.evaluation.paired_tests.corrected_resampled_ttest`).

:class:`KFoldRun` is read from a ``kfold --json`` file (:meth:`KFoldRun.from_json`) or built from a
run in memory (:meth:`KFoldRun.from_result`, the app).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.paired_tests import CorrectedTTest, corrected_resampled_ttest

if TYPE_CHECKING:
    from evalstudio.core.training.results import CVResult

__all__ = ["KFoldComparison", "KFoldRun", "compare_kfold_runs", "fold_assignment", "folds_fingerprint",
           "kfold_sentences"]

# Metrics where a lower value is better (the words say so; the difference is still B - A).
LOWER_IS_BETTER = ("log_loss", "loss", "brier", "ece")


def fold_assignment(cv: "CVResult") -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, fold of each row) in the dataset's row order; folds are 1-based."""
    n = cv.pooled_predictions.n_samples
    fold_of = np.zeros(n, dtype=np.int64)
    for f in cv.folds:
        fold_of[np.asarray(f.test_index)] = f.fold
    return np.asarray(cv.pooled_predictions.row_numbers, dtype=np.int64), fold_of


def folds_fingerprint(row_numbers: np.ndarray, fold_of: np.ndarray) -> str:
    """SHA-256 (hex) of which data row is held out in which fold.

    Two runs with the same fingerprint held out exactly the same rows in each fold, whatever
    the seed or the way the folds were drawn; any difference in the number of folds, the seed
    of the split or the rows kept (e.g. ``--drop-missing``) changes it.
    """
    h = hashlib.sha256(b"evalstudio-folds-v1")
    h.update(np.ascontiguousarray(row_numbers, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(fold_of, dtype="<i8").tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class KFoldRun:
    """What a comparison needs of one k-fold run.

    Attributes
    ----------
    name : str
        How the output names this run (a file name, or "A").
    fold_metrics : tuple of dict
        Per fold (in fold order), its metrics on its held-out rows.
    n_train, n_test : tuple of int
        Per fold.
    data_sha256, folds_fingerprint : str or None
        None when the run did not record them (written before they were recorded).
    seed : int or None
    """

    name: str
    fold_metrics: tuple[Mapping[str, Any], ...]
    n_train: tuple[int, ...]
    n_test: tuple[int, ...]
    data_sha256: str | None
    folds_fingerprint: str | None
    seed: int | None = None

    @property
    def k(self) -> int:
        return len(self.fold_metrics)

    @classmethod
    def from_json(cls, payload: Any, name: str) -> "KFoldRun":
        """Read a ``kfold --json`` output. Raises DataError naming ``name`` when it is not one."""
        folds = payload.get("folds") if isinstance(payload, dict) else None
        if not isinstance(folds, list) or not folds or not all(isinstance(f, dict) for f in folds):
            raise DataError(f"{name} is not the JSON output of 'evalstudio kfold --json' (it has no \"folds\").",
                            hint="Pass two files written by kfold --json.")
        try:
            folds = sorted(folds, key=lambda f: int(f["fold"]))
            metrics = tuple(dict(f["metrics"]) for f in folds)
            n_train = tuple(int(f["n_train"]) for f in folds)
            n_test = tuple(int(f["n_test"]) for f in folds)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{name} has a fold without its {exc} (fold, n_train, n_test and metrics are needed).",
                            hint="Pass two files written by kfold --json.") from None
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        seed = config.get("seed")
        return cls(name, metrics, n_train, n_test, payload.get("data_sha256"), payload.get("folds_fingerprint"),
                   int(seed) if isinstance(seed, (int, float)) else None)

    @classmethod
    def from_result(cls, cv: "CVResult", name: str, *, data_sha256: str | None) -> "KFoldRun":
        """A run held in memory (the app): its fold fingerprint is computed from its folds."""
        rows, fold_of = fold_assignment(cv)
        seed = cv.config.get("seed")
        return cls(name, tuple(dict(f.metrics) for f in cv.folds), tuple(int(f.n_train) for f in cv.folds),
                   tuple(int(f.n_test) for f in cv.folds), data_sha256, folds_fingerprint(rows, fold_of),
                   int(seed) if isinstance(seed, (int, float)) else None)


@dataclass(frozen=True)
class KFoldComparison:
    """The per-fold comparison of one metric between two runs (B - A).

    Attributes
    ----------
    metric : str
    names : (str, str)
    values_a, values_b : tuple of float
        The metric per fold.
    test : CorrectedTTest
    lower_is_better : bool
    notes : tuple of str
    """

    metric: str
    names: tuple[str, str]
    values_a: tuple[float, ...]
    values_b: tuple[float, ...]
    test: CorrectedTTest
    lower_is_better: bool = False
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        t = self.test
        out: dict[str, Any] = {
            "metric": self.metric, "folds": len(t.differences), "differences": [num(d) for d in t.differences],
            "mean": num(t.mean), "t": num(t.t), "df": t.df, "p_value": num(t.p_value), "method": t.method,
            "names": list(self.names), "a": [num(v) for v in self.values_a], "b": [num(v) for v in self.values_b],
            "test_train_ratio": t.test_train_ratio,
        }
        if t.note:
            out["note"] = t.note
        out["notes"] = list(self.notes)
        return out


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "not recorded"


def check_same_folds(a: KFoldRun, b: KFoldRun) -> None:
    """Raise DataError, in one line, when the runs were not made on the same data and folds."""
    for run in (a, b):
        if not run.data_sha256 or not run.folds_fingerprint:
            raise DataError(
                f"{run.name} does not record its data's SHA-256 and fold assignment (written by an older "
                "evalstudio, or its data file cannot be read now), so it cannot be paired with another run.",
                hints={"cli": "Run kfold --json again with this version.",
                       "app": "Open the data file again and run K-fold again."},
            )
    if a.data_sha256 != b.data_sha256:
        raise DataError(
            f"the two runs used different data: {a.name} has SHA-256 {_short(a.data_sha256)}..., "
            f"{b.name} {_short(b.data_sha256)}....",
            hint="Compare k-fold runs made on the same data file.",
        )
    if a.folds_fingerprint != b.folds_fingerprint:
        detail = f"{a.k} vs {b.k} folds" if a.k != b.k else (
            f"seed {a.seed} vs {b.seed}" if a.seed != b.seed else "the same number of folds, other rows in them")
        raise DataError(
            f"the two runs used different folds ({detail}): {a.name} and {b.name} held out different rows.",
            hints={"cli": "Run both with the same --folds and --seed (and the same --drop-missing).",
                   "app": "Run both with the same K-fold folds and Seed (and the same rows loaded)."},
        )


def compare_kfold_runs(a: KFoldRun, b: KFoldRun, metric: str = "accuracy") -> KFoldComparison:
    """Per-fold differences of ``metric`` (B - A) and the corrected resampled t-test.

    Raises
    ------
    DataError
        Different data or folds, a run without the records, or a metric neither run reports per fold.
    """
    check_same_folds(a, b)
    available = [k for k in a.fold_metrics[0] if all(_number(f.get(k)) is not None for f in (*a.fold_metrics,
                                                                                            *b.fold_metrics))]
    if metric not in a.fold_metrics[0] or metric not in b.fold_metrics[0]:
        raise DataError(f"--metric {metric!r} is not reported per fold by both runs.",
                        messages={"app": f"the metric {metric!r} is not reported per fold by both runs."},
                        hint="Use one of: " + ", ".join(available) + ".")
    va = [_number(f.get(metric)) for f in a.fold_metrics]
    vb = [_number(f.get(metric)) for f in b.fold_metrics]
    kept = [(i, x, y) for i, (x, y) in enumerate(zip(va, vb)) if x is not None and y is not None]
    keep = [i for i, _, _ in kept]
    notes = []
    if len(keep) < a.k:
        notes.append(f"{metric} is undefined in fold(s) {', '.join(str(i + 1) for i in range(a.k) if i not in keep)} "
                     "of one run; those folds are left out")
    if len(keep) < 2:
        raise DataError(f"{metric} is defined in fewer than 2 folds of both runs, so there is nothing to test.",
                        hint="Use one of: " + ", ".join(available) + ".")
    xa = [x for _, x, _ in kept]
    xb = [y for _, _, y in kept]
    test = corrected_resampled_ttest([y - x for x, y in zip(xa, xb)], [a.n_train[i] for i in keep],
                                     [a.n_test[i] for i in keep])
    return KFoldComparison(metric, (a.name, b.name), tuple(xa), tuple(xb), test,
                           lower_is_better=metric in LOWER_IS_BETTER, notes=tuple(notes))


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(float(v)) else None


def run_names(paths: Sequence[str]) -> tuple[str, str]:
    """File names for the two runs, or the paths when the names are the same."""
    import os

    names = [os.path.basename(p) for p in paths]
    return (paths[0], paths[1]) if names[0] == names[1] else (names[0], names[1])


def kfold_sentences(result: KFoldComparison, alpha: float = 0.05) -> list[str]:
    """The per-fold comparison in words (the CLI and the app show the same lines)."""
    from evalstudio.core.evaluation.compare_words import READABLE, p_text

    a, b = result.names
    t = result.test
    name = READABLE.get(result.metric, result.metric)
    k = len(t.differences)
    if result.metric in ("accuracy", "balanced_accuracy", "precision", "recall", "specificity", "f1"):
        amount = f"{abs(t.mean) * 100:.1f} points"
    else:
        amount = f"{abs(t.mean):.4f}"
    if t.mean == 0:
        head = f"{a} and {b} have the same mean {name} over the {k} folds"
    else:
        head = f"{b}'s {name} is {'higher' if t.mean > 0 else 'lower'} than {a}'s by {amount} on average over {k} folds"
    stat = f"t = {t.t:.2f}, df = {t.df}, {p_text(t.p_value)}" if math.isfinite(t.t) else f"{p_text(t.p_value)}"
    lines = [f"{head}; corrected resampled t-test (Nadeau and Bengio 2003): {stat}"]
    if t.note:
        lines.append(f"note: {t.note}")
    better_is_higher = not result.lower_is_better
    if math.isfinite(t.p_value) and t.p_value < alpha and t.mean != 0:
        winner = b if (t.mean > 0) == better_is_higher else a
        lines.append(f"{winner} is better on {name} across these folds (p < {alpha:g}).")
    elif math.isfinite(t.p_value):
        lines.append(f"No clear difference in {name}: the folds' differences are within what the shared training "
                     "rows and the fold-to-fold noise explain.")
    return lines
