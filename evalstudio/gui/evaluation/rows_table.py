"""The rows behind a confusion-matrix cell: a lazy table model and its view with CSV export.

:class:`RowsTableModel` holds index arrays, never one item per row: ``data()`` formats a cell
only when the view asks for it, so a cell of a million rows costs one integer array.

Columns: original row number, features, actual, predicted, one probability per class, per-row
loss (cross-entropy of the actual class). Rows arrive sorted by loss, worst first; a click on
any header sorts by that column (a stable numpy argsort of the shown positions, no items).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

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
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None  # one row number: the file's, in the "Row" column
        return self._header[section]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder the shown rows by ``column`` (stable: ties keep their current order)."""
        if self._pred is None or self._pos.size == 0 or not 0 <= column < len(self._header):
            return
        key = self.sort_key(column)
        if order == Qt.SortOrder.DescendingOrder:
            # Descending and still stable; NaN (a missing feature) last either way.
            key = -key if np.issubdtype(key.dtype, np.floating) else (key.max() - key)
        self.layoutAboutToBeChanged.emit()
        self._pos = self._pos[np.argsort(key, kind="stable")]
        self.layoutChanged.emit()

    def sort_key(self, column: int) -> np.ndarray:
        """The values of ``column`` for the shown rows, as numbers (classes by name order)."""
        pred, pos = self._pred, self._pos
        assert pred is not None and self._y_pred is not None and self._loss is not None
        f = self._n_feat
        if column == 0:
            return np.asarray(pred.row_numbers)[pos].astype(np.int64)
        if column <= f:
            return np.asarray(self._features)[pos, column - 1].astype(np.float64)  # type: ignore[index]
        if column in (f + 1, f + 2):
            codes = (pred.y_true if column == f + 1 else self._y_pred)[pos]
            by_name = np.argsort(np.argsort(np.asarray(pred.classes, dtype=object)))  # class code -> name rank
            return by_name[codes].astype(np.int64)
        if column == len(self._header) - 1:
            return np.asarray(self._loss)[pos].astype(np.float64)
        return np.asarray(pred.y_score)[pos, column - f - 3].astype(np.float64)

    def widest_texts(self, column: int) -> list[str]:
        """Texts of ``column`` that could be its widest (the header, the extremes): what the
        view sizes the column by, so a large row number deep in the list is never clipped."""
        texts = [self._header[column]]
        if self._pred is None or self._pos.size == 0:
            return texts
        key = self.sort_key(column)
        picks = {int(np.argmin(key)), int(np.argmax(key))} if np.issubdtype(key.dtype, np.integer) else set()
        if np.issubdtype(key.dtype, np.floating):
            finite = np.isfinite(key)
            if finite.any():
                magnitude = np.where(finite, np.abs(key), -1.0)
                picks |= {int(np.argmax(magnitude)), int(np.argmin(np.where(finite, key, np.inf)))}
            if not finite.all():
                picks.add(int(np.argmin(finite)))
        if column in (self._n_feat + 1, self._n_feat + 2):
            return texts + [str(c) for c in self._pred.classes]
        return texts + [self.cell_text(r, column) for r in sorted(picks)]

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
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # One row number: the file's, in the "Row" column (no second count in a vertical header).
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(True)
        header.setSectionsClickable(True)
        header.sortIndicatorChanged.connect(self._sort_requested)
        self.table.setModel(RowsTableModel())
        self._caption = ""
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
        """Show ``model`` (rows worst loss first); a sort the user chose on these columns stays."""
        old = self.table.model()
        same_columns = isinstance(old, RowsTableModel) and old.header == model.header and old.rowCount() > 0
        header = self.table.horizontalHeader()
        section, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table.setModel(model)
        if old is not None:
            old.deleteLater()
        loss = len(model.header) - 1
        if not (same_columns and 0 <= section < len(model.header)):
            section, order = loss, Qt.SortOrder.DescendingOrder  # the order the rows arrive in
        if (section, order) != (loss, Qt.SortOrder.DescendingOrder):
            model.sort(section, order)
        with QSignalBlocker(header):
            header.setSortIndicator(section, order)
        self._caption = caption
        self._show_caption()
        self.export_button.setEnabled(model.rowCount() > 0)
        if not same_columns:  # keep the widths the user sees (or set) while the threshold moves
            self.size_columns()

    def size_columns(self) -> None:
        """Each column as wide as its widest text (header and extreme values, not a sample of the
        first rows, which clipped a five-digit row number further down)."""
        model, fm = self.model, self.table.fontMetrics()
        header = self.table.horizontalHeader()
        margin = self.table.style().pixelMetric(self.table.style().PixelMetric.PM_HeaderMargin)
        for c in range(model.columnCount()):
            texts = model.widest_texts(c)
            # The header's text, its margins and the sort arrow; a cell's text and its margins.
            width = max([header.fontMetrics().horizontalAdvance(texts[0]) + 4 * margin + 12,
                         *(fm.horizontalAdvance(t) + 12 for t in texts[1:])])
            self.table.setColumnWidth(c, width)

    def _show_caption(self) -> None:
        model, header = self.model, self.table.horizontalHeader()
        section = header.sortIndicatorSection()
        text = self._caption
        if model.rowCount() > 0 and 0 <= section < len(model.header):
            if section == len(model.header) - 1 and header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder:
                text += " (worst loss first; click a column header to sort by it)"
            else:
                way = "high to low" if header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder else "low to high"
                text += f" (sorted by {model.header[section]}, {way})"
        self.caption.setText(text)

    @Slot(int, Qt.SortOrder)
    def _sort_requested(self, section: int, order: Qt.SortOrder) -> None:
        self.model.sort(section, order)
        self._show_caption()

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
