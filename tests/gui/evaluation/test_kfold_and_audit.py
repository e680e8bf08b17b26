"""KFoldPanel (live folds, core summary, ROC per fold, pooled panel) and ModeAuditPanel."""

from __future__ import annotations

import numpy as np
import pytest

from evalstudio.core.evaluation.curves import mean_roc_curve, one_vs_rest_table
from evalstudio.core.evaluation.predict import ModeAudit
from evalstudio.core.training.kfold import summarize
from evalstudio.gui.evaluation.demo_data import demo_cv_result
from evalstudio.gui.evaluation.kfold_view import FOLD_METRICS, KFoldPanel, mean_std_text
from evalstudio.gui.evaluation.mode_audit_view import ModeAuditPanel


@pytest.fixture
def kfold(qtbot):
    w = KFoldPanel()
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    return w


def test_folds_appear_live_with_the_cores_running_summary(kfold) -> None:
    cv = demo_cv_result(k=4)
    kfold.start(4, cv.pooled_predictions.classes)
    assert kfold.table.rowCount() == 6 and kfold.table.item(0, 1).text() == "…"  # 4 folds, mean ± std, interval
    for done, fold in enumerate(cv.folds[:2], start=1):
        kfold.add_fold(fold)
        assert kfold.status.text() == f"Cross-validation: {done} of 4 folds done."
    col = 1 + FOLD_METRICS.index("accuracy")
    assert kfold.table.item(1, col).text() == f"{cv.folds[1].metrics['accuracy']:.4f}"
    assert kfold.table.item(2, col).text() == "…"  # fold 3 not done yet
    running = summarize([f.metrics for f in cv.folds[:2]])
    assert kfold.mean_row_texts()["accuracy"] == mean_std_text(running["accuracy"])
    assert len(kfold._curve_items) == 2
    assert kfold._bars.opts["height"].tolist() == pytest.approx([f.metrics["accuracy"] for f in cv.folds[:2]])


def test_kfold_table_equals_the_core_summary_and_pooled_panel(kfold) -> None:
    cv = demo_cv_result(k=5)
    kfold.start(5, cv.pooled_predictions.classes)
    for fold in cv.folds:
        kfold.add_fold(fold)
    kfold.set_result(cv)
    texts = kfold.mean_row_texts()
    for key in FOLD_METRICS:
        s = cv.summary[key]
        assert texts[key] == f"{s['mean']:.4f} ± {s['std']:.4f}"
    assert kfold.summary == cv.summary
    # ROC per fold + mean with AUC mean +/- std from the core
    mean = mean_roc_curve([one_vs_rest_table(f.predictions, 1) for f in cv.folds])
    assert kfold.mean_roc_label.startswith(f"mean: AUC {mean.auc_mean:.3f} ± {mean.auc_std:.3f}")
    assert len(kfold.roc.curves) == 6
    # pooled out-of-fold predictions in a full evaluation panel, matrix equal to the core's
    assert np.array_equal(kfold.pooled.confusion.matrix, cv.pooled_confusion_matrix)
    assert kfold.pooled.predictions.n_samples == cv.pooled_predictions.n_samples
    kfold.pooled.threshold_bar.slider.setValue(300)  # the same slider works on pooled rows
    from evalstudio.core.evaluation.metrics import evaluate_predictions

    assert np.array_equal(kfold.pooled.confusion.matrix,
                          evaluate_predictions(cv.pooled_predictions, threshold=0.3).confusion_matrix)
    # the chosen chart metric
    kfold.metric_choice.setCurrentIndex(FOLD_METRICS.index("roc_auc"))
    assert kfold._bars.opts["height"].tolist() == pytest.approx([f.metrics["roc_auc"] for f in cv.folds])
    assert kfold._mean_line.value() == pytest.approx(cv.summary["roc_auc"]["mean"])


def test_set_result_without_live_folds_and_multiclass(kfold) -> None:
    cv = demo_cv_result(k=3, multiclass=True)
    kfold.set_result(cv)
    assert kfold.table.rowCount() == 5  # 3 folds, mean ± std, the interval of the mean
    assert kfold.mean_row_texts()["f1"] == mean_std_text(cv.summary["f1"])
    assert np.array_equal(kfold.pooled.confusion.matrix, cv.pooled_confusion_matrix)
    assert "3 folds x 3 classes" in kfold.roc_caption.text()


