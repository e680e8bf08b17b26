"""Evaluate in the window scores rows the model never learned from, and says which rows it scored.

The demo checkpoint was trained on 80 % of the demo CSV: Evaluate scores the other 20 %
(pima-holdout.csv). A model trained in the window is scored on its run's validation rows. The
HTML report carries the settings; the pooled k-fold rows carry their features.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from sklearn.metrics import accuracy_score, roc_auc_score

from evalstudio.core.data.dataset import load_csv
from evalstudio.resources import resource_path
from tests.gui.conftest import load_demo, wait_idle

HOLDOUT = str(resource_path("demo", "pima-holdout.csv"))


def _click_evaluate(qtbot, window):
    with qtbot.waitSignal(window.controller.evaluation_finished, timeout=60000) as blocker:
        qtbot.mouseClick(window.training_panel.evaluate_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    return blocker.args[0]


def test_evaluate_on_the_demo_scores_the_rows_its_checkpoint_never_saw(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    outcome = _click_evaluate(qtbot, window)
    held = load_csv(HOLDOUT)
    pred = outcome.predictions
    assert pred.n_samples == held.n_samples == 154
    assert np.array_equal(pred.y_true, held.y)
    # The numbers shown are sklearn's on the held-out rows.
    panel = window.evaluation_panel
    assert panel.report.metrics["accuracy"] == pytest.approx(
        accuracy_score(held.y, (pred.y_score[:, 1] >= np.float32(0.5)).astype(int)))
    assert panel.report.metrics["roc_auc"] == pytest.approx(roc_auc_score(held.y, pred.y_score[:, 1]))
    # ... and the window says which rows they are.
    assert panel.title_label.text() == "pima-holdout.csv: the 154 held-out rows pima_checkpoint.pt never saw"
    said = window.message_area.text
    assert "Evaluate scored pima-holdout.csv, rows pima_checkpoint.pt never saw" in said
    assert "standardisation from the checkpoint applied" in said  # the evaluation's own notes still shown
    # The report names the held-out file as the data and carries the settings in effect.
    html = panel.export_report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "pima-holdout.csv" in html and "pima-indians-diabetes.csv" not in html
    for key in ("rows scored", "held-out file", "device", "evaluation batch size", "training epochs",
                "training lr", "training val_fraction", "checkpoint epoch", "threshold", "positive class"):
        assert f">{key}<" in html, key
    # Train and K-fold still use the whole demo CSV.
    assert window.controller.dataset.n_samples == 768


def test_evaluate_after_training_scores_the_runs_validation_rows(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    tp = window.training_panel
    tp.epochs.setValue(3)
    tp.batch_size.setValue(32)
    tp.val_fraction.setValue(0.25)
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000) as blocker:
        qtbot.mouseClick(tp.train_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    wait_idle(qtbot, window)
    val = result.val_predictions
    assert val is not None and val.n_samples == 192
    assert tp.evaluate_button.toolTip() == (
        "Evaluate scores the trained model on the 192 validation rows its training held out")
    outcome = _click_evaluate(qtbot, window)
    pred = outcome.predictions
    # Exactly the validation rows, scored by the trained model as training scored them.
    order_eval, order_val = np.argsort(pred.row_numbers), np.argsort(val.row_numbers)
    assert np.array_equal(pred.row_numbers[order_eval], val.row_numbers[order_val])
    assert np.allclose(pred.y_score[order_eval], val.y_score[order_val], atol=1e-5)
    assert window.evaluation_panel.title_label.text() == (
        "pima-indians-diabetes.csv: the 192 validation rows of the training run (held out from training)")
    assert "not on all 768 rows of pima-indians-diabetes.csv" in window.message_area.text
    html = window.evaluation_panel.export_report(tmp_path / "trained.html").read_text(encoding="utf-8")
    assert ">training epochs<" in html and ">validation rows<" in html


def test_pooled_kfold_rows_show_their_features(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    tp = window.training_panel
    tp.epochs.setValue(1)
    tp.folds.setValue(2)
    with qtbot.waitSignal(window.controller.kfold_finished, timeout=60000) as blocker:
        qtbot.mouseClick(tp.kfold_button, Qt.MouseButton.LeftButton)
    cv = blocker.args[0]
    wait_idle(qtbot, window)
    data = window.controller.dataset
    pooled = window.kfold_panel.pooled
    assert pooled.predictions.n_samples == 768  # k-fold ran on the whole demo CSV
    with qtbot.waitSignal(pooled.confusion.cell_clicked):
        qtbot.mouseClick(pooled.confusion.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=pooled.confusion.cell_viewport_pos(1, 1))
    model = pooled.rows.model
    assert model.rowCount() > 0
    assert model.header[:9] == ("Row", *data.feature_names)
    by_row = {int(r): i for i, r in enumerate(data.row_numbers)}
    for r in range(min(model.rowCount(), 20)):
        values = model.row_values(r)
        assert values[1:9] == pytest.approx(data.X[by_row[values[0]]].tolist())
    assert cv.pooled_predictions.row_numbers.tolist() == data.row_numbers.tolist()
    html = pooled.export_report(tmp_path / "kfold.html").read_text(encoding="utf-8")
    assert ">training folds<" in html and ">pooled out-of-fold predictions<" in html


def test_a_checkpoint_for_another_width_names_the_csv_columns(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    narrow = tmp_path / "seven.csv"
    lines = open(resource_path("demo", "pima-indians-diabetes.csv"), encoding="utf-8").read().splitlines()
    narrow.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n", encoding="utf-8")
    window.open_data(str(narrow))
    wait_idle(qtbot, window)
    assert window.controller.dataset.n_features == 7
    assert window.controller.model is None
    text = window.message_area.text
    assert "the checkpoint expects 8 features" in text
    assert "the CSV has 7 (columns: PlGlcConc, BloodP" in text


def test_the_evaluate_button_says_which_rows_it_will_score(qtbot, window):
    load_demo(qtbot, window)
    assert window.training_panel.evaluate_button.toolTip() == (
        "Evaluate scores pima-holdout.csv, the rows pima_checkpoint.pt never saw "
        "(pima-indians-diabetes.csv holds the rows it was trained on)")
    window.controller.heldout = None  # without the pairing: every row, and the button says so
    window._refresh_actions()
    assert window.training_panel.evaluate_button.toolTip() == "Evaluate scores all 768 rows of pima-indians-diabetes.csv"


def test_plan_labels_every_case(tmp_path):
    from evalstudio.gui.eval_plan import HeldOutFile, TrainedRun, plan_evaluation

    data, other, ckpt, held = (tmp_path / n for n in ("d.csv", "o.csv", "c.pt", "h.csv"))
    for f in (data, other, ckpt, held):
        f.write_text("x")
    # Trained here without validation rows: all rows, labelled optimistic.
    run = TrainedRun(str(data), (str(ckpt),), None, {"epochs": 3})
    plan = plan_evaluation(str(data), 50, str(ckpt), trained=run)
    assert plan.job_kwargs == {} and plan.title.format(n=50) == (
        "d.csv: all 50 rows, INCLUDING the rows the model was trained on (optimistic)")
    assert "Set a validation fraction and train again" in plan.note
    assert plan.before == "all 50 rows of d.csv, including the rows the model was trained on"
    # The trained model on another file: that file's rows, plainly.
    assert plan_evaluation(str(other), 9, str(ckpt), trained=run).title.format(n=9) == "o.csv: all 9 rows"
    # A held-out pairing applies only to its own checkpoint and data.
    pair = HeldOutFile(str(data), str(ckpt), str(held))
    assert plan_evaluation(str(data), 50, str(ckpt), heldout=pair).job_kwargs == {"data_path": str(held)}
    assert plan_evaluation(str(other), 50, str(ckpt), heldout=pair).job_kwargs == {}
    assert plan_evaluation(str(data), 50, str(tmp_path / "x.pt"), heldout=pair).job_kwargs == {}
