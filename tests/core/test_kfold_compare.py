"""Two k-fold runs compared: fingerprints, refusals and the corrected t-test on the per-fold differences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.paired_tests import corrected_resampled_ttest
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.config import TrainConfig
from evalstudio.core.training.kfold import cross_validate, fold_indices
from evalstudio.core.training.kfold_compare import (
    KFoldRun,
    compare_kfold_runs,
    fold_assignment,
    folds_fingerprint,
    kfold_sentences,
)

from _train_helpers import make_dataset, make_model, one_thread  # noqa: F401 (autouse fixture)

CFG = TrainConfig(epochs=1, batch_size=32, lr=0.01, seed=3, device="cpu")


def _fingerprint(y: np.ndarray, k: int, seed: int) -> str:
    fold_of = np.zeros(y.size, dtype=np.int64)
    for f, (_, te) in enumerate(fold_indices(y, k, seed), start=1):
        fold_of[te] = f
    return folds_fingerprint(np.arange(1, y.size + 1), fold_of)


def test_fingerprint_tells_folds_apart() -> None:
    y = np.arange(60) % 2
    assert _fingerprint(y, 5, 0) == _fingerprint(y, 5, 0)
    assert _fingerprint(y, 5, 0) != _fingerprint(y, 5, 1)
    assert _fingerprint(y, 5, 0) != _fingerprint(y, 3, 0)
    fold_of = np.ones(4, dtype=np.int64)
    assert folds_fingerprint(np.array([1, 2, 3, 4]), fold_of) != folds_fingerprint(np.array([1, 2, 3, 5]), fold_of)


def test_runs_in_memory_compare_fold_by_fold() -> None:
    data = make_dataset(n=90)
    a = cross_validate(make_model, data, CFG, output_kind=OutputKind.LOGIT, k=3)
    b = cross_validate(make_model, data, replace(CFG, lr=0.05), output_kind=OutputKind.LOGIT, k=3)
    rows, fold_of = fold_assignment(a)
    assert sorted(np.bincount(fold_of)[1:]) == [30, 30, 30]
    ra = KFoldRun.from_result(a, "A", data_sha256="ab" * 32)
    rb = KFoldRun.from_result(b, "B", data_sha256="ab" * 32)
    assert ra.folds_fingerprint == rb.folds_fingerprint and ra.seed == 3
    result = compare_kfold_runs(ra, rb, "accuracy")
    d = [fb.metrics["accuracy"] - fa.metrics["accuracy"] for fa, fb in zip(a.folds, b.folds)]
    expected = corrected_resampled_ttest(d, [f.n_train for f in a.folds], [f.n_test for f in a.folds])
    assert result.test == expected
    js = result.to_json()
    assert {"metric", "folds", "differences", "mean", "t", "df", "p_value", "method"} <= set(js)
    assert js["folds"] == 3 and js["df"] == 2 and js["method"].startswith("corrected resampled t-test")
    assert kfold_sentences(result)[0].startswith(f"B's accuracy is {'higher' if result.test.mean > 0 else 'lower'}")
    other_seed = cross_validate(make_model, data, replace(CFG, seed=4), output_kind=OutputKind.LOGIT, k=3)
    with pytest.raises(DataError, match=r"different folds \(seed 3 vs 4\)"):
        compare_kfold_runs(ra, KFoldRun.from_result(other_seed, "C", data_sha256="ab" * 32))


def _run(name: str, sha: str | None = "s" * 64, fp: str | None = "f" * 64, k: int = 3, seed: int = 0,
         acc: tuple[float, ...] = (0.7, 0.8, 0.75)) -> KFoldRun:
    return KFoldRun(name, tuple({"accuracy": a, "roc_auc": float("nan") if i == 0 else 0.8, "log_loss": 0.5}
                                for i, a in enumerate(acc[:k])),
                    (20,) * k, (10,) * k, sha, fp, seed)


def test_refusals_say_which_differs() -> None:
    with pytest.raises(DataError, match=r"^the two runs used different data: A has SHA-256 aaaaaaaaaaaa\.\.\., B"):
        compare_kfold_runs(_run("A", sha="a" * 64), _run("B", sha="b" * 64))
    with pytest.raises(DataError, match=r"different folds \(3 vs 2 folds\)"):
        compare_kfold_runs(_run("A"), _run("B", fp="g" * 64, k=2))
    with pytest.raises(DataError, match="older evalstudio"):
        compare_kfold_runs(_run("A", sha=None), _run("B"))
    with pytest.raises(DataError, match="--metric 'auc' is not reported.*Use one of: accuracy, log_loss"):
        compare_kfold_runs(_run("A"), _run("B"), "auc")


def test_a_metric_undefined_in_a_fold_leaves_that_fold_out() -> None:
    r = compare_kfold_runs(_run("A"), _run("B", acc=(0.8, 0.8, 0.8)), "roc_auc")
    assert len(r.test.differences) == 2 and "fold(s) 1" in r.notes[0]


def test_from_json_refuses_what_is_not_a_kfold_output() -> None:
    with pytest.raises(DataError, match="not the JSON output of 'evalstudio kfold --json'"):
        KFoldRun.from_json({"task": "binary"}, "x.json")
    with pytest.raises(DataError, match="has a fold without its 'n_train'"):
        KFoldRun.from_json({"folds": [{"fold": 1, "n_test": 3, "metrics": {}}]}, "x.json")
    run = KFoldRun.from_json({"folds": [{"fold": 2, "n_train": 8, "n_test": 4, "metrics": {"accuracy": 0.5}},
                                        {"fold": 1, "n_train": 8, "n_test": 4, "metrics": {"accuracy": 0.7}}],
                              "config": {"seed": 5}, "data_sha256": "d", "folds_fingerprint": "f"}, "x.json")
    assert [m["accuracy"] for m in run.fold_metrics] == [0.7, 0.5] and run.seed == 5


def test_lower_is_better_metrics_pick_the_lower_run() -> None:
    b = KFoldRun("B", tuple({"accuracy": 0.7, "log_loss": v} for v in (0.30, 0.31, 0.29)), (20,) * 3, (10,) * 3,
                 "s" * 64, "f" * 64, 0)
    a = KFoldRun("A", tuple({"accuracy": 0.7, "log_loss": v} for v in (0.50, 0.52, 0.49)), (20,) * 3, (10,) * 3,
                 "s" * 64, "f" * 64, 0)
    r = compare_kfold_runs(a, b, "log_loss")
    assert r.lower_is_better and r.test.mean < 0
    assert kfold_sentences(r)[-1].startswith("B is better on log loss")
