"""Axes that read honestly: whole epochs and folds, bars from 0; an empty view says what it will show."""

from __future__ import annotations

import numpy as np
import pytest

from evalstudio.core.evaluation.predict import ModeAudit
from evalstudio.core.training.results import EpochMetrics
from evalstudio.gui.evaluation.mode_audit_view import ModeAuditPanel
from evalstudio.gui.training_plot import TrainingCurvesPlot


def _ticks(plot) -> list[float]:  # noqa: ANN001
    axis = plot.getAxis("bottom")
    lo, hi = plot.getViewBox().viewRange()[0]
    return [v for _, values in axis.tickValues(lo, hi, axis.width()) for v in values]


@pytest.mark.parametrize("epochs", [2, 3, 7, 40])
def test_training_plots_tick_whole_epochs_only(qtbot, epochs):
    view = TrainingCurvesPlot()
    qtbot.addWidget(view)
    view.resize(900, 650)
    view.show()
    view.clear(total_epochs=epochs)
    for e in range(1, min(epochs, 3) + 1):
        view.add_epoch(EpochMetrics(e, 1e-3, 0.6, 0.7, 0.55, 0.6, 0.68, 0.1))
    qtbot.wait(10)
    for plot in (view.loss_plot, view.acc_plot):
        ticks = _ticks(plot)
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
        axis = plot.getAxis("bottom")
        assert all("." not in s for s in axis.tickStrings(ticks, 1.0, 1.0))
    assert 1.0 in _ticks(view.loss_plot) and 2.0 in _ticks(view.loss_plot)


def test_the_kfold_charts_count_folds_and_epochs_whole(qtbot):
    from evalstudio.gui.evaluation.kfold_view import KFoldPanel

    panel = KFoldPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.start(3, ("0", "1"))
    qtbot.wait(10)
    for plot in (panel.fold_chart, panel.curves_plot):
        plot.setXRange(0.5, 3.5, padding=0)
        assert all(float(t).is_integer() for t in _ticks(plot))


def test_the_audit_tab_before_any_audit_says_what_it_will_show(qtbot):
    panel = ModeAuditPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.is_empty
    assert not panel.plot.isVisible()  # no empty axis from 0 to -3.5e-68
    text = panel.empty.text()
    assert "Press Evaluate" in text and "model.eval()" in text and "validation fraction above 0" in text
    assert not panel.export_button.isEnabled()


def test_the_train_vs_heldout_bars_start_at_zero(qtbot):
    panel = ModeAuditPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    audit = ModeAudit(0.771, np.array([0.742, 0.755, 0.731, 0.760]), 0.31, 0.06, ("net.2: Dropout",))
    panel.set_audit(audit, train_accuracy=0.842, heldout_accuracy=0.771)
    qtbot.wait(10)
    assert not panel.is_empty and panel.gap_plot.isVisible()
    lo, hi = panel.gap_plot.getViewBox().viewRange()[1]
    assert -0.05 < lo <= 0.0 and hi >= 1.0  # lengths compare honestly: the bars start at 0
    assert panel.gap_bars.dataBounds(1) == pytest.approx((0.0, 0.842))  # each bar drawn from 0
    assert [label.toPlainText() for label in panel.labels[1:]] == ["0.8420", "0.7710"]
    assert panel.gap_caption.toPlainText() == "gap +0.0710"
    assert "zoomed" in panel.plot.getPlotItem().getAxis("left").labelText
    # Without a training run to compare, the bars go (the sentence below says how to get them).
    panel.set_audit(audit)
    assert not panel.gap_plot.isVisible()
    assert "validation fraction above 0" in panel.gap.text()
    panel.clear()
    assert panel.is_empty
