"""ROC plot: AUC in the legend in plain words, the chance diagonal, a linked operating point.

Binary: one curve. Multiclass: one-vs-rest curves per class plus the macro average (dashed);
the operating point sits on the chosen class's curve. The panel supplies every array (from the
core's threshold tables); this view only draws.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews roc``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from evalstudio.core.evaluation.report import auc_band
from evalstudio.gui.evaluation._curve_plot import CurvePlot


def auc_label(prefix: str, auc: float | None) -> str:
    """``"<prefix> AUC 0.842 (good)"`` with the third tutorial's bands."""
    if auc is None or not np.isfinite(auc):
        return f"{prefix} AUC n/a"
    return f"{prefix} AUC {auc:.3f} ({auc_band(auc)})".strip()


class RocView(CurvePlot):
    """Receiver operating characteristic with a draggable operating point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("False positive rate (1 - specificity)", "True positive rate (recall)", parent)
        pi = self.plot.getPlotItem()
        self.diagonal = pi.plot(
            [0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            name="chance (AUC 0.5)",
        )
        self._names: tuple[str, ...] = ()

    def set_curves(
        self,
        curves: Sequence[tuple[str, np.ndarray, np.ndarray, float | None]],
        *,
        macro: tuple[np.ndarray, np.ndarray, float | None] | None = None,
    ) -> None:
        """Draw ``(name, fpr, tpr, auc)`` per curve and optionally the macro-average curve.

        Curve items are rebuilt only when the names change; otherwise their data is replaced.
        """
        names = tuple(c[0] for c in curves) + (("macro",) if macro is not None else ())
        if names != self._names:
            dashed = [False] * len(curves) + ([True] if macro is not None else [])
            self.set_curve_names(list(names), dashed=dashed)
            self._names = names
        for i, (name, fpr, tpr, auc) in enumerate(curves):
            prefix = "" if len(curves) == 1 and macro is None else f"{name}:"
            self.set_curve(i, fpr, tpr, name=auc_label(prefix, auc))
        if macro is not None:
            self.set_curve(len(curves), macro[0], macro[1], name=auc_label("macro average:", macro[2]))
