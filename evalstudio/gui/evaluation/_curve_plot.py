"""Shared base of the ROC and precision-recall plots: curves, a legend, a draggable point.

The operating point is a :class:`pyqtgraph.TargetItem`. Dragging it snaps it to the nearest
point of the active curve and emits that point's threshold, so the plot drives the same state as
the slider (linked both ways). Curve items are created once per class list and then fed new
arrays with ``setData``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

# Colour-blind-safe qualitative palette (Okabe-Ito), one per class.
PALETTE = [
    (0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167),
    (230, 159, 0), (86, 180, 233), (240, 228, 66), (0, 0, 0),
]


def style_plot(plot: pg.PlotWidget, x_label: str, y_label: str) -> pg.PlotItem:
    """The evaluation views' plot look: no buttons or menu, black axes, a light grid, labels."""
    pi = plot.getPlotItem()
    pi.hideButtons()
    pi.setMenuEnabled(False)
    pi.setLabel("bottom", x_label)
    pi.setLabel("left", y_label)
    pi.showGrid(x=True, y=True, alpha=0.25)
    for name in ("left", "bottom"):
        pi.getAxis(name).setPen("k")
        pi.getAxis(name).setTextPen("k")
    return pi


class CurvePlot(QWidget):
    """A square [0, 1] x [0, 1] plot with named curves and a draggable operating point.

    Signals
    -------
    threshold_dragged(float) : the point was dragged to a curve point with this threshold
    threshold_drag_finished(float) : the drag ended there
    """

    threshold_dragged = Signal(float)
    threshold_drag_finished = Signal(float)

    def __init__(self, x_label: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(background="w")
        pi = style_plot(self.plot, x_label, y_label)
        pi.setMouseEnabled(False, False)
        # Rates live in [0, 1]: fixed ranges, so nothing jumps while the threshold moves.
        pi.disableAutoRange()
        pi.setXRange(0, 1, padding=0.02)
        pi.setYRange(0, 1, padding=0.02)
        self.plot.setMinimumSize(220, 200)
        self.legend = pi.addLegend(offset=(-10, -10), labelTextColor="k")
        # An opaque legend: the curves pass under the bottom-right corner.
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 235))
        self.legend.setPen(pg.mkPen(190, 190, 190))
        self.legend.setZValue(30)
        self.curves: list[pg.PlotDataItem] = []
        self._active = 0
        self._points: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0), np.zeros(0))
        self._snapping = False
        self._snapper: Callable[[float, float], float] | None = None
        self.point = pg.TargetItem(
            pos=(0, 0), size=14, movable=True, pen=pg.mkPen((200, 0, 0), width=2), brush=(200, 0, 0, 60)
        )
        self.point.setZValue(20)
        self.point.hide()
        pi.addItem(self.point)
        self.label_side_right = True  # where the threshold label goes (below the curve)
        self.point_label = pg.TextItem(color=(170, 0, 0))
        self.point_label.setZValue(21)
        self.point_label.hide()
        pi.addItem(self.point_label)
        self.point.sigPositionChanged.connect(self._on_point_moved)
        self.point.sigPositionChangeFinished.connect(self._on_point_released)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    # ------------------------------------------------------------------ curves

    def set_curve_names(self, names: Sequence[str], *, dashed: Sequence[bool] = ()) -> None:
        """Create one curve item per name (once per class list; later only ``setData``)."""
        pi = self.plot.getPlotItem()
        for c in self.curves:
            pi.removeItem(c)
            self.legend.removeItem(c)
        self.curves = []
        for i, name in enumerate(names):
            is_dashed = dashed[i] if i < len(dashed) else False
            colour = (60, 60, 60) if is_dashed else PALETTE[i % len(PALETTE)]
            pen = pg.mkPen(colour, width=2.5 if i == 0 else 2,
                           style=pg.QtCore.Qt.PenStyle.DashLine if is_dashed else pg.QtCore.Qt.PenStyle.SolidLine)
            item = pi.plot([], [], pen=pen, name=name)
            self.curves.append(item)
        # Many curves (one per class, or per fold): a smaller, tighter legend, so it does not
        # cover the lower half of the curves (seen on a three-class ROC at laptop size).
        compact = len(names) > 2
        self.legend.setLabelTextSize("7.5pt" if compact else "9pt")
        for _sample, label in self.legend.items:
            label.setText(label.text)  # pyqtgraph applies a new size only when the text is set
        self.legend.layout.setVerticalSpacing(-4 if compact else 0)
        self.legend.updateSize()

    def set_curve(self, i: int, x: np.ndarray, y: np.ndarray, *, name: str | None = None) -> None:
        self.curves[i].setData(np.asarray(x, float), np.asarray(y, float))
        if name is not None:
            self.rename(i, name)

    def rename(self, i: int, name: str) -> None:
        for sample, label in self.legend.items:
            if sample.item is self.curves[i]:
                label.setText(name)

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def set_active_points(self, x: np.ndarray, y: np.ndarray, thresholds: np.ndarray) -> None:
        """The curve the operating point snaps to when dragged (with each point's threshold)."""
        self._points = (np.asarray(x, float), np.asarray(y, float), np.asarray(thresholds, float))

    # ------------------------------------------------------------------ operating point

    def set_point(self, x: float, y: float, label: str | None = None) -> None:
        """Place the operating point (no signal), with an optional label beside it."""
        self._snapping = True
        try:
            self.point.setPos(QPointF(float(x), float(y)))
        finally:
            self._snapping = False
        self.point.show()
        if label is not None:
            self.point_label.setText(label)
            # Below the curve (ROC: to the right; PR: to the left), and inside the plot.
            right = self.label_side_right if 0.2 < x < 0.75 else x <= 0.2
            self.point_label.setAnchor((-0.1, -0.1) if right else (1.1, -0.1))
            self.point_label.setPos(float(x), float(y))
            self.point_label.show()

    def point_pos(self) -> tuple[float, float]:
        p = self.point.pos()
        return float(p.x()), float(p.y())

    def nearest(self, x: float, y: float) -> int | None:
        """Index of the active-curve point nearest (x, y), or None without a curve."""
        px, py, _ = self._points
        if px.size == 0:
            return None
        return int(np.argmin((px - x) ** 2 + (py - y) ** 2))

    def set_snapper(self, snapper: Callable[[float, float], float] | None) -> None:
        """A function (x, y) -> threshold of the curve point nearest (x, y), from the core.

        Without one, the nearest plotted point of :meth:`set_active_points` is used.
        """
        self._snapper = snapper

    def threshold_near(self, x: float, y: float) -> float | None:
        """Threshold of the curve point nearest (x, y), or None without a curve."""
        if self._snapper is not None:
            return float(self._snapper(x, y))
        i = self.nearest(x, y)
        return None if i is None else float(self._points[2][i])

    def drag_to(self, x: float, y: float, *, finished: bool = True) -> float | None:
        """What a drag of the point to (x, y) does; returns the threshold it chose.

        The listener (the panel) answers by placing the point at that threshold's operating
        point with :meth:`set_point`, so the point always sits on the curve.
        """
        t = self.threshold_near(x, y)
        if t is None:
            return None
        self.threshold_dragged.emit(t)
        if finished:
            self.threshold_drag_finished.emit(t)
        return t

    def _on_point_moved(self) -> None:
        if self._snapping:
            return
        x, y = self.point_pos()
        self.drag_to(x, y, finished=False)

    def _on_point_released(self) -> None:
        if self._snapping:
            return
        x, y = self.point_pos()
        t = self.threshold_near(x, y)
        if t is not None:
            self.threshold_drag_finished.emit(t)