def test_export_folds_csv_and_json(kfold, tmp_path) -> None:
    import csv
    import json

    cv = demo_cv_result(k=3)
    kfold.set_result(cv)
    rows = list(csv.DictReader(open(kfold.export_folds(tmp_path / "folds.csv"), encoding="utf-8")))
    assert [r["fold"] for r in rows] == ["1", "2", "3", "mean", "std", "mean_interval_low", "mean_interval_high"]
    assert float(rows[0]["accuracy"]) == pytest.approx(cv.folds[0].metrics["accuracy"])
    assert float(rows[3]["mcc"]) == pytest.approx(cv.summary["mcc"]["mean"])
    data = json.loads((kfold.export_folds(tmp_path / "folds.json")).read_text())
    assert data[4]["fold"] == "std" and data[4]["f1"] == pytest.approx(cv.summary["f1"]["std"])


def _audit(layers=("net.2: Dropout", "net.1: BatchNorm1d")) -> ModeAudit:
    return ModeAudit(0.771, np.array([0.742, 0.755, 0.731, 0.760]), 0.31, 0.06, layers)


def test_mode_audit_panel_explains_spread_layers_and_gap(qtbot) -> None:
    w = ModeAuditPanel()
    qtbot.addWidget(w)
    w.set_audit(_audit(), train_accuracy=0.842, heldout_accuracy=0.771)
    text = w.explanation.text()
    assert "net.2: Dropout" in text and "net.1: BatchNorm1d" in text
    assert "from 0.7310 to 0.7600" in text and "spread 0.0290" in text and "eval mode gives 0.7710" in text
    assert "model.eval()" in text
    assert "gap of +0.0710" in w.gap.text() and "overfitting" in w.gap.text()
    xs, ys = w.passes.getData()
    assert ys.tolist() == pytest.approx([0.742, 0.755, 0.731, 0.760])
    assert w.eval_point.getData()[1].tolist() == [pytest.approx(0.771)]
    w.set_audit(_audit(layers=()), train_accuracy=0.80, heldout_accuracy=0.79)
    assert "no Dropout or BatchNorm" in w.explanation.text()
    assert "gap is small" in w.gap.text()
    w.set_audit(_audit(), train_accuracy=None, heldout_accuracy=None)
    assert "train the model here with a validation fraction above 0" in w.gap.text()


def test_mode_audit_shows_a_perfect_score_whole(qtbot) -> None:
    """Wine demo: eval mode and most train-mode passes at 1.0 were cut at the top, label hidden."""
    from PySide6.QtCore import QPointF

    w = ModeAuditPanel()
    qtbot.addWidget(w)
    w.resize(800, 500)
    w.show()
    qtbot.waitExposed(w)
    accs = np.array([1.0] * 9 + [0.9722])
    w.set_audit(ModeAudit(1.0, accs, 0.845, 0.009, ("1: BatchNorm1d", "3: Dropout")))
    qtbot.wait(10)
    vb = w.plot.getPlotItem().vb
    assert vb.viewRange()[1][1] > 1.0
    label = w.labels[0]  # the eval-mode value
    assert label.toPlainText() == "1.0000"
    assert vb.sceneBoundingRect().contains(label.sceneBoundingRect())
    legend = w.plot.getPlotItem().legend
    top_point = vb.mapViewToScene(QPointF(0.0, 1.0))
    assert not legend.sceneBoundingRect().contains(top_point)  # the legend does not hide the points


def test_kfold_and_audit_plots_export(kfold, qtbot, tmp_path) -> None:
    import xml.etree.ElementTree as ET

    from evalstudio.core.evaluation.report import PNG_MAGIC

    kfold.set_result(demo_cv_result(k=3))
    for name in ("folds", "curves", "roc"):
        assert kfold.export_plot(name, tmp_path / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
        assert ET.parse(kfold.export_plot(name, tmp_path / f"{name}.svg")).getroot().tag.endswith("svg")
    w = ModeAuditPanel()
    qtbot.addWidget(w)
    w.set_audit(_audit(), train_accuracy=0.9, heldout_accuracy=0.8)
    assert w.export_plot(tmp_path / "audit.png").read_bytes().startswith(PNG_MAGIC)
    assert ET.parse(w.export_plot(tmp_path / "audit.svg")).getroot().tag.endswith("svg")
