"""Evaluate in the window never scores the rows a model was trained on without saying so.

One mechanism, the core's: the checkpoint records the rows that trained it, and Evaluate leaves
them out of the loaded data. The demo checkpoint was trained on 80 % of the demo CSV, so Evaluate
on that CSV scores the other 20 % (the rows of pima-holdout.csv); a model trained in the window is
scored on its run's validation rows. The title says what was scored and what was left out; the
checkbox "include the rows this model was trained on (optimistic)" scores everything, labelled so
in the title and the HTML report.
"""

from __future__ import annotations

import html
from types import SimpleNamespace

import torch

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from sklearn.metrics import accuracy_score, roc_auc_score

from evalstudio.core.data.dataset import load_csv
from evalstudio.resources import resource_path
from tests.gui.conftest import load_demo, wait_idle

HOLDOUT = str(resource_path("demo", "pima-holdout.csv"))
INCLUDE = "include the rows this model was trained on (optimistic)"


def _click_evaluate(qtbot, window):
    with qtbot.waitSignal(window.controller.evaluation_finished, timeout=60000) as blocker:
        qtbot.mouseClick(window.training_panel.evaluate_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    return blocker.args[0]


def _train(qtbot, window, *, val_fraction: float, epochs: int = 3):
    tp = window.training_panel
    tp.epochs.setValue(epochs)
    tp.batch_size.setValue(32)
    tp.val_fraction.setValue(val_fraction)
    with qtbot.waitSignal(window.controller.training_finished, timeout=60000) as blocker:
        qtbot.mouseClick(tp.train_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    return blocker.args[0]


def test_evaluate_on_the_demo_scores_the_rows_its_checkpoint_never_saw(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    assert window.training_panel.evaluate_button.toolTip() == (
        "Evaluate scores the rows of pima-indians-diabetes.csv that did not train pima_checkpoint.pt "
        "(pima_checkpoint.pt records its training rows)")
    outcome = _click_evaluate(qtbot, window)
    held = load_csv(HOLDOUT)
    pred = outcome.predictions
    # Exactly the held-out rows, found by their content in the full CSV (the file the window loaded).
    assert pred.n_samples == held.n_samples == 154
    assert np.array_equal(pred.y_true, held.y)
    assert np.array_equal(outcome.dataset.X, held.X)
    # The numbers shown are sklearn's on the held-out rows.
    panel = window.evaluation_panel
    assert panel.report.metrics["accuracy"] == pytest.approx(
        accuracy_score(held.y, (pred.y_score[:, 1] >= np.float32(0.5)).astype(int)))
    assert panel.report.metrics["roc_auc"] == pytest.approx(roc_auc_score(held.y, pred.y_score[:, 1]))
    # ... and the window says which rows they are, and which were left out.
    assert panel.title_label.text() == (
        "pima-indians-diabetes.csv: 154 rows scored, the 614 that trained pima_checkpoint.pt left out")
    said = window.message_area.text
    assert said.startswith("614 of 768 rows trained this checkpoint and are left out; scoring the other 154.")
    assert f"Tick \u201c{INCLUDE}\u201d under Evaluate to score them too." in said
    assert "standardisation from the checkpoint applied" in said  # the evaluation's own notes still shown
    # The report names the file and says what was scored.
    html = panel.export_report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "pima-indians-diabetes.csv" in html
    assert "154 of 768 rows; the 614 that trained the checkpoint left out" in html
    for key in ("rows scored", "device", "evaluation batch size", "training epochs", "training lr",
                "training val_fraction", "checkpoint epoch", "threshold", "positive class"):
        assert f">{key}<" in html, key
    # Train and K-fold still use the whole demo CSV.
    assert window.controller.dataset.n_samples == 768


def test_the_checkbox_scores_the_training_rows_too_and_says_optimistic(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    box = window.training_panel.include_training_rows
    assert box.text().replace("\n", " ") == INCLUDE and not box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert box.isChecked() and window.controller.include_training_rows
    assert window.training_panel.evaluate_button.toolTip() == (
        "Evaluate scores all 768 rows of pima-indians-diabetes.csv, including those that trained "
        "pima_checkpoint.pt (optimistic)")
    outcome = _click_evaluate(qtbot, window)
    assert outcome.predictions.n_samples == 768 and outcome.leakage.optimistic
    panel = window.evaluation_panel
    title = "pima-indians-diabetes.csv: all 768 rows, INCLUDING the 614 that trained pima_checkpoint.pt (optimistic)"
    assert panel.title_label.text() == title
    assert window.message_area.text.startswith(
        "Scoring all 768 rows, INCLUDING the 614 that trained this checkpoint: these results are optimistic.")
    assert window.status_label.text() == (f"evaluated 768 rows: accuracy {panel.report.metrics['accuracy']:.3f} "
                                          "(optimistic: includes the rows the model was trained on)")
    html = panel.export_report(tmp_path / "optimistic.html").read_text(encoding="utf-8")
    assert f"<h1>{title}</h1>" in html
    assert "all 768 rows, including the 614 that trained the checkpoint (optimistic)" in html
    # Unticked, the next Evaluate is honest again.
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not window.controller.include_training_rows
    assert _click_evaluate(qtbot, window).predictions.n_samples == 154


def test_evaluate_after_training_scores_the_runs_validation_rows(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    result = _train(qtbot, window, val_fraction=0.25)
    val = result.val_predictions
    assert val is not None and val.n_samples == 192
    ckpt = window.controller.checkpoint_path.rsplit("/", 1)[-1]
    assert window.training_panel.evaluate_button.toolTip() == (
        f"Evaluate scores the rows of pima-indians-diabetes.csv that did not train {ckpt} "
        f"({ckpt} records its training rows)")
    outcome = _click_evaluate(qtbot, window)
    pred = outcome.predictions
    # Exactly the validation rows, scored by the trained model as training scored them.
    order_eval, order_val = np.argsort(pred.row_numbers), np.argsort(val.row_numbers)
    assert np.array_equal(pred.row_numbers[order_eval], val.row_numbers[order_val])
    assert np.allclose(pred.y_score[order_eval], val.y_score[order_val], atol=1e-5)
    assert window.evaluation_panel.title_label.text() == (
        f"pima-indians-diabetes.csv: 192 rows scored (its validation rows), the 576 that trained {ckpt} left out")
    said = window.message_area.text
    assert said.startswith("576 of 768 rows trained this checkpoint and are left out; scoring the other 192.")
    assert "192 of the scored rows chose this checkpoint (its validation rows)" in said
    html = window.evaluation_panel.export_report(tmp_path / "trained.html").read_text(encoding="utf-8")
    assert ">training epochs<" in html and "192 validation rows (slightly optimistic)" in html


def test_a_model_trained_on_every_row_is_refused_in_plain_words_until_the_box_is_ticked(qtbot, window):
    load_demo(qtbot, window)
    _train(qtbot, window, val_fraction=0.0, epochs=1)
    with qtbot.waitSignal(window.controller.runner.failed, timeout=60000):
        qtbot.mouseClick(window.training_panel.evaluate_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    said = window.message_area.text
    assert "all 768 rows of pima-indians-diabetes.csv trained this checkpoint, so none is left to score honestly" in said
    assert f"tick \u201c{INCLUDE}\u201d under Evaluate to score them anyway" in said
    assert "--include-training-rows" not in said and "Traceback" not in said
    qtbot.mouseClick(window.training_panel.include_training_rows, Qt.MouseButton.LeftButton)
    outcome = _click_evaluate(qtbot, window)
    assert outcome.predictions.n_samples == 768
    assert window.evaluation_panel.title_label.text().endswith("INCLUDING the 768 that trained best.pt (optimistic)")


def test_a_checkpoint_from_elsewhere_is_scored_on_every_row_and_says_so_once(qtbot, window, tmp_path):
    load_demo(qtbot, window)
    weights = torch.load(resource_path("demo", "pima_checkpoint.pt"), weights_only=True)["model_state_dict"]
    plain = tmp_path / "plain.pt"
    torch.save(weights, plain)
    window.choose_checkpoint(str(plain))
    wait_idle(qtbot, window)
    assert window.training_panel.evaluate_button.toolTip() == (
        "Evaluate scores all 768 rows of pima-indians-diabetes.csv (this checkpoint does not record its "
        "training rows)")
    outcome = _click_evaluate(qtbot, window)
    assert outcome.leakage is None and outcome.predictions.n_samples == 768
    assert window.evaluation_panel.title_label.text() == "pima-indians-diabetes.csv: all 768 rows (training rows not recorded)"
    assert window.message_area.text.count("this checkpoint does not record its training rows") == 1


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
    # The checkpoint's column encoding builds the model for its own 8 inputs and reads the data's
    # columns by name: the Model tab names the one the data lacks, before any Evaluate.
    assert window.controller.model is not None
    warning = window.model_panel.fit_warning
    assert warning.isVisibleTo(window.model_panel)
    assert "'NumTimesPrg' that the data does not have as features" in html.unescape(warning.text())
    # A checkpoint without an encoding (a plain state_dict of the same weights) still names the widths.
    plain = tmp_path / "plain.pt"
    torch.save(torch.load(resource_path("demo", "pima_checkpoint.pt"), weights_only=True)["model_state_dict"], plain)
    window.choose_checkpoint(str(plain))
    wait_idle(qtbot, window)
    assert window.controller.model is None
    text = window.message_area.text
    assert "the checkpoint expects 8 features" in text
    assert "the CSV has 7 (columns: PlGlcConc, BloodP" in text


def test_plan_words_every_case():
    from evalstudio.core.evaluation.leakage import Leakage
    from evalstudio.gui.eval_plan import plan_evaluation

    plan = plan_evaluation("/d/data.csv", 100, "/r/best.pt", records_rows=True)

    def outcome(leakage, n):
        return SimpleNamespace(leakage=leakage, predictions=SimpleNamespace(n_samples=n))

    assert plan.before == "the rows of data.csv that did not train best.pt (best.pt records its training rows)"
    assert plan.title(outcome(Leakage(100, 0, 0, 100, False), 100)) == "data.csv: all 100 rows (none trained best.pt)"
    assert plan.title(outcome(Leakage(100, 60, 15, 40, False), 40)) == (
        "data.csv: 40 rows scored (15 of them validation rows), the 60 that trained best.pt left out")
    assert plan.title(outcome(None, 100)) == "data.csv: all 100 rows (training rows not recorded)"
    assert plan.message(outcome(None, 100)) == ""
    assert plan.rows_scored(outcome(Leakage(100, 60, 15, 40, False), 40)) == (
        "40 of 100 rows; the 60 that trained the checkpoint left out; 15 validation rows (slightly optimistic)")
    assert plan_evaluation(None, 5, None, records_rows=False).before == (
        "all 5 rows of the loaded data (the model does not record its training rows)")
