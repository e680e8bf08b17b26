"""Precision-recall plot: average precision in the legend, the prevalence line, a linked point.

The prevalence (share of positives) is what precision a random ranking gets: the line a useful
model's curve should stay above. The panel supplies every array; this view only draws.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews pr``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from evalstudio.gui.evaluation._curve_plot import CurvePlot


def ap_label(prefix: str, ap: float | None) -> str:
    if ap is None or not np.isfinite(ap):
        return f"{prefix} AP n/a".strip()
    return f"{prefix} AP {ap:.3f}".strip()


class PrecisionRecallView(CurvePlot):
    """Precision against recall with the positive-class prevalence line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Recall (true positive rate)", "Precision", parent)
        self.label_side_right = False  # a PR curve falls to the right: its underside is to the left
        pi = self.plot.getPlotItem()
        self.prevalence = pi.plot(
            [0, 1], [0, 0], pen=pg.mkPen((150, 150, 150), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="prevalence",
        )
        self._names: tuple[str, ...] = ()

    def set_curves(
        self,
        curves: Sequence[tuple[str, np.ndarray, np.ndarray, float | None]],
        *,
        prevalence: float | None = None,
    ) -> None:
        """Draw ``(name, recall, precision, average_precision)`` per curve.

        ``prevalence`` is the positive share of the active curve's class (None hides the line).
        """
        names = tuple(c[0] for c in curves)
        if names != self._names:
            self.set_curve_names(list(names))
            self._names = names
        for i, (name, recall, precision, ap) in enumerate(curves):
            prefix = "" if len(curves) == 1 else f"{name}:"
            self.set_curve(i, recall, precision, name=ap_label(prefix, ap))
        if prevalence is None:
            self.prevalence.hide()
        else:
            self.prevalence.setData([0, 1], [prevalence, prevalence])
            self.prevalence.show()
            for sample, label in self.legend.items:
                if sample.item is self.prevalence:
                    label.setText(f"prevalence {prevalence:.3f}")
