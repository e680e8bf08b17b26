"""k-fold cross-validation: stratified disjoint folds, fresh models, no scaler leakage, summaries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from evalstudio.core.training.callbacks import Callback
from evalstudio.core.errors import DataError
from evalstudio.core.training.kfold import cross_validate, fold_indices, summarize
from evalstudio.core.models.outputs import OutputKind
from evalstudio.core.training.config import TrainConfig

from _train_helpers import make_dataset, make_model, one_thread  # noqa: F401 (autouse fixture)

CFG = TrainConfig(epochs=3, batch_size=16, lr=0.01, seed=7, device="cpu")


def test_folds_are_stratified_disjoint_and_cover_every_row() -> None:
    y = np.array([0] * 70 + [1] * 30)
    folds = fold_indices(y, 5, seed=1)
    tests = [te for _, te in folds]
    assert sorted(np.concatenate(tests).tolist()) == list(range(100))  # each row held out exactly once
    for tr, te in folds:
        assert not set(tr) & set(te) and len(tr) + len(te) == 100
        assert np.bincount(y[te]).tolist() == [14, 6]  # the class ratio in every fold
    # The same folds as scikit-learn's shuffled StratifiedKFold with that seed.
    ref = StratifiedKFold(5, shuffle=True, random_state=1).split(np.zeros((100, 1)), y)
    for (tr, te), (rtr, rte) in zip(folds, ref):
        np.testing.assert_array_equal(te, rte)
    assert [te.tolist() for _, te in fold_indices(y, 5, seed=1)] == [te.tolist() for te in tests]
    assert [te.tolist() for _, te in fold_indices(y, 5, seed=2)] != [te.tolist() for te in tests]


def test_too_few_rows_or_folds_are_explained() -> None:
    with pytest.raises(DataError, match=r"smallest class has 3 rows, fewer than the 5 folds.*--folds 3 or fewer"):
        fold_indices(np.array([0] * 20 + [1] * 3), 5, seed=0)
    with pytest.raises(DataError, match=r"--folds is 1; cross-validation needs at least 2 folds"):
        fold_indices(np.array([0, 1] * 10), 1, seed=0)


def test_summary_is_mean_and_population_std() -> None:
    s = summarize([{"accuracy": 0.5, "note": "x"}, {"accuracy": 0.7, "note": "y"}, {"accuracy": 0.9, "note": "z"}])
    assert list(s) == ["accuracy"]
    assert s["accuracy"]["mean"] == pytest.approx(0.7)
    assert s["accuracy"]["std"] == pytest.approx(np.std([0.5, 0.7, 0.9], ddof=0))


class FoldRecorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []

    def on_fold_start(self, fold: int, k: int) -> None:
        self.events.append(("fold_start", fold))

    def on_train_start(self, info: Any) -> None:
        self.events.append(("train_start", info.config.seed))

    def on_fold_end(self, result: Any) -> None:
        self.events.append(("fold_end", result.fold))


def test_cross_validate_fresh_models_no_leak_and_metrics_like_sklearn() -> None:
    data = make_dataset(n=90)
    X = data.X.copy()
    X[5, 2] = 1e6  # an outlier: whichever fold holds row 5 out must not see it in its scaler
    data = replace(data, X=X)
    initial: list[torch.Tensor] = []

    def factory() -> torch.nn.Module:
        m = make_model()
        initial.append(m[0].weight.detach().clone())
        return m

    rec = FoldRecorder()
    cv = cross_validate(factory, data, CFG, output_kind=OutputKind.LOGIT, k=3, callbacks=[rec])
    assert rec.events == [("fold_start", 1), ("train_start", 7), ("fold_end", 1),
                          ("fold_start", 2), ("train_start", 8), ("fold_end", 2),
                          ("fold_start", 3), ("train_start", 9), ("fold_end", 3)]
    # A fresh model per fold, seeded differently.
    assert len(initial) == 3 and not torch.equal(initial[0], initial[1])
    for f in cv.folds:
        np.testing.assert_allclose(f.preprocessing.mean, data.X[f.train_index].astype(np.float64).mean(axis=0))
        if 5 in f.test_index:
            assert f.preprocessing.mean[2] < 1e3  # the held-out outlier did not reach the scaler
        else:
            assert f.preprocessing.mean[2] > 1e4
        assert len(f.history) == 3 and f.n_train + f.n_test == 90
        np.testing.assert_array_equal(f.predictions.row_numbers, data.row_numbers[f.test_index])
        pred = f.predictions.argmax()
        assert f.metrics["accuracy"] == pytest.approx(accuracy_score(data.y[f.test_index], pred))
        np.testing.assert_array_equal(f.confusion_matrix, confusion_matrix(data.y[f.test_index], pred, labels=[0, 1]))
    accs = [f.metrics["accuracy"] for f in cv.folds]
    assert cv.summary["accuracy"] == {"mean": pytest.approx(np.mean(accs)), "std": pytest.approx(np.std(accs)), "n": 3}
    # Pooled: every row once, in the dataset's order, evaluated together.
    pooled = cv.pooled_predictions
    np.testing.assert_array_equal(pooled.row_numbers, data.row_numbers)
    np.testing.assert_array_equal(pooled.y_true, data.y)
    assert cv.pooled_metrics["roc_auc"] == pytest.approx(roc_auc_score(data.y, pooled.y_score[:, 1]))
    assert cv.pooled_confusion_matrix.sum() == 90


def test_cross_validate_is_reproducible() -> None:
    data = make_dataset(n=60)
    a = cross_validate(make_model, data, CFG, output_kind=OutputKind.LOGIT, k=3)
    b = cross_validate(make_model, data, CFG, output_kind=OutputKind.LOGIT, k=3)
    np.testing.assert_array_equal(a.pooled_predictions.y_score, b.pooled_predictions.y_score)


def test_output_kind_is_inferred_when_not_given() -> None:
    cv = cross_validate(lambda: make_model(sigmoid=True), make_dataset(n=40), replace(CFG, epochs=1), k=2)
    assert cv.config["output_kind"] == "probability"


def test_in_order_batches_train_the_folds_one_after_another() -> None:
    """The stacked trainer always shuffles, so the first tutorial's in-order batches fall back to
    the fold-by-fold loop ("auto") or are refused (True), never silently shuffled."""
    from evalstudio.core.errors import TrainingError

    data = make_dataset(n=40)
    cfg = replace(CFG, epochs=1, shuffle=False, drop_last=True)
    cv = cross_validate(make_model, data, cfg, output_kind=OutputKind.LOGIT, k=2, stacked="auto")
    assert cv.config["fold_training"].startswith("sequential (in-order")
    assert cv.config["shuffle"] is False and cv.config["drop_last"] is True
    with pytest.raises(TrainingError, match="cannot be trained stacked"):
        cross_validate(make_model, data, cfg, output_kind=OutputKind.LOGIT, k=2, stacked=True)
