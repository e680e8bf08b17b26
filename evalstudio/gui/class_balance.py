"""Class balance as a small bar chart (rows per class), pyqtgraph items created once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget


class ClassBalancePlot(QWidget):
    """Bars of rows per class, labelled with the class names and their share."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setTitle("Class balance", color="k", size="10pt")
        self.plot.getAxis("left").setLabel("rows")
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(70, 130, 180))
        self.plot.addItem(self._bars)
        self._labels: list[pg.TextItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.counts: np.ndarray = np.zeros(0, dtype=np.int64)
        self.classes: tuple[str, ...] = ()

    def set_counts(self, classes: Sequence[str], counts: np.ndarray) -> None:
        """Show ``counts`` (ndarray of shape (n_classes,)) for ``classes``."""
        self.classes = tuple(classes)
        self.counts = np.asarray(counts, dtype=np.int64)
        x = np.arange(len(self.classes))
        self._bars.setOpts(x=x, height=self.counts, width=0.6)
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        total = max(int(self.counts.sum()), 1)
        for xi, c in zip(x, self.counts):
            t = pg.TextItem(f"{int(c):,} ({100 * c / total:.0f}%)", color="k", anchor=(0.5, 1.0))
            t.setPos(float(xi), float(c))
            self.plot.addItem(t)
            self._labels.append(t)
        self.plot.getAxis("bottom").setTicks([[(float(i), name) for i, name in enumerate(self.classes)]])
        top = float(self.counts.max()) if self.counts.size else 1.0
        self.plot.setXRange(-0.6, max(len(self.classes) - 0.4, 0.6), padding=0)
        self.plot.setYRange(0, top * 1.2 if top > 0 else 1.0, padding=0)

    def clear(self) -> None:
        self.set_counts((), np.zeros(0, dtype=np.int64))
