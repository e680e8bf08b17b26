"""The rows behind a confusion-matrix cell: a lazy table model and its view with CSV export.

:class:`RowsTableModel` holds index arrays, never one item per row: ``data()`` formats a cell
only when the view asks for it, so a cell of a million rows costs one integer array.

Columns: original row number, features, actual, predicted, one probability per class, per-row
loss (cross-entropy of the actual class). Rows arrive sorted by loss, worst first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from evalstudio.core.evaluation.predictions import Predictions

_Index = QModelIndex | QPersistentModelIndex


class RowsTableModel(QAbstractTableModel):
    """Read-only table over ``positions`` of a :class:`Predictions`.

    Parameters
    ----------
    pred : Predictions
    positions : ndarray of shape (k,), int -- rows to show, in display order
    y_pred : ndarray of shape (n_samples,), int -- predicted class of every row
    loss : ndarray of shape (n_samples,) -- per-row loss of every row
    features : ndarray of shape (n_samples, n_features), optional
    feature_names : tuple of str
    """

    def __init__(
        self,
        pred: Predictions | None = None,
        positions: np.ndarray | None = None,
        y_pred: np.ndarray | None = None,
        loss: np.ndarray | None = None,
        features: np.ndarray | None = None,
        feature_names: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._pred = pred
        self._pos = np.zeros(0, dtype=np.int64) if positions is None else np.asarray(positions, dtype=np.int64)
        self._y_pred = y_pred
        self._loss = loss
        self._features = features if features is not None and len(feature_names) else None
        names = tuple(feature_names) if self._features is not None else ()
        classes = pred.classes if pred is not None else ()
        self._header = ("Row", *names, "Actual", "Predicted", *(f"P({c})" for c in classes), "Loss")
        self._n_feat = len(names)

    # Qt model API ---------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else int(self._pos.size)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._header)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._header[section]
        return str(section + 1)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._pred is None:
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            col = index.column()
            numeric = col != self._n_feat + 1 and col != self._n_feat + 2
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter) if numeric else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self.cell_text(index.row(), index.column())

    # plain API (export, tests) ---------------------------------------------------------------

    @property
    def header(self) -> tuple[str, ...]:
        return self._header

    @property
    def positions(self) -> np.ndarray:
        return self._pos

    def row_values(self, r: int) -> list[object]:
        """Raw values of display row ``r`` (numbers unformatted)."""
        pred = self._pred
        assert pred is not None and self._y_pred is not None and self._loss is not None
        i = int(self._pos[r])
        values: list[object] = [int(pred.row_numbers[i])]
        if self._features is not None:
            values += [float(v) for v in self._features[i]]
        values += [pred.classes[int(pred.y_true[i])], pred.classes[int(self._y_pred[i])]]
        values += [float(v) for v in pred.y_score[i]]
        values.append(float(self._loss[i]))
        return values

    def cell_text(self, r: int, c: int) -> str:
        v = self.row_values(r)[c]
        if isinstance(v, float):
            return f"{v:.4f}" if c > self._n_feat else f"{v:g}"
        return str(v)

    def columns(self) -> list[list[object]]:
        """Every column as a list of raw values, in display order (the same values as
        :meth:`row_values`, built column-wise: a million rows export in seconds, not minutes)."""
        pred = self._pred
        if pred is None or self._pos.size == 0:
            return [[] for _ in self._header]
        assert self._y_pred is not None and self._loss is not None
        pos = self._pos
        names = np.asarray(pred.classes, dtype=object)
        cols: list[list[object]] = [np.asarray(pred.row_numbers)[pos].astype(np.int64).tolist()]
        if self._features is not None:
            cols += [_plain(c) for c in np.asarray(self._features)[pos].T]
        cols += [names[pred.y_true[pos]].tolist(), names[self._y_pred[pos]].tolist()]
        cols += [_plain(c) for c in np.asarray(pred.y_score)[pos].T]
        cols.append(_plain(np.asarray(self._loss)[pos]))
        return cols

    def iter_rows(self) -> Iterator[list[object]]:
        for row in zip(*self.columns()):
            yield list(row)


def _plain(column: np.ndarray) -> list[object]:
    """A float column as Python values, None where not finite (an empty CSV cell, JSON null)."""
    finite = np.isfinite(column)
    if finite.all():
        return column.tolist()
    out = column.astype(object)
    out[~finite] = None
    return out.tolist()


class RowsView(QWidget):
    """Caption + lazy table + "Export CSV" for the rows of a chosen cell."""

    export_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Click a cell, a row or a column of the confusion matrix to list its rows.")
        self.caption.setWordWrap(True)
        self.table = QTableView()
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(22)
        # Size columns from the first rows only: Qt samples 1000 rows per column by default,
        # which costs a second on every refresh of a large cell.
        self.table.horizontalHeader().setResizeContentsPrecision(40)
        self.table.setModel(RowsTableModel())
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export_dialog)
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)

    @property
    def model(self) -> RowsTableModel:
        return self.table.model()  # type: ignore[return-value]

    def set_rows(self, model: RowsTableModel, caption: str) -> None:
        old = self.table.model()
        same_columns = isinstance(old, RowsTableModel) and old.header == model.header and old.rowCount() > 0
        self.table.setModel(model)
        if old is not None:
            old.deleteLater()
        self.caption.setText(caption)
        self.export_button.setEnabled(model.rowCount() > 0)
        if not same_columns:  # keep the widths the user sees (or set) while the threshold moves
            self.table.resizeColumnsToContents()

    def clear(self) -> None:
        self.set_rows(RowsTableModel(), "Click a cell, a row or a column of the confusion matrix to list its rows.")

    def export_csv(self, path: str | Path) -> Path:
        from evalstudio.gui.evaluation.export import write_csv

        return write_csv(path, self.model.header, self.model.iter_rows(), checked=True)

    @Slot()
    def _export_dialog(self) -> None:  # pragma: no cover - needs a person
        path, _ = QFileDialog.getSaveFileName(self, "Export rows", "rows.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                self.export_failed.emit(f"could not write {path}: {exc.strerror}")
