"""Plot axes for counts: epochs and folds are whole numbers, so their axes never say 1.5."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


class WholeNumberAxis(pg.AxisItem):
    """An axis whose ticks fall on whole numbers only, labelled without decimals."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802, N803
        levels: list[tuple[float, float]] = []
        for spacing, offset in super().tickSpacing(minVal, maxVal, size):
            whole = float(max(1, math.ceil(spacing - 1e-9)))  # 0.5 -> 1, 2.5 -> 3
            if all(whole != s for s, _ in levels):
                levels.append((whole, 0.0 if whole != spacing else offset))
        return levels

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802, N803
        out = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            whole = [v for v in values if abs(v - round(v)) < 1e-6]
            out.append((spacing, whole))
        return out

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        return [f"{int(round(v * scale))}" for v in values]


def whole_number_axes(*sides: str) -> dict[str, Any]:
    """``axisItems=`` for a PlotWidget whose ``sides`` ("bottom", "left") count whole things."""
    return {side: WholeNumberAxis(orientation=side) for side in sides}


def cached_horizontal_grid(plot: pg.PlotWidget, alpha: float = 0.2) -> None:
    """Draw ``plot``'s horizontal grid lines with a hidden, cached right axis.

    Drawn by the (uncached) left axis, the grid is replayed from a QPicture on every repaint
    (~8 ms offscreen), which the GUI thread pays for every epoch or fold while a run streams; a
    cached axis repaints for free until its range changes. The left axis stays uncached: a cached
    axis clips its end labels (seen under Xvfb).
    """
    pi = plot.getPlotItem()
    left = pi.getAxis("left")
    left.setGrid(False)
    pi.showAxis("right")
    grid = pi.getAxis("right")
    grid.setStyle(showValues=False, tickLength=0)
    grid.setWidth(0)
    grid.setGrid(int(alpha * 255))
    grid.setTickPen(left.pen())  # the grid's colour, as the left axis would draw it
    grid.setPen(pg.mkPen(None))  # and no axis line down the right edge
    grid.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
