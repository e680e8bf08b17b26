"""One evaluation end to end (the CLI's and the GUI's path): the positive class, thresholds, outcome."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from evalstudio.core.errors import DataError
from evalstudio.core.evaluation.pipeline import EvaluationSpec, positive_index, run_evaluation, with_threshold
from evalstudio.resources import resource_path

DEMO = resource_path("demo")


def pima(**kw: object) -> EvaluationSpec:
    return EvaluationSpec(data_path=str(DEMO / "pima-holdout.csv"), model_path=str(DEMO / "pima_model.py"),
                          checkpoint_path=str(DEMO / "pima_checkpoint.pt"), device="cpu", **kw)  # type: ignore[arg-type]


def test_positive_class_rules() -> None:
    assert positive_index(("no", "yes"), None) == 1
    assert positive_index(("no", "yes"), "no") == 0
    with pytest.raises(DataError) as err:
        positive_index(("no", "yes"), "maybe")
    assert str(err.value) == ("positive class 'maybe' is not one of the classes (no, yes). "
                              "Pass one of those names to --positive-class.")
    with pytest.raises(DataError) as err:
        positive_index(("a", "b", "c"), "a")
    assert str(err.value) == ("--positive-class applies to binary tasks; this one has 3 classes. "
                              "Drop --positive-class for a multiclass evaluation.")


def test_demo_outcome_equals_sklearn_at_the_chosen_threshold_and_positive_class() -> None:
    out = run_evaluation(pima(threshold=0.3, positive_class="0"))
    y, p0 = out.predictions.y_true, out.predictions.y_score[:, 0]
    y_pred = np.where(p0 >= np.float32(0.3), 0, 1)
    m = out.report.metrics
    assert out.positive == 0 and out.report.threshold == 0.3
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_pred), abs=1e-9)
    assert m["recall"] == pytest.approx(skm.recall_score(y, y_pred, pos_label=0), abs=1e-9)
    assert m["precision"] == pytest.approx(skm.precision_score(y, y_pred, pos_label=0), abs=1e-9)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y == 0, p0), abs=1e-9)
    assert m["average_precision"] == pytest.approx(skm.average_precision_score(y == 0, p0), abs=1e-9)
    # Another threshold re-uses the scores (no model call) and agrees with a fresh evaluation.
    again = with_threshold(out, 0.6)
    assert again.predictions is out.predictions
    fresh = run_evaluation(pima(threshold=0.6, positive_class="0"))
    assert again.report.metrics == pytest.approx(fresh.report.metrics, abs=1e-12)
    assert any("standardisation from the checkpoint applied" in n for n in out.notes)
