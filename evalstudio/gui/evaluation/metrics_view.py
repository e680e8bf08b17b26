"""Metrics table and per-class table: every number as the core computed it.

The view formats numbers; it computes none. While the threshold is dragged the panel feeds it the
threshold table's cheap metrics; on release the full report (per-class table, weighted variants).

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from evalstudio.core.evaluation.report import METRIC_LABELS, metric_label

PER_CLASS_COLUMNS = ("class", "precision", "recall", "f1", "support")



def format_value(value: Any) -> str:
    """4 decimals for floats, ``n/a`` for None / NaN (e.g. AUC with one class absent)."""
    if value is None:
        return "n/a"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if math.isfinite(v) else "n/a"


def interval_text(limits: Any) -> str:
    """``[0.7143, 0.8312]``, or ``n/a`` when the interval is undefined."""
    if limits is None:
        return ""
    lo, hi = limits
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return "n/a"
    return f"[{float(lo):.4f}, {float(hi):.4f}]"


def metric_name(key: str) -> str:
    """Human name of a metric key: ``"f1_macro"`` -> ``"F1 (macro)"`` (the HTML report's names too)."""
    return metric_label(key)


def number_item(text: str, *, bold: bool = False) -> QTableWidgetItem:
    """A read-only table cell for a number: right-aligned, bold for a summary row (mean, total)."""
    item = _item(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


def _item(text: str, *, right: bool = False) -> QTableWidgetItem:
    if right:
        return number_item(text)
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    return item


def _compact(table: QTableWidget) -> None:
    """Rows as tall as a line of text (the style's default, ~30 px, showed 6 of 15 metrics at 1366x768)."""
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 5)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.setWordWrap(False)


class MetricsView(QWidget):
    """Two small tables: the metrics at the current threshold (each with its interval) and the per-class table.

    The per-class table sits in :attr:`per_class_box` (its title and table), which a panel may
    place elsewhere (the evaluation panel puts it under the confusion matrix, whose rows it
    describes); by default it is under the metrics.

    The interval column stays hidden until :meth:`set_intervals` gives intervals; while they are being
    computed (or the threshold moved and they follow on release) it says so instead of showing stale ones.
    """

    PENDING = "computing…"
    STALE = "on release…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._metrics: dict[str, Any] = {}
        self._rows: dict[str, int] = {}
        self._intervals: dict[str, Any] = {}
        self._interval_state = "none"  # none | pending | ready | stale
        self.caption = QLabel("Metrics")
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Metric", "Value", "95% interval"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        _compact(self.table)
        # A fixed width that fits any interval: re-measuring the column's contents on every slider
        # tick doubled the tick's cost (16 -> 31 ms here).
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        fm = self.table.fontMetrics()
        self.table.setColumnWidth(2, max(fm.horizontalAdvance("[-0.0000, -0.0000]"),
                                         fm.horizontalAdvance(self.PENDING), fm.horizontalAdvance("95% interval")) + 16)
        self.table.setColumnHidden(2, True)
        self.per_class = QTableWidget(0, len(PER_CLASS_COLUMNS))
        self.per_class.setHorizontalHeaderLabels([c.capitalize() if c != "f1" else "F1" for c in PER_CLASS_COLUMNS])
        self.per_class.verticalHeader().hide()
        # The class names take what is left; the numbers (and the "Support" header) are never cut.
        header = self.per_class.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(header.fontMetrics().horizontalAdvance("Class") + 12)
        _compact(self.per_class)
        self._fit_per_class_height()
        self.per_class_box = QWidget()
        box = QVBoxLayout(self.per_class_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(QLabel("Per class"))
        box.addWidget(self.per_class)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.per_class_box)

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)

    def set_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Show ``metrics`` (EvaluationReport.metrics); known keys first, in the usual order."""
        self._metrics = dict(metrics)
        keys = [k for k in METRIC_LABELS if k in metrics] + sorted(k for k in metrics if k not in METRIC_LABELS)
        if keys != list(self._rows):
            self.table.setRowCount(len(keys))
            self._rows = {k: i for i, k in enumerate(keys)}
            for k, i in self._rows.items():
                name = metric_name(k)
                self.table.setItem(i, 0, _item(name))
                self.table.setItem(i, 1, _item("", right=True))
                self.table.setItem(i, 2, _item("", right=True))
        for k, i in self._rows.items():
            self.table.item(i, 1).setText(format_value(metrics[k]))
        self._show_intervals()

    def set_intervals(self, limits: Mapping[str, Any] | None, *, confidence: float = 0.95,
                      state: str = "ready", tooltip: str = "") -> None:
        """Intervals beside the values: ``limits`` maps metric keys to ``(low, high)``.

        ``state``: "ready" (show ``limits``), "pending" (being computed), "stale" (the threshold moved:
        they follow when it is released), or "none" (hide the column).
        """
        self._intervals = dict(limits or {})
        self._interval_state = state
        header = self.table.horizontalHeaderItem(2)
        title = f"{confidence * 100:g}% interval"
        if header is not None and (header.text() != title or header.toolTip() != tooltip):
            header.setText(title)
            header.setToolTip(tooltip)
        hidden = state == "none"
        if self.table.isColumnHidden(2) != hidden:
            self.table.setColumnHidden(2, hidden)
        self._show_intervals()

    def _show_intervals(self) -> None:
        # One repaint for the column, not one per cell (a slider tick changes most of them).
        self.table.setUpdatesEnabled(False)
        try:
            self._set_interval_cells()
        finally:
            self.table.setUpdatesEnabled(True)

    def _set_interval_cells(self) -> None:
        state = self._interval_state
        for k, i in self._rows.items():
            item = self.table.item(i, 2)
            if item is None:
                continue
            if state == "pending":
                text = self.PENDING
            elif state == "stale":
                text = self.STALE
            elif state == "ready":
                text = interval_text(self._intervals.get(k))
            else:
                text = ""
            if item.text() != text:  # an unchanged cell costs no repaint
                item.setText(text)

    def update_metrics(self, partial: Mapping[str, Any]) -> None:
        """Replace the values of the keys in ``partial`` (cheap update while dragging)."""
        for k, v in partial.items():
            if k in self._rows:
                self._metrics[k] = v
                self.table.item(self._rows[k], 1).setText(format_value(v))

    def set_per_class(self, rows: Sequence[Mapping[str, Any]]) -> None:
        resize = len(rows) != self.per_class.rowCount()
        self.per_class.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, col in enumerate(PER_CLASS_COLUMNS):
                value = row.get(col)
                text = str(value) if col == "class" else format_value(value)
                self.per_class.setItem(i, j, _item(text, right=col != "class"))
        if resize:
            self._fit_per_class_height()

    def _fit_per_class_height(self) -> None:
        """As tall as its rows (up to 8; more scroll): no empty band under two classes."""
        t = self.per_class
        rows = min(max(t.rowCount(), 2), 8)
        scroll = t.horizontalScrollBar().sizeHint().height() if t.horizontalScrollBar().isVisible() else 0
        t.setFixedHeight(t.horizontalHeader().sizeHint().height() + rows * t.verticalHeader().defaultSectionSize()
                         + 2 * t.frameWidth() + scroll)

    def clear(self) -> None:
        self._metrics = {}
        self._rows = {}
        self._intervals = {}
        self._interval_state = "none"
        self.table.setColumnHidden(2, True)
        self.table.setRowCount(0)
        self.per_class.setRowCount(0)

    # ------------------------------------------------------------------ read back (tests, export)

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._metrics)

    def value_text(self, key: str) -> str:
        """The text shown for metric ``key``."""
        return self.table.item(self._rows[key], 1).text()

    def interval_text(self, key: str) -> str:
        """The text of metric ``key``'s interval cell ("" when the column is hidden)."""
        if self.table.isColumnHidden(2):
            return ""
        return self.table.item(self._rows[key], 2).text()

    @property
    def interval_state(self) -> str:
        return self._interval_state
