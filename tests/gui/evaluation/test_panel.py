"""EvaluationPanel driven through its real widgets: slider, entry, buttons, matrix clicks, ROC drag."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from evalstudio.core.evaluation.curves import one_vs_rest_table
from evalstudio.core.evaluation.metrics import evaluate_predictions
from evalstudio.core.evaluation.report import per_row_loss
from evalstudio.core.evaluation.thresholds import ThresholdTable


def _table(pred, positive=1) -> ThresholdTable:
    return ThresholdTable.from_scores(pred.y_true == positive, pred.y_score[:, positive])


def test_moving_the_slider_shows_exactly_the_cores_matrix_and_metrics(panel, qtbot, make_binary) -> None:
    pred = make_binary()
    panel.set_predictions(pred, title="t")
    slider = panel.threshold_bar.slider
    seen = []
    panel.threshold_changed.connect(seen.append)
    for value in (370, 500, 10, 990, 620):  # 0.37 etc. are exact tie values of the rounded scores
        slider.setValue(value)
        t = value / 1000
        core = evaluate_predictions(pred, threshold=t)
        assert panel.threshold == pytest.approx(t)
        assert np.array_equal(panel.confusion.matrix, core.confusion_matrix)
        # ... which is a recount of score >= t in float32, ties included
        pos = pred.y_score[:, 1] >= np.float32(t)
        assert panel.confusion.matrix[1, 1] == np.sum(pos & (pred.y_true == 1))
        for key in ("accuracy", "precision", "recall", "f1", "specificity", "mcc", "roc_auc", "log_loss"):
            assert panel.metrics.value_text(key) == f"{core.metrics[key]:.4f}"
        assert panel.confusion._texts[1][1].textItem.toPlainText() == str(core.confusion_matrix[1, 1])
        assert panel.confusion._totals[-1].textItem.toPlainText() == str(pred.n_samples)
    assert seen[-1] == pytest.approx(0.62)


def test_dragging_the_slider_updates_live_and_the_entry_commits(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=3)
    panel.set_predictions(pred)
    slider = panel.threshold_bar.slider
    committed = []
    panel.threshold_bar.threshold_committed.connect(committed.append)
    slider.setSliderDown(True)
    slider.setValue(250)
    assert committed == []  # dragging: cheap updates only ...
    assert np.array_equal(panel.confusion.matrix, _table(pred).confusion_matrix_at(0.25))  # ... yet exact
    slider.setSliderDown(False)  # release
    assert committed == [pytest.approx(0.25)]
    entry = panel.threshold_bar.entry
    entry.lineEdit().selectAll()
    qtbot.keyClicks(entry.lineEdit(), "0.4321")
    qtbot.keyClick(entry.lineEdit(), Qt.Key.Key_Return)
    assert panel.threshold == pytest.approx(0.4321)
    assert slider.value() == 432
    assert np.array_equal(panel.confusion.matrix, evaluate_predictions(pred, threshold=0.4321).confusion_matrix)


def test_roc_point_and_slider_stay_in_step_both_ways(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=5, ties=False)
    panel.set_predictions(pred)
    table = _table(pred)
    # slider -> point
    panel.threshold_bar.slider.setValue(300)
    m = table.metrics_at(0.3)
    assert panel.roc.point_pos() == pytest.approx((m["fpr"], m["tpr"]))
    assert panel.pr.point_pos() == pytest.approx((m["recall"], m["precision"]))
    # point -> slider: move the TargetItem as a mouse drag does (its position changes)
    finished = []
    panel.roc.threshold_drag_finished.connect(finished.append)
    panel.roc.point.setPos(QPointF(0.2, 0.8))
    t = table.threshold_at_roc_point(0.2, 0.8)
    assert panel.threshold == pytest.approx(t)
    assert panel.threshold_bar.slider.value() == round(t * 1000)
    assert panel.threshold_bar.entry.value() == pytest.approx(t, abs=1e-4)
    m = table.metrics_at(t)
    assert panel.roc.point_pos() == pytest.approx((m["fpr"], m["tpr"]))  # snapped onto the curve
    assert np.array_equal(panel.confusion.matrix, table.confusion_matrix_at(t))
    panel.roc.point.sigPositionChangeFinished.emit(panel.roc.point)  # mouse released
    assert finished and finished[-1] == pytest.approx(t)
    # PR point drags along the PR curve to a plotted point's threshold
    t_pr = panel.pr.drag_to(0.5, 0.7)
    assert panel.threshold == pytest.approx(t_pr)
    m = table.metrics_at(t_pr)
    assert panel.pr.point_pos() == pytest.approx((m["recall"], m["precision"]))


def test_suggestion_buttons_and_costs_use_the_core(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=2)
    panel.set_predictions(pred)
    table = _table(pred)
    bar = panel.threshold_bar
    qtbot.mouseClick(bar.buttons["max_f1"], Qt.MouseButton.LeftButton)
    assert panel.threshold == pytest.approx(table.best_f1_threshold())
    qtbot.mouseClick(bar.buttons["youden"], Qt.MouseButton.LeftButton)
    assert panel.threshold == pytest.approx(table.youden_threshold())
    bar.cost_fn.setValue(5.0)
    expected = table.min_cost_threshold(1.0, 5.0)
    assert f"({expected:.3f})" in bar.buttons["min_cost"].text()
    qtbot.mouseClick(bar.buttons["min_cost"], Qt.MouseButton.LeftButton)
    assert panel.threshold == pytest.approx(expected)
    assert np.array_equal(panel.confusion.matrix, evaluate_predictions(pred, threshold=expected).confusion_matrix)
    bar.cost_fn.setValue(0.0)
    bar.cost_fp.setValue(0.0)  # both zero: no minimum-cost threshold exists
    assert not bar.buttons["min_cost"].isEnabled()
    qtbot.mouseClick(bar.buttons["default"], Qt.MouseButton.LeftButton)
    assert panel.threshold == 0.5


def _click(view, qtbot, row: float, col: float) -> None:
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.cell_viewport_pos(row, col))


def test_clicking_a_cell_lists_exactly_those_rows_sorted_by_loss(panel, qtbot, make_binary) -> None:
    pred = make_binary(seed=4)
    X = np.random.default_rng(0).normal(size=(pred.n_samples, 2)).astype(np.float32)
    panel.set_predictions(pred, features=X, feature_names=("glucose", "bmi"))
    panel.threshold_bar.slider.setValue(420)
    with qtbot.waitSignal(panel.confusion.cell_clicked) as blocker:
        _click(panel.confusion, qtbot, 1, 0)  # actual diabetic, predicted healthy: false negatives
    assert blocker.args == [1, 0]
    model = panel.rows.model
    is_pos = pred.y_score[:, 1] >= np.float32(0.42)
    expected = np.flatnonzero((pred.y_true == 1) & ~is_pos)
    assert model.rowCount() == panel.confusion.matrix[1, 0] == expected.size
    assert sorted(model.positions.tolist()) == expected.tolist()
    loss = per_row_loss(pred)[model.positions]
    assert np.all(np.diff(loss) <= 0)  # worst first
    assert model.header == ("Row", "glucose", "bmi", "Actual", "Predicted", "P(healthy)", "P(diabetic)", "Loss")
    first = model.positions[0]
    idx = model.index(0, 0)
    assert model.data(idx) == str(pred.row_numbers[first])  # the original row number
    assert model.data(model.index(0, 3)) == "diabetic" and model.data(model.index(0, 4)) == "healthy"
    assert model.data(model.index(0, 7)) == f"{-np.log(pred.y_score[first, 1]):.4f}"
    # a row header (class name left of the matrix) lists the whole actual row
    _click(panel.confusion, qtbot, 0, -0.9)
    assert panel.rows.model.rowCount() == np.sum(pred.y_true == 0)
    # the column total lists the whole predicted column
    _click(panel.confusion, qtbot, 2, 1)
    assert sorted(panel.rows.model.positions.tolist()) == np.flatnonzero(is_pos).tolist()
    # moving the threshold refreshes the listed rows
    panel.threshold_bar.slider.setValue(600)
    assert panel.rows.model.rowCount() == np.sum(pred.y_score[:, 1] >= np.float32(0.6))


def test_a_million_rows_stay_lazy(panel, qtbot) -> None:
    n = 1_000_000
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p1 = rng.random(n).astype(np.float32)
    from evalstudio.core.evaluation.predictions import Predictions

    pred = Predictions(y, np.column_stack([1 - p1, p1]), ("a", "b"))
    panel.set_predictions(pred)
    panel.threshold_bar.slider.setValue(300)
    _click(panel.confusion, qtbot, 2, 2)  # grand total: every row
    model = panel.rows.model
    assert model.rowCount() == n
    assert model.data(model.index(n - 1, 0)) is not None  # formatted on demand


def test_positive_class_zero(panel, make_binary) -> None:
    pred = make_binary(seed=6)
    panel.set_predictions(pred, positive=0, threshold=0.3)
    core = evaluate_predictions(pred, threshold=0.3, positive=0)
    assert np.array_equal(panel.confusion.matrix, core.confusion_matrix)
    assert panel.threshold_bar.title.text() == "Threshold on P(healthy)"
    assert np.array_equal(panel.predicted_labels() == 0, pred.y_score[:, 0] >= np.float32(0.3))


def test_count_and_percent_modes(panel, make_binary) -> None:
    pred = make_binary(seed=7)
    panel.set_predictions(pred)
    cm = panel.confusion.matrix
    panel.confusion.mode.setCurrentIndex(1)
    share = cm[0, 1] / cm[0].sum()
    assert panel.confusion._texts[0][1].textItem.toPlainText() == f"{100 * share:.1f}%\n({cm[0, 1]})"
    img = panel.confusion.image.image
    assert img[0, 1] == pytest.approx(share) and panel.confusion.image.levels.tolist() == [0.0, 1.0]
    panel.confusion.mode.setCurrentIndex(2)
    share = cm[0, 1] / cm[:, 1].sum()
    assert panel.confusion._texts[0][1].textItem.toPlainText() == f"{100 * share:.1f}%\n({cm[0, 1]})"


def test_roc_legend_names_auc_band(panel, make_binary) -> None:
    pred = make_binary(seed=8)
    panel.set_predictions(pred)
    auc = _table(pred).roc_auc
    from evalstudio.core.evaluation.report import auc_band

    assert f"AUC {auc:.3f} ({auc_band(auc)})" in panel.roc.legend_texts()
    assert any(t.startswith("prevalence ") for t in panel.pr.legend_texts())


def test_multiclass_argmax_matrix_and_one_vs_rest(panel, qtbot, make_multiclass) -> None:
    pred = make_multiclass()
    panel.set_predictions(pred)
    core = evaluate_predictions(pred)
    assert np.array_equal(panel.confusion.matrix, core.confusion_matrix)
    assert panel.metrics.value_text("roc_auc") == f"{core.metrics['roc_auc']:.4f}"
    assert panel.matrix_tabs.isTabVisible(1)
    assert len(panel.roc.curves) == 4 and "macro average" in panel.roc.legend_texts()[-1]
    panel.ovr_class.setCurrentIndex(2)
    assert panel.matrix_tabs.currentIndex() == 0
    panel.threshold_bar.slider.setValue(410)
    assert panel.matrix_tabs.currentIndex() == 1  # the slider shows the matrix it moves
    table = one_vs_rest_table(pred, 2)
    assert np.array_equal(panel.ovr_confusion.matrix, table.confusion_matrix_at(0.41))
    assert panel.ovr_confusion.classes == ("not c2", "c2")
    assert np.array_equal(panel.confusion.matrix, core.confusion_matrix)  # argmax matrix unchanged
    # clicking the one-vs-rest true-positive cell lists exactly those rows
    panel.matrix_tabs.setCurrentIndex(1)
    qtbot.wait(10)
    _click(panel.ovr_confusion, qtbot, 1, 1)
    expected = np.flatnonzero((pred.y_true == 2) & (pred.y_score[:, 2] >= 0.41))
    assert sorted(panel.rows.model.positions.tolist()) == expected.tolist()
    # argmax cell
    panel.matrix_tabs.setCurrentIndex(0)
    qtbot.wait(10)
    _click(panel.confusion, qtbot, 0, 1)
    expected = np.flatnonzero((pred.y_true == 0) & (pred.argmax() == 1))
    assert panel.rows.model.rowCount() == core.confusion_matrix[0, 1] == expected.size


def test_clear_and_replace(panel, make_binary, make_multiclass) -> None:
    panel.set_predictions(make_multiclass())
    panel.set_predictions(make_binary())
    assert not panel.matrix_tabs.isTabVisible(1)
    assert panel.confusion.classes == ("healthy", "diabetic")
    panel.clear()
    assert panel.predictions is None and not panel.threshold_bar.isEnabled()


def test_the_panel_fits_beside_the_side_panel_of_a_laptop_window(panel, make_binary, make_multiclass) -> None:
    """Seen under Xvfb: at 1280 px the panel was 1160 px wide at least, so the metric values, the
    numeric entry and the Export button lay off screen. The tab beside the side panel has ~900 px."""
    panel.set_predictions(make_binary(), title="pima-indians-diabetes.csv: all 768 rows")
    assert panel.minimumSizeHint().width() <= 860
    panel.set_predictions(make_multiclass(), title="wine.csv: all 178 rows")
    assert panel.minimumSizeHint().width() <= 860
