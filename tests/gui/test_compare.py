"""The Compare tab: two models on the same rows (files, or the model trained in the window) and two
k-fold runs, driven through the real widgets; what it shows is checked against scikit-learn/scipy."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, confusion_matrix, roc_auc_score

from evalstudio.resources import resource_path
from tests.gui.conftest import load_demo, wait_idle

DEMO = resource_path("demo")


def _compare(qtbot, window):
    view = window.compare_view
    with qtbot.waitSignal(window.controller.status_changed, timeout=60000,
                          check_params_cb=lambda text: text.startswith("compared on")):
        qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert view.comparison is not None, window.controller.messages
    return view.comparison


def test_demo_checkpoint_against_a_second_checkpoint_on_the_rows_neither_trained_on(qtbot, window):
    load_demo(qtbot, window)
    # What Evaluate scores for A (the demo checkpoint): the rows of the demo CSV that did not train it.
    with qtbot.waitSignal(window.controller.evaluation_finished, timeout=60000) as blocker:
        window.evaluate()
    wait_idle(qtbot, window)
    evaluated = blocker.args[0].predictions
    view = window.compare_view
    window.show_view(view)
    view.set_files(str(DEMO / "pima_model.py"), str(DEMO / "pima_checkpoint_raw.pt"))
    c = _compare(qtbot, window)
    # B was trained on the same rows, so both leave out the same 614 and the 154 others are paired.
    assert c.n_samples == 154 == evaluated.n_samples
    np.testing.assert_array_equal(c.row_numbers, evaluated.row_numbers)
    np.testing.assert_allclose(c.predictions[0].y_score, evaluated.y_score)
    assert "A = pima_checkpoint.pt, B = pima_checkpoint_raw.pt: pima-indians-diabetes.csv, 154 rows scored by both" \
        in view.title_label.text()
    assert "model B: 614 of 768 rows trained this checkpoint and are left out" in view.words.text()
    held = c.predictions[0]
    y = held.y_true
    sa, sb = (p.y_score[:, 1] for p in c.predictions)
    # The confusion matrices and AUCs shown are scikit-learn's at the slider's threshold.
    view.set_threshold(0.3)
    t = np.float32(0.3)
    for cm_view, s in ((view.confusion_a, sa), (view.confusion_b, sb)):
        np.testing.assert_array_equal(cm_view.matrix, confusion_matrix(y, (s >= t).astype(int)))
    assert view.comparison.reports[1].metrics["roc_auc"] == pytest.approx(roc_auc_score(y, sb))
    # Both operating points moved with the one slider: each sits at its model's (FPR, TPR).
    for i, s in enumerate((sa, sb)):
        pred = s >= t
        tpr = pred[y == 1].mean()
        fpr = pred[y == 0].mean()
        pos = view.roc.point_pos() if i == 0 else view.roc.other_point_pos(0)
        assert pos == pytest.approx((fpr, tpr))
    # The agreement table is McNemar's table at that threshold, and scipy gives its p-value.
    ra, rb = (sa >= t) == y, (sb >= t) == y
    counts = {"both_right": int(np.sum(ra & rb)), "only_a": int(np.sum(ra & ~rb)),
              "only_b": int(np.sum(~ra & rb)), "both_wrong": int(np.sum(~ra & ~rb))}
    assert {k: view.agreement.count(k) for k in counts} == counts
    m = view.comparison.pairs[0].mcnemar
    assert (m.b, m.c) == (counts["only_a"], counts["only_b"])
    assert m.p_value == pytest.approx(binomtest(m.b, m.b + m.c, 0.5).pvalue)
    words = view.words.text()
    assert f"(B right where A is wrong on {m.c} rows, the reverse on {m.b})" in words
    assert "DeLong" in words
    # Clicking a cell lists exactly those rows.
    view.agreement.choose("only_a")
    model = view.rows.model()
    assert model.rowCount() == counts["only_a"]
    listed = {int(model.cell_text(r, 0)) for r in range(model.rowCount())}
    assert listed == set(c.row_numbers[ra & ~rb].tolist())
    assert view.rows_caption.text().startswith(f"{counts['only_a']} rows only A gets right")
    # The metrics table shows A, B and B - A at the threshold.
    row = [view.metrics.verticalHeaderItem(r).text() for r in range(view.metrics.rowCount())].index("Accuracy")
    acc_a = accuracy_score(y, (sa >= t).astype(int))
    acc_b = accuracy_score(y, (sb >= t).astype(int))
    assert view.metrics.item(row, 0).text() == f"{acc_a:.4f}"
    assert view.metrics.item(row, 0).toolTip().startswith("A: 95 % interval ")
    assert view.metrics.item(row, 2).text() == f"{acc_b - acc_a:+.4f}"
    # The paired interval of the difference follows the slider (the resamples' counts are kept on 154 rows).
    d = view.comparison.pairs[0].differences["accuracy"]
    assert view.metrics.item(row, 3).text() == f"[{d.low:+.4f}, {d.high:+.4f}]"
    assert view.comparison.interval["threshold"] == 0.5 and np.isfinite(d.low)


def test_a_b_that_does_not_load_says_why(qtbot, window):
    load_demo(qtbot, window)
    view = window.compare_view
    view.set_files(str(DEMO / "pima_model.py"), str(DEMO / "wine_checkpoint.pt"))
    qtbot.mouseClick(view.compare_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    # The wine checkpoint knows its own classes and columns: the Pima data is refused naming them.
    text = view.title_label.text()
    assert text.startswith("The comparison failed: model B: label '0' in column 'target'"), text
    assert "is not one of the classes (class_0, class_1, class_2)" in text
    assert view.comparison is None


@pytest.mark.slow
def test_the_model_trained_in_the_window_against_the_checkpoint_loaded_before(qtbot, window):
    load_demo(qtbot, window)
    view = window.compare_view
    assert not view.use_trained.isEnabled()
    tp = window.training_panel
    tp.epochs.setValue(3)
    tp.batch_size.setValue(64)
    window.train()
    wait_idle(qtbot, window)
    c = window.controller
    assert c.train_result is not None and view.use_trained.isEnabled()
    assert "pima_checkpoint.pt, the checkpoint loaded before training" in view.use_trained.text()
    view.choose_trained()
    comparison = _compare(qtbot, window)
    # Each leaves out the rows that trained it: what is paired is the run's validation rows that the
    # demo checkpoint did not train on either (here all of them: the run's split is the demo's).
    val = c.train_result.val_predictions
    assert set(comparison.row_numbers.tolist()) <= set(val.row_numbers.tolist())
    assert "model A: 614 of 768 rows trained this checkpoint and are left out" in view.words.text()
    # B's scores are the trained model's on those rows (what its own evaluation gives).
    b = comparison.predictions[1]
    pos = {int(r): i for i, r in enumerate(val.row_numbers)}
    idx = [pos[int(r)] for r in b.row_numbers]
    np.testing.assert_allclose(b.y_score, val.y_score[idx], atol=1e-6)
    assert "trained here" in view.title_label.text()


@pytest.mark.slow
def test_two_kfold_runs_of_the_window(qtbot, window):
    load_demo(qtbot, window)
    view = window.compare_view
    tp = window.training_panel
    for lr in (1e-3, 1e-2):
        tp.set_settings({**tp.settings(), "epochs": 2, "folds": 3, "batch_size": 64, "lr": lr})
        window.kfold()
        wait_idle(qtbot, window)
    box = view.kfold
    assert box.run_a.count() == 2 and box.button.isEnabled()
    box.metric_pick.setCurrentText("roc_auc")
    with qtbot.waitSignal(window.controller.status_changed, timeout=60000):
        qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    runs = window.compare.kfold_runs
    a, b = runs[0][1], runs[1][1]
    expected = [fb.metrics["roc_auc"] - fa.metrics["roc_auc"] for fa, fb in zip(a.folds, b.folds)]
    assert box.table.rowCount() == 4  # 3 folds + mean
    shown = [float(box.table.item(r, 3).text()) for r in range(3)]
    assert shown == pytest.approx(expected, abs=1e-4)
    assert "corrected resampled t-test (Nadeau and Bengio 2003)" in box.words.text()
    assert not box.grab().isNull()  # painting the box once crashed: an attribute named like a Qt virtual
    # A run on other folds is refused, saying which differs.
    tp.set_settings({**tp.settings(), "epochs": 1, "folds": 4})
    window.kfold()
    wait_idle(qtbot, window)
    box.run_a.setCurrentIndex(0)
    box.run_b.setCurrentIndex(2)
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert box.words.text().startswith("The runs cannot be compared: the two runs used different folds (3 vs 4 folds)")


def test_view_alone_multiclass(qtbot):
    from evalstudio.core.evaluation.comparison import compare_predictions
    from evalstudio.gui.evaluation.compare_view import CompareView
    from evalstudio.gui.evaluation.demo_data import demo_multiclass

    a, b = demo_multiclass(seed=0), demo_multiclass(seed=0)
    b = type(b)(a.y_true, np.roll(b.y_score, 1, axis=0) * 0.3 + a.y_score * 0.7, a.classes, a.row_numbers)
    c = compare_predictions([a, b], ["A", "B"])
    view = CompareView()
    qtbot.addWidget(view)
    view.set_comparison(c)
    view.show()
    assert view.threshold_bar.isHidden() and not view.class_row.isHidden()
    np.testing.assert_array_equal(view.confusion_b.matrix, confusion_matrix(a.y_true, b.argmax(), labels=[0, 1, 2]))
    assert "ROC AUC of class class_1 (one vs rest)" in view.words.text()
    view.class_pick.setCurrentIndex(2)
    assert view.roc.legend_texts()[0] == f"A: AUC {roc_auc_score(a.y_true == 2, a.y_score[:, 2]):.3f}"
