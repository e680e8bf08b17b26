"""Plot axes for counts: epochs and folds are whole numbers, so their axes never say 1.5."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg


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
