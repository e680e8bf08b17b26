"""A lazy table over a :class:`~evalstudio.core.data.dataset.Dataset`: cells are read from its arrays on demand.

Nothing is copied into Qt items, so a 1M-row file costs what its float32 matrix costs; the view
asks only for the cells on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset

_Index = QModelIndex | QPersistentModelIndex


class DatasetTableModel(QAbstractTableModel):
    """Columns: the file's row number, every column as read (text as text, missing cells empty),
    then the target's class name. Data built in memory shows its feature matrix instead."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._data: Dataset | None = None

    def set_dataset(self, data: "Dataset | None") -> None:
        self.beginResetModel()
        self._data = data
        self.endResetModel()

    def dataset(self) -> "Dataset | None":
        return self._data

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 -- Qt's signature
        return 0 if self._data is None or parent.isValid() else self._data.n_samples

    def _width(self) -> int:
        d = self._data
        if d is None:
            return 0
        return len(d.table.columns) if d.table is not None else d.n_features

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if self._data is None or parent.isValid() else self._width() + 2

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        d = self._data
        if d is None or not index.isValid():
            return None
        r, c = index.row(), index.column()
        width = self._width()
        column = d.table.columns[c - 1] if d.table is not None and 0 < c <= width else None
        if role == Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return str(int(d.row_numbers[r]))
            if column is not None:
                return column.cell(r)
            if c <= width:
                return f"{float(d.X[r, c - 1]):.6g}"
            return d.classes[int(d.y[r])]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if c == width + 1:
                return int(Qt.AlignmentFlag.AlignCenter)
            if column is not None and not column.is_numeric:
                return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        d = self._data
        if d is None or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        if orientation == Qt.Orientation.Vertical:
            return None
        if section == 0:
            return "row" if role == Qt.ItemDataRole.DisplayRole else "data row number in the file (header not counted)"
        if section <= self._width():
            if d.table is not None:
                name = d.table.columns[section - 1].name
                kinds = {k.name: k.kind for k in d.encoding.plan()} if d.encoding is not None else {}
                kind = kinds.get(name, "feature")
                what = "set aside (ignored)" if kind == "ignored" else f"{kind} feature"
                return name if role == Qt.ItemDataRole.DisplayRole else f"{name}: {what}"
            name = d.feature_names[section - 1]
            return name if role == Qt.ItemDataRole.DisplayRole else f"{name}: feature (number)"
        return f"{d.target_name} (target)" if role == Qt.ItemDataRole.DisplayRole else "the label column"
