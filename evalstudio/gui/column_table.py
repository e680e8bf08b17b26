"""The data panel's column table: every column's kind, its role picker, missing and distinct counts.

One row per column of the file (features in file order, then the target): the name, the kind
inference gave it, a picker for how it is used (numeric / categorical feature, ignored, target),
its missing cells, distinct values, a few example values and a note (why it was set aside, an id
that looks like a row number, rare values sharing "(other)"). Picking another use emits
:attr:`ColumnsView.kind_chosen` (or :attr:`ColumnsView.target_chosen`); the controller plans the
columns again from the rows already read. The view computes nothing: it shows
:class:`~evalstudio.core.data.column_report.ColumnOverview` rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from evalstudio.core.data.column_report import ColumnOverview

#: The picker's choices: (label, kind it asks for).
USES = (("numeric", "numeric"), ("categorical", "categorical"), ("ignored", "ignored"), ("target", "target"))
HEADERS = ("Column", "Inferred", "Use as", "Missing", "Distinct", "Examples", "Note")
_SET_ASIDE = QColor("#8a8a8a")
_CHOSEN = QColor("#fff4d6")  # the user's choice, not the inferred one


class ColumnsView(QWidget):
    """The column table (see the module docstring).

    Signals
    -------
    kind_chosen(column, kind) -- kind is "numeric", "categorical" or "ignored"
    target_chosen(column)
    """

    kind_chosen = Signal(str, str)
    target_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self._rows: tuple[ColumnOverview, ...] = ()

    # -- state in -------------------------------------------------------------------------------
    def set_overview(self, rows: "tuple[ColumnOverview, ...]", *, width: int | None = None) -> None:
        """Show one row per column (empty clears the table); ``width``: the model inputs they make."""
        self._rows = tuple(rows)
        self.table.setRowCount(0)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            self._fill(r, row)
        features = [row for row in rows if row.kind in ("numeric", "categorical")]
        aside = [row for row in rows if row.kind == "ignored"]
        parts = []
        if rows:
            parts.append(f"{len(features)} feature column{'s' if len(features) != 1 else ''}"
                         + (f" → {width} model input{'s' if width != 1 else ''}" if width is not None else ""))
        if aside:
            parts.append(f"{len(aside)} set aside (grey)")
        if any(row.chosen for row in rows):
            parts.append("highlighted: your choice, not the inferred one")
        self.summary.setText(" · ".join(parts))
        self.table.resizeColumnsToContents()
        for column, cap in ((0, 160), (5, 170)):  # long cells are elided, shown whole in tooltips
            if self.table.columnWidth(column) > cap:
                self.table.setColumnWidth(column, cap)

    def _fill(self, r: int, row: "ColumnOverview") -> None:
        def item(text: str, tip: str = "", *, right: bool = False) -> QTableWidgetItem:
            it = QTableWidgetItem(text)
            it.setToolTip(tip or text)
            if right:
                it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if row.kind == "ignored":
                it.setForeground(QBrush(_SET_ASIDE))
            return it

        inputs = ", ".join(row.inputs[:12]) + (f", … ({len(row.inputs)} in all)" if len(row.inputs) > 12 else "")
        name_tip = row.name + (f"\nmodel inputs: {inputs}" if row.inputs else "")
        self.table.setItem(r, 0, item(row.name, name_tip))
        self.table.setItem(r, 1, item(row.inferred))
        self.table.setCellWidget(r, 2, self._picker(row))
        self.table.setItem(r, 3, item(f"{row.n_missing:,}" if row.n_missing else "", right=True))
        distinct = f"{row.n_distinct:,}" + ("+" if row.distinct_sampled else "")
        self.table.setItem(r, 4, item(distinct, "counted in the first rows (at least this many)"
                                      if row.distinct_sampled else distinct, right=True))
        self.table.setItem(r, 5, item(", ".join(row.examples)))
        self.table.setItem(r, 6, item(row.note))
        if row.chosen:
            for c in (0, 1):
                cell = self.table.item(r, c)
                if cell is not None:
                    cell.setBackground(QBrush(_CHOSEN))

    def _picker(self, row: "ColumnOverview") -> QComboBox:
        combo = QComboBox()
        for label, kind in USES:
            if kind == "numeric" and not row.numeric_text and row.kind != "numeric":
                continue  # text cannot be read as numbers
            combo.addItem(label, kind)
        with QSignalBlocker(combo):
            combo.setCurrentIndex(max(0, combo.findData(row.kind)))
        combo.setProperty("column", row.name)
        combo.setToolTip(f"How {row.name!r} is used: a numeric or a categorical feature, ignored (set aside), "
                         "or the target")
        combo.currentIndexChanged.connect(self._use_picked)
        return combo

    def picker(self, column: str) -> QComboBox | None:
        """The "Use as" picker of ``column`` (for tests and keyboard users)."""
        for r, row in enumerate(self._rows):
            if row.name == column:
                widget = self.table.cellWidget(r, 2)
                return widget if isinstance(widget, QComboBox) else None
        return None

    def rows(self) -> "tuple[ColumnOverview, ...]":
        return self._rows

    # -- intent out -----------------------------------------------------------------------------
    @Slot(int)
    def _use_picked(self, index: int) -> None:
        combo = self.sender()
        if not isinstance(combo, QComboBox):
            return
        name: Any = combo.property("column")
        kind = combo.itemData(index)
        if not name or not kind:
            return
        if kind == "target":
            self.target_chosen.emit(str(name))
        else:
            self.kind_chosen.emit(str(name), str(kind))
