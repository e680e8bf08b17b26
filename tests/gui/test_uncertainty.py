"""Intervals beside every value (in the background, following the slider) and the calibration view."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from evalstudio.core.evaluation.calibration import calibration_report
from evalstudio.core.evaluation.intervals import IntervalSettings, bootstrap_intervals, fold_mean_interval
from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.gui.evaluation.calibration_view import CalibrationPanel
from evalstudio.gui.evaluation.demo_data import demo_cv_result, demo_multiclass, demo_predictions
from evalstudio.gui.evaluation.kfold_view import KFoldPanel
from evalstudio.gui.evaluation.metrics_view import MetricsView, interval_text
from evalstudio.gui.evaluation.panel import EvaluationPanel
from evalstudio.resources import resource_path

from tests.gui.conftest import load_demo, wait_idle


def test_metrics_view_shows_intervals_and_their_state(qtbot) -> None:
    view = MetricsView()
    qtbot.addWidget(view)
    view.set_metrics({"accuracy": 0.77, "roc_auc": 0.88})
    assert view.interval_text("accuracy") == ""  # no column until there are intervals
    view.set_intervals(None, state="pending")
    assert view.interval_text("accuracy") == MetricsView.PENDING
    view.set_intervals({"accuracy": (0.7143, 0.8312), "roc_auc": (float("nan"), float("nan"))})
    assert view.interval_text("accuracy") == "[0.7143, 0.8312]"
    assert view.interval_text("roc_auc") == "n/a"
    view.set_intervals(None, state="stale")
    assert view.interval_text("accuracy") == MetricsView.STALE


def test_the_slider_moves_the_intervals_with_the_threshold(qtbot) -> None:
    pred = demo_predictions()
    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.set_predictions(pred, title="demo")
    boot = bootstrap_intervals(pred, threshold=0.5, settings=IntervalSettings(resamples=300), keep_counts=True)
    panel.mark_intervals_pending()
    assert panel.metrics.interval_text("recall") == MetricsView.PENDING
    panel.set_intervals(boot)
    assert panel.metrics.interval_text("recall") == interval_text(boot.intervals()["recall"])
    with qtbot.assertNotEmitted(panel.intervals_requested):
        panel.set_threshold(0.3)
    assert panel.metrics.interval_text("recall") == interval_text(boot.at_threshold(0.3)["recall"])
    assert panel.metrics.interval_text("roc_auc") == interval_text(boot.intervals()["roc_auc"])
    # the values and their intervals agree: each value lies in its interval at that threshold
    lo, hi = boot.at_threshold(0.3)["recall"]
    assert lo <= panel.report.metrics["recall"] <= hi


def test_without_kept_counts_the_intervals_follow_on_release(qtbot) -> None:
    pred = demo_predictions()
    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.set_predictions(pred, title="demo")
    panel.set_intervals(bootstrap_intervals(pred, threshold=0.5, settings=IntervalSettings(resamples=200)))
    panel._on_threshold_moving(0.42)  # dragging
    assert panel.metrics.interval_text("accuracy") == MetricsView.STALE
    with qtbot.waitSignal(panel.intervals_requested) as blocker:
        panel.set_threshold(0.42)  # released
    assert blocker.args == [pytest.approx(0.42)]


def test_multiclass_intervals_and_one_vs_rest(qtbot) -> None:
    pred = demo_multiclass()
    panel = EvaluationPanel()
    qtbot.addWidget(panel)
    panel.set_predictions(pred, title="three classes")
    boot = bootstrap_intervals(pred, settings=IntervalSettings(resamples=200), keep_counts=True)
    panel.set_intervals(boot)
    assert panel.metrics.interval_text("f1") == interval_text(boot.intervals()["f1"])
    panel.set_threshold(0.4)
    lo, hi = boot.class_at_threshold(panel.positive, 0.4)["recall"]
    assert f"recall: " in panel.ovr_metrics.text() and f"[{lo:.4f}, {hi:.4f}]" in panel.ovr_metrics.text()


def test_kfold_table_shows_the_interval_of_each_mean(qtbot) -> None:
    cv = demo_cv_result()
    panel = KFoldPanel()
    qtbot.addWidget(panel)
    panel.start(len(cv.folds), cv.pooled_predictions.classes)
    for f in cv.folds:
        panel.add_fold(f)
    panel.set_result(cv)
    lo, hi = fold_mean_interval([f.metrics["accuracy"] for f in cv.folds])
    assert panel.interval_row_texts()["accuracy"] == f"[{lo:.4f}, {hi:.4f}]"
    header, rows = panel.fold_rows()
    assert rows[-2][0] == "mean_interval_low" and rows[-2][2] == pytest.approx(lo)


def test_calibration_view_draws_the_core_bins_and_asks_for_fits(qtbot) -> None:
    pred = demo_predictions(sharpness=2.0)
    view = CalibrationPanel()
    qtbot.addWidget(view)
    report = calibration_report(pred)
    view.set_report(report, title="demo rows")
    x, y = view.curve_points()
    full = [b for b in report.bins if b.count]
    np.testing.assert_allclose(x, [b.mean_predicted for b in full])
    np.testing.assert_allclose(y, [b.fraction_positive for b in full])
    assert f"Brier {report.brier:.4f}, ECE {report.ece:.4f}" in view.scores.text()
    view.set_sources([("validation", "The 40 validation rows", False, "Evaluate scores these rows next")])
    assert not view.fit_button.isEnabled() and "scores these rows next" in view.fit_note.text()
    view.set_sources([("validation", "The 40 validation rows", True, "")])
    assert view.fit_button.isEnabled()
    with qtbot.waitSignal(view.fit_requested) as blocker:
        view.fit_button.click()
    assert blocker.args == ["validation"]


@pytest.mark.slow
def test_the_window_computes_intervals_and_fits_a_temperature_on_other_rows(qtbot, window, tmp_path) -> None:
    """Evaluate: intervals arrive in the background. Train: its validation rows may not be used while
    Evaluate would score them; after loading the held-out file they may. The fitted temperature is
    saved, loaded, and applied by the next evaluation."""
    c = window.controller
    load_demo(qtbot, window)
    window.evaluate()
    wait_idle(qtbot, window)
    panel = window.evaluation_panel
    assert panel.intervals is not None and panel.metrics.interval_state == "ready"
    expected = bootstrap_intervals(panel.predictions, threshold=panel.threshold).intervals()
    assert panel.metrics.interval_text("accuracy") == interval_text(expected["accuracy"])
    cal = window.calibration_panel
    assert cal.report is not None and cal.report.brier == pytest.approx(calibration_report(panel.predictions).brier)

    window.training_panel.epochs.setValue(3)
    window.training_panel.batch_size.setValue(16)
    window.train()
    wait_idle(qtbot, window, 120000)
    assert c.train_result is not None and c.train_result.val_predictions is not None
    # Evaluate would score the validation rows now: no fit there
    assert cal.source.currentData() == "validation" and not cal.fit_button.isEnabled()
    window.open_data(str(resource_path("demo", "pima-holdout.csv")))
    wait_idle(qtbot, window)
    assert cal.source.currentData() == "validation" and cal.fit_button.isEnabled()
    cal.fit_button.click()
    wait_idle(qtbot, window)
    assert cal.run is not None and cal.run.fit.n_samples == c.train_result.val_predictions.n_samples
    saved = tmp_path / "calibrated.pt"
    window.evaluation_tabs.uncertainty.save(str(saved))
    wait_idle(qtbot, window)
    assert torch.load(saved, weights_only=True)["temperature"]["value"] == pytest.approx(cal.run.fit.temperature)
    assert c.checkpoint_path == str(saved)
    window.evaluate()
    wait_idle(qtbot, window)
    assert c.evaluation.temperature is not None
    assert c.evaluation.temperature["value"] == pytest.approx(cal.run.fit.temperature)
    assert "temperature" in cal.title.text()
