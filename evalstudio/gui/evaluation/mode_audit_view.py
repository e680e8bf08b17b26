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
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

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
        return ("Train vs held-out: train the model here with a validation fraction above 0 to compare "
                "its accuracy on the rows it learned from with rows it never saw (the overfitting gap).")
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


class ModeAuditPanel(QWidget):
    """Train-mode passes vs eval mode, and train vs held-out accuracy."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._audit: ModeAudit | None = None
        self.plot = pg.PlotWidget(background="w")
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.setMouseEnabled(False, False)
        pi.setLabel("left", "Accuracy")
        pi.getAxis("left").enableAutoSIPrefix(False)
        pi.showGrid(y=True, alpha=0.25)
        for name in ("left", "bottom"):
            pi.getAxis(name).setPen("k")
            pi.getAxis(name).setTextPen("k")
        pi.getAxis("bottom").setTicks([[(0, "train-mode passes"), (1, "eval mode"), (2.2, "training rows"),
                                        (3.2, "held-out rows")], []])
        legend = pi.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 235))
        self.passes = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(213, 94, 0, 200), pen=None,
                                         name="train mode (model.eval() forgotten)")
        self.eval_point = pg.ScatterPlotItem(size=14, symbol="d", brush=pg.mkBrush(0, 114, 178), pen=None,
                                             name="eval mode")
        self.gap_bars = pg.BarGraphItem(x=[2.2, 3.2], height=[0, 0], width=0.6,
                                        brushes=[pg.mkBrush(0, 158, 115, 200), pg.mkBrush(0, 114, 178, 200)])
        pi.addItem(self.gap_bars)
        # Values written on the chart: the y axis does not start at 0, so bars alone would mislead.
        self.labels = [pg.TextItem(anchor=(0.5, 1.0), color="k") for _ in range(3)]
        for label in self.labels:
            pi.addItem(label)
        pi.addItem(self.passes)
        pi.addItem(self.eval_point)
        self.explanation = QLabel("No audit yet: evaluate a model with the mode audit turned on.")
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
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.explanation)
        layout.addWidget(self.gap)

    @property
    def audit(self) -> ModeAudit | None:
        return self._audit

    def set_audit(
        self, audit: ModeAudit, *, train_accuracy: float | None = None, heldout_accuracy: float | None = None
    ) -> None:
        self._audit = audit
        accs = np.asarray(audit.train_mode_accuracies, dtype=float)
        # Spread the dots sideways a little (deterministic) so equal accuracies stay visible.
        jitter = np.linspace(-0.25, 0.25, accs.size) if accs.size > 1 else np.zeros(accs.size)
        self.passes.setData(jitter, accs)
        self.eval_point.setData([1.0], [audit.eval_accuracy])
        heights = [train_accuracy or 0.0, heldout_accuracy or 0.0]
        self.gap_bars.setOpts(height=heights)
        self.gap_bars.setVisible(train_accuracy is not None or heldout_accuracy is not None)
        for label, x, value in zip(self.labels, (1.0, 2.2, 3.2), (audit.eval_accuracy, train_accuracy,
                                                                  heldout_accuracy)):
            label.setText("" if value is None else f"{value:.4f}")
            label.setPos(x, value or 0.0)
        values = [*accs.tolist(), audit.eval_accuracy, *(h for h in heights if h)]
        lo = max(0.0, min(values) - 0.05)
        # Headroom above the highest value for its label and the legend; not capped at 1.0,
        # which cut a perfect score's points in half and hid its label (seen on the wine demo).
        top = max(values)
        self.plot.getPlotItem().setYRange(lo, top + max(0.04, 0.3 * (top - lo)), padding=0)
        self.plot.getPlotItem().setXRange(-0.6, 3.8, padding=0)
        self.explanation.setText(audit_text(audit))
        self.gap.setText(gap_text(train_accuracy, heldout_accuracy))

    def export_plot(self, path) -> object:
        """The audit plot to a .png or .svg file."""
        from evalstudio.gui.evaluation.export import export_plot

        return export_plot(self.plot, path)

    def clear(self) -> None:
        self._audit = None
        self.passes.setData([], [])
        self.eval_point.setData([], [])
        self.gap_bars.setOpts(height=[0, 0])
        for label in self.labels:
            label.setText("")
        self.explanation.setText("No audit yet: evaluate a model with the mode audit turned on.")
        self.gap.setText("")
