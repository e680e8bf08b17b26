"""Confusion matrix heatmap: class names on both axes, counts, totals, and clickable cells.

Rows are the actual class, columns the predicted class (scikit-learn's convention). The colour
of a cell is its share of its actual row (or of its predicted column in "% of predicted" mode),
with fixed levels (0, 1), so a colour means the same at every threshold. The view is given a
matrix; it counts nothing itself.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews confusion``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Signal, Slot
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QComboBox, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

MODES = ("Counts", "% of actual", "% of predicted")

# White to dark blue ("Blues"): light cells keep black text readable, dark cells get white text.
_CMAP = pg.ColorMap(pos=[0.0, 1.0], color=[(247, 251, 255), (8, 48, 107)])


class ConfusionMatrixView(QWidget):
    """A labelled confusion matrix with row and column totals.

    Signals
    -------
    cell_clicked(object, object) : (actual index or None, predicted index or None). A cell gives
        both; a row header or row total gives (actual, None); a column header or column total
        gives (None, predicted); the grand total gives (None, None).
    """

    cell_clicked = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cm = np.zeros((0, 0), dtype=np.int64)
        self._classes: tuple[str, ...] = ()
        self._built: tuple[str, ...] = ()  # the classes the cell items were made for
        self._texts: list[list[pg.TextItem]] = []
        self._totals: list[pg.TextItem] = []

        self.caption = QLabel("")
        self.caption.setWordWrap(True)  # a long caption wraps instead of widening the whole panel
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.mode.setToolTip("What the cells show; the colour is always a share (0 to 100%).")
        self.mode.currentIndexChanged.connect(self._render)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setMinimumSize(220, 150)
        pi = self.plot.getPlotItem()
        pi.hideButtons()
        pi.setMenuEnabled(False)
        pi.setMouseEnabled(False, False)
        pi.invertY(True)  # first class on top, as in every printed confusion matrix
        pi.setLabel("left", "Actual")
        pi.setLabel("bottom", "Predicted")
        for name in ("left", "bottom"):
            pi.getAxis(name).setPen("k")
            pi.getAxis(name).setTextPen("k")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(_CMAP)
        pi.addItem(self.image)
        self._selection = QGraphicsRectItem()
        pen = QPen(QColor(230, 120, 0))
        pen.setWidthF(3)
        pen.setCosmetic(True)
        self._selection.setPen(pen)
        self._selection.setZValue(10)
        self._selection.hide()
        pi.addItem(self._selection)
        self.plot.scene().sigMouseClicked.connect(self._on_click)

        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.mode)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)

    # ------------------------------------------------------------------ state in

    @property
    def matrix(self) -> np.ndarray:
        """The counts shown, ndarray of shape (n_classes, n_classes), rows actual."""
        return self._cm.copy()

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def set_matrix(self, cm: np.ndarray, classes: Sequence[str]) -> None:
        """Show counts ``cm`` (n, n), rows actual, columns predicted, for ``classes``."""
        cm = np.asarray(cm, dtype=np.int64)
        classes = tuple(str(c) for c in classes)
        if cm.shape != (len(classes), len(classes)):
            raise ValueError(f"matrix shape {cm.shape} does not fit {len(classes)} classes")
        if classes != self._built:
            self._build(classes)
        elif classes != self._classes:  # the same classes again after clear(): show the items again
            self._axes(classes)
            for item in [t for row in self._texts for t in row] + self._totals:
                item.show()
        self._classes = classes
        self._cm = cm
        self._render()

    def clear(self) -> None:
        """Show nothing. The cell items stay (hidden) for the next matrix of the same classes:
        building them is the costly part of showing a matrix (the pooled k-fold view clears and
        refills at every run)."""
        self._classes = ()
        for item in [t for row in self._texts for t in row] + self._totals:
            item.hide()
        self._axes(())
        self._selection.hide()
        self._cm = np.zeros((0, 0), dtype=np.int64)
        self.image.clear()
        self.caption.setText("")

    def _build(self, classes: tuple[str, ...]) -> None:
        """Create the text items once per class list (then only their text changes)."""
        pi = self.plot.getPlotItem()
        for item in [t for row in self._texts for t in row] + self._totals:
            pi.removeItem(item)
        self._classes = self._built = classes
        n = len(classes)
        font = QFont()
        font.setPointSize(11 if n <= 4 else 9)
        self._texts = []
        for i in range(n):
            row = []
            for j in range(n):
                t = pg.TextItem(anchor=(0.5, 0.5))
                t.setFont(font)
                t.setPos(j + 0.5, i + 0.5)
                pi.addItem(t)
                row.append(t)
            self._texts.append(row)
        bold = QFont(font)
        bold.setBold(True)
        self._totals = []
        # Row totals in column n, column totals in row n, grand total at (n, n).
        for pos in [(n + 0.5, i + 0.5) for i in range(n)] + [(j + 0.5, n + 0.5) for j in range(n)] + [
            (n + 0.5, n + 0.5)
        ]:
            t = pg.TextItem(anchor=(0.5, 0.5), color=(90, 90, 90))
            t.setFont(bold)
            t.setPos(*pos)
            pi.addItem(t)
            self._totals.append(t)
        self._axes(classes)
        self._selection.hide()

    def _axes(self, classes: tuple[str, ...]) -> None:
        pi = self.plot.getPlotItem()
        n = len(classes)
        ticks = [(i + 0.5, c) for i, c in enumerate(classes)] + [(n + 0.5, "total")]
        pi.getAxis("left").setTicks([ticks, []])
        pi.getAxis("bottom").setTicks([ticks, []])
        pi.setXRange(0, n + 1, padding=0.02)
        pi.setYRange(0, n + 1, padding=0.02)

    @Slot()
    def _render(self) -> None:
        cm = self._cm
        n = cm.shape[0]
        if n == 0:
            return
        row_tot = cm.sum(axis=1)
        col_tot = cm.sum(axis=0)
        mode = self.mode.currentIndex()
        with np.errstate(invalid="ignore", divide="ignore"):
            of_actual = np.where(row_tot[:, None] > 0, cm / row_tot[:, None], 0.0)
            of_pred = np.where(col_tot[None, :] > 0, cm / col_tot[None, :], 0.0)
        share = of_pred if mode == 2 else of_actual
        # Fixed levels: a colour is the same share at every threshold.
        self.image.setImage(share, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(0, 0, n, n))
        for i in range(n):
            for j in range(n):
                count = int(cm[i, j])
                if mode == 0:
                    text = f"{count}"
                else:
                    text = f"{100 * share[i, j]:.1f}%\n({count})"
                t = self._texts[i][j]
                t.setText(text)
                t.setColor("w" if share[i, j] > 0.55 else "k")
        for i in range(n):
            self._totals[i].setText(str(int(row_tot[i])))
            self._totals[n + i].setText(str(int(col_tot[i])))
        self._totals[2 * n].setText(str(int(cm.sum())))

    # ------------------------------------------------------------------ clicks

    def cell_at(self, x: float, y: float) -> tuple[int | None, int | None] | None:
        """Map a point in matrix coordinates to (actual, predicted); None when off the matrix.

        Points left of the matrix (the class names) or in the totals column select a whole
        actual row; points below it (names, totals row) select a whole predicted column.
        """
        n = len(self._classes)
        if n == 0:
            return None
        in_rows, in_cols = 0 <= y < n, 0 <= x < n
        if in_rows and in_cols:
            return int(y), int(x)
        if in_rows and (x < 0 or n <= x < n + 1):
            return int(y), None
        if in_cols and y >= n:
            return None, int(x)
        if n <= x < n + 1 and n <= y < n + 1:
            return None, None
        return None

    def cell_viewport_pos(self, row: float, col: float) -> QPoint:
        """Viewport position of the centre of cell (row, col) (``n`` means the totals)."""
        vb = self.plot.getPlotItem().vb
        scene = vb.mapViewToScene(QPointF(col + 0.5, row + 0.5))
        return self.plot.mapFromScene(scene)

    def _on_click(self, event) -> None:
        if event.button() != pg.QtCore.Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getPlotItem().vb
        p = vb.mapSceneToView(event.scenePos())
        hit = self.cell_at(p.x(), p.y())
        if hit is None:
            return
        event.accept()
        self.select(*hit)
        self.cell_clicked.emit(*hit)

    def select(self, row: int | None, col: int | None) -> None:
        """Outline the chosen cell, row or column."""
        n = len(self._classes)
        x0, w = (col, 1) if col is not None else (0, n + 1)
        y0, h = (row, 1) if row is not None else (0, n + 1)
        self._selection.setRect(QRectF(x0, y0, w, h))
        self._selection.show()
