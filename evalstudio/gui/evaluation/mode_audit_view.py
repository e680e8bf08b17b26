"""ModeAuditPanel: why numbers jitter without ``model.eval()``, and the overfitting gap.

Shows the core's :class:`~evalstudio.core.evaluation.predict.ModeAudit`: the accuracy of several
train-mode passes against the one eval-mode pass, the layers that behave differently in train
mode (Dropout, BatchNorm), and the accuracy on the training rows against the held-out rows,
each with a sentence a person who forgot ``model.eval()`` can act on.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews audit``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from evalstudio.core.evaluation.predict import ModeAudit

# A gap (train minus held-out accuracy) above this reads as overfitting in the text.
GAP_WARNING = 0.05


def audit_text(audit: ModeAudit) -> str:
    """The plain-language explanation of the train-mode spread."""
    accs = audit.train_mode_accuracies
    layers = list(audit.stochastic_layers)
    if not layers:
        return (
            "This model has no Dropout or BatchNorm layers, so train mode and eval mode give the "
            f"same predictions (largest score difference {audit.max_abs_score_diff:.2g}). "
            "Calling model.eval() still costs nothing and protects you when such a layer is added."
        )
    named = ", ".join(layers[:6]) + (f" and {len(layers) - 6} more" if len(layers) > 6 else "")
    lo, hi = (float(accs.min()), float(accs.max())) if accs.size else (audit.eval_accuracy,) * 2
    return (
        f"In train mode these layers behave randomly or use batch statistics: {named}. "
        f"{accs.size} train-mode passes over the same rows gave accuracies from {lo:.4f} to {hi:.4f} "
        f"(spread {audit.spread:.4f}); eval mode gives {audit.eval_accuracy:.4f} every time. "
        f"Scores moved by up to {audit.max_abs_score_diff:.3f} ({audit.mean_abs_score_diff:.3f} on average). "
        "If your own evaluation script forgot model.eval(), its numbers jitter like the dots on the "
        "left; evalstudio always evaluates in eval mode under torch.inference_mode()."
    )


def gap_text(train_accuracy: float | None, heldout_accuracy: float | None) -> str:
    """The train vs held-out sentence."""
    if train_accuracy is None or heldout_accuracy is None:
        return ("Train vs held-out: train the model here with a validation fraction above 0, then press "
                "Evaluate, to compare its accuracy on the rows it learned from with rows it never saw "
                "(the overfitting gap).")
    gap = train_accuracy - heldout_accuracy
    verdict = (
        "The model does much better on rows it was trained on: it has memorised part of the "
        "training set (overfitting). Trust the held-out number; consider early stopping, "
        "more data, or more regularisation."
        if gap > GAP_WARNING
        else "The gap is small: the held-out number is a fair estimate of new-data accuracy."
    )
    return (
        f"Accuracy on the training rows {train_accuracy:.4f}, on held-out rows {heldout_accuracy:.4f}: "
        f"a gap of {gap:+.4f}. {verdict}"
    )


EMPTY_TEXT = (
    "<h3>Train mode vs eval mode</h3>"
    "<p>This tab will show why an evaluation that forgets <code>model.eval()</code> misleads: the same rows "
    "scored ten times in train mode (Dropout active, BatchNorm using batch statistics), whose accuracies "
    "jitter, beside the one eval-mode result evalstudio reports; and the model's accuracy on the rows it was "
    "trained on against rows it never saw (the overfitting gap).</p>"
    "<p><b>Press Evaluate</b> (on the right) to fill it in. The training-vs-held-out comparison also needs a "
    "model trained here (Train) with a validation fraction above 0.</p>"
)


def _plain_plot(title: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    pi = plot.getPlotItem()
    pi.hideButtons()
    pi.setMenuEnabled(False)
    pi.setMouseEnabled(False, False)
    pi.setTitle(title, color="k", size="10pt")
    pi.getAxis("left").enableAutoSIPrefix(False)
    pi.showGrid(y=True, alpha=0.25)
    for name in ("left", "bottom"):
        pi.getAxis(name).setPen("k")
        pi.getAxis(name).setTextPen("k")
    return plot


class ModeAuditPanel(QWidget):
    """Train-mode passes vs eval mode (left), and train vs held-out accuracy on an axis from 0 (right).

    Before any audit the tab says what it will show and how to get it (not an empty axis).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._audit: ModeAudit | None = None
        # Left: the spread of train-mode passes. The axis is zoomed to the spread (that is the
        # point: the jitter) and says so; dots, not bars, so no length is read against a baseline.
        self.plot = _plain_plot("The same rows, 10 passes in train mode vs eval mode")
        pi = self.plot.getPlotItem()
        pi.setLabel("left", "accuracy (axis zoomed to the spread)")
        pi.getAxis("bottom").setTicks([[(0, "train-mode passes"), (1, "eval mode")], []])
        legend = pi.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 235))
        self.passes = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(213, 94, 0, 200), pen=None,
                                         name="train mode (model.eval() forgotten)")
        self.eval_point = pg.ScatterPlotItem(size=14, symbol="d", brush=pg.mkBrush(0, 114, 178), pen=None,
                                             name="eval mode")
        pi.addItem(self.passes)
        pi.addItem(self.eval_point)
        # Right: bars start at 0, so their lengths compare honestly (a 0.74 baseline made a small
        # gap look large); the values and the gap are written on the chart.
        self.gap_plot = _plain_plot("Accuracy: training rows vs held-out rows")
        gi = self.gap_plot.getPlotItem()
        gi.setLabel("left", "accuracy")
        gi.getAxis("bottom").setTicks([[(0, "training rows"), (1, "held-out rows")], []])
        gi.setYRange(-0.03, 1.12, padding=0)  # a hair below 0, so the axis writes its "0"
        gi.setXRange(-0.6, 1.6, padding=0)
        self.gap_bars = pg.BarGraphItem(x=[0, 1], height=[0, 0], width=0.6,
                                        brushes=[pg.mkBrush(0, 158, 115, 200), pg.mkBrush(0, 114, 178, 200)])
        gi.addItem(self.gap_bars)
        # labels[0]: the eval-mode value (left); labels[1], labels[2]: the two bars (right).
        self.labels = [pg.TextItem(anchor=(0.5, 1.0), color="k") for _ in range(3)]
        pi.addItem(self.labels[0])
        gi.addItem(self.labels[1])
        gi.addItem(self.labels[2])
        self.gap_caption = pg.TextItem(anchor=(0.5, 0.0), color=(90, 90, 90))
        gi.addItem(self.gap_caption)
        self.gap_caption.setPos(0.5, 1.11)

        self.plots = QWidget()  # both charts: what Export > Plot writes
        charts = QHBoxLayout(self.plots)
        charts.setContentsMargins(0, 0, 0, 0)
        charts.addWidget(self.plot, 3)
        charts.addWidget(self.gap_plot, 2)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(40)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.plots)

        self.explanation = QLabel("")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gap = QLabel("")
        self.gap.setWordWrap(True)
        from evalstudio.gui.evaluation.export import export_button

        self.export_button = export_button(
            self, [("Plot…", "plot", "PNG (*.png);;SVG (*.svg)")], lambda _key, path: self.export_plot(path)
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.explanation)
        layout.addWidget(self.gap)
        self.clear()

    @property
    def audit(self) -> ModeAudit | None:
        return self._audit

    @property
    def is_empty(self) -> bool:
        """No audit yet: the tab shows what it will show and how to get it."""
        return self.stack.currentWidget() is self.empty

    def set_audit(
        self, audit: ModeAudit, *, train_accuracy: float | None = None, heldout_accuracy: float | None = None
    ) -> None:
        self._audit = audit
        self.stack.setCurrentWidget(self.plots)
        self.export_button.setEnabled(True)
        accs = np.asarray(audit.train_mode_accuracies, dtype=float)
        # Spread the dots sideways a little (deterministic) so equal accuracies stay visible.
        jitter = np.linspace(-0.25, 0.25, accs.size) if accs.size > 1 else np.zeros(accs.size)
        self.passes.setData(jitter, accs)
        self.eval_point.setData([1.0], [audit.eval_accuracy])
        self.labels[0].setText(f"{audit.eval_accuracy:.4f}")
        self.labels[0].setPos(1.0, audit.eval_accuracy)
        values = [*accs.tolist(), audit.eval_accuracy]
        lo = max(0.0, min(values) - 0.05)
        # Headroom above the highest value for its label and the legend; not capped at 1.0,
        # which cut a perfect score's points in half and hid its label (seen on the wine demo).
        top = max(values)
        self.plot.getPlotItem().setYRange(lo, top + max(0.04, 0.3 * (top - lo)), padding=0)
        self.plot.getPlotItem().setXRange(-0.6, 1.6, padding=0)
        compared = train_accuracy is not None and heldout_accuracy is not None
        self.gap_plot.setVisible(compared)
        heights = [train_accuracy or 0.0, heldout_accuracy or 0.0]
        self.gap_bars.setOpts(height=heights)
        for label, x, value in zip(self.labels[1:], (0.0, 1.0), heights):
            label.setText(f"{value:.4f}" if compared else "")
            label.setPos(x, value)
        self.gap_caption.setText(f"gap {heights[0] - heights[1]:+.4f}" if compared else "")
        self.explanation.setText(audit_text(audit))
        self.gap.setText(gap_text(train_accuracy, heldout_accuracy))

    def export_plot(self, path) -> object:
        """Both charts to a .png or .svg file."""
        from evalstudio.gui.evaluation.export import export_plot

        return export_plot(self.plots, path)

    def clear(self, reason: str = "") -> None:
        """Back to the empty state; ``reason`` (shown above the explanation) says why an audit went."""
        self._audit = None
        self.empty.setText((f"<p><b>{reason}</b></p>" if reason else "") + EMPTY_TEXT)
        self.passes.setData([], [])
        self.eval_point.setData([], [])
        self.gap_bars.setOpts(height=[0, 0])
        for label in self.labels:
            label.setText("")
        self.gap_caption.setText("")
        self.stack.setCurrentWidget(self.empty)
        self.export_button.setEnabled(False)
        self.explanation.setText("")
        self.gap.setText("")
