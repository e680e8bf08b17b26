"""Pieces of the Compare view: overlaid curves with one point per model, the 2 x 2 agreement table,
the rows behind an agreement cell, and the two-k-fold-runs box.

Each piece renders what it is given and emits the user's intent; the core computes every number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPointF, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from evalstudio.gui.evaluation._curve_plot import PALETTE, CurvePlot
from evalstudio.gui.evaluation.metrics_view import number_item

_Index = QModelIndex | QPersistentModelIndex

#: Agreement cells: key, row (A), column (B), words.
CELLS = (
    ("both_right", 0, 0, "both right"),
    ("only_a", 0, 1, "only {a} right"),
    ("only_b", 1, 0, "only {b} right"),
    ("both_wrong", 1, 1, "both wrong"),
)


class OverlayCurvePlot(CurvePlot):
    """One curve per model and one operating point per model, all moved by the one threshold.

    The first model's point can be dragged along its curve (it drives the threshold, as in the
    Evaluation view); the others follow.
    """

    def __init__(self, x_label: str, y_label: str, *, diagonal: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(x_label, y_label, parent)
        self.plot.setMinimumSize(200, 230)  # room for the axis labels under the curves
        pi = self.plot.getPlotItem()
        if diagonal:
            pi.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine))
        self.others: list[pg.TargetItem] = []
        self._names: tuple[str, ...] = ()

    def set_models(self, curves: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """``(legend text, x, y, thresholds)`` per model; the first one's points are the draggable curve."""
        names = tuple(c[0] for c in curves)
        if len(names) != len(self._names):
            self.set_curve_names(list(names))
            pi = self.plot.getPlotItem()
            for item in self.others:
                pi.removeItem(item)
            self.others = []
            for i in range(1, len(curves)):
                colour = PALETTE[i % len(PALETTE)]
                item = pg.TargetItem(pos=(0, 0), size=12, movable=False, symbol="s",
                                     pen=pg.mkPen(colour, width=2), brush=(*colour, 70))
                item.setZValue(19)
                item.hide()
                pi.addItem(item)
                self.others.append(item)
            colour = PALETTE[0]
            self.point.setPen(pg.mkPen(colour, width=2))
            self.point.setBrush(pg.mkBrush(*colour, 70))
        self._names = names
        for i, (name, x, y, _thr) in enumerate(curves):
            self.set_curve(i, x, y, name=name)
        if curves:
            self.set_active_points(curves[0][1], curves[0][2], curves[0][3])

    def set_points(self, points: Sequence[tuple[float, float]], label: str | None = None) -> None:
        """Each model's operating point at the current threshold (first: the draggable one)."""
        if not points:
            return
        self.set_point(*_finite(points[0]), label)
        for item, p in zip(self.others, points[1:]):
            item.setPos(QPointF(*_finite(p)))
            item.show()

    def other_point_pos(self, i: int) -> tuple[float, float]:
        p = self.others[i].pos()
        return float(p.x()), float(p.y())


def _finite(p: tuple[float, float]) -> tuple[float, float]:
    return (float(np.nan_to_num(p[0])), float(np.nan_to_num(p[1])))


class AgreementTable(QTableWidget):
    """The 2 x 2 table of two models' correctness on the same rows; clicking a cell lists its rows.

    Signals
    -------
    cell_chosen(str) : ``both_right``, ``only_a``, ``only_b`` or ``both_wrong``
    """

    cell_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(2, 2, parent)
        self._names = ("A", "B")
        self._counts: dict[str, int] = {}
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setMinimumSize(220, 120)
        self.setMaximumHeight(170)
        self.cellClicked.connect(self._on_cell)
        self.set_counts({}, ("A", "B"))

    def set_counts(self, counts: dict[str, int], names: tuple[str, str]) -> None:
        self._names, self._counts = names, dict(counts)
        a, b = names
        self.setHorizontalHeaderLabels([f"{b} right", f"{b} wrong"])
        self.setVerticalHeaderLabels([f"{a} right", f"{a} wrong"])
        total = sum(counts.values())
        for key, r, c, words in CELLS:
            n = counts.get(key)
            share = f" ({100 * n / total:.0f} %)" if n is not None and total else ""
            text = "–" if n is None else f"{n:,}{share}\n{words.format(a=a, b=b)}"
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            item.setData(Qt.ItemDataRole.UserRole, key)
            # The disagreements (McNemar's b and c) stand out; the concordant cells are quiet.
            if key in ("only_a", "only_b"):
                item.setBackground(QBrush(QColor(255, 243, 214)))
            item.setToolTip("Click to list these rows.")
            self.setItem(r, c, item)

    def count(self, key: str) -> int | None:
        return self._counts.get(key)

    def cell_text(self, key: str) -> str:
        for k, r, c, _ in CELLS:
            if k == key:
                item = self.item(r, c)
                return item.text() if item is not None else ""
        raise KeyError(key)

    def choose(self, key: str) -> None:
        """What a click on that cell does."""
        for k, r, c, _ in CELLS:
            if k == key:
                self.setCurrentCell(r, c)
                self._on_cell(r, c)
                return
        raise KeyError(key)

    @Slot(int, int)
    def _on_cell(self, row: int, column: int) -> None:
        item = self.item(row, column)
        if item is not None:
            self.cell_chosen.emit(str(item.data(Qt.ItemDataRole.UserRole)))


class AgreementRowsModel(QAbstractTableModel):
    """Lazy table of paired rows: row number, features, actual class, each model's prediction and
    its probability of the actual class (one integer array per cell, formatted on demand)."""

    def __init__(self, comparison: Any = None, positions: np.ndarray | None = None, *,
                 features: np.ndarray | None = None, feature_names: Sequence[str] = ()) -> None:
        super().__init__()
        self._c = comparison
        self._pos = np.zeros(0, dtype=np.int64) if positions is None else np.asarray(positions, dtype=np.int64)
        self._features = features if features is not None and len(feature_names) else None
        self._feature_names = tuple(feature_names) if self._features is not None else ()
        names = comparison.names if comparison is not None else ()
        self._header = ("Row", *self._feature_names, "Actual",
                        *(h for n in names for h in (f"{n} predicted", f"{n}: P(actual)")))
        self._pred: list[np.ndarray] = []
        self._p_actual: list[np.ndarray] = []
        if comparison is not None:
            from evalstudio.core.evaluation.comparison import predicted_labels

            y = comparison.y_true
            for p in comparison.predictions:
                self._pred.append(predicted_labels(p, comparison.threshold, comparison.positive))
                self._p_actual.append(p.y_score[np.arange(y.size), y])

    @property
    def header(self) -> tuple[str, ...]:
        return self._header

    @property
    def positions(self) -> np.ndarray:
        return self._pos

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else int(self._pos.size)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._header)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._header[section]
        return None

    def cell_text(self, r: int, col: int) -> str:
        i = int(self._pos[r])
        c = self._c
        nf = len(self._feature_names)
        if col == 0:
            return str(int(c.row_numbers[i]))
        if col <= nf:
            return f"{float(self._features[i, col - 1]):.6g}"  # type: ignore[index]
        col -= nf + 1
        if col == 0:
            return c.classes[int(c.y_true[i])]
        model, what = divmod(col - 1, 2)
        if what == 0:
            return c.classes[int(self._pred[model][i])]
        v = float(self._p_actual[model][i])
        return f"{v:.4f}" if math.isfinite(v) else "n/a"

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell_text(index.row(), index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class KFoldCompareBox(QGroupBox):
    """Pick two k-fold runs of this window and a metric; show the per-fold differences and the test.

    Signals
    -------
    compare_requested(int, int, str) : run index of A, of B, the metric
    """

    compare_requested = Signal(int, int, str)

    METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "f1", "log_loss", "average_precision", "mcc")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Two k-fold runs of this window (same data, same folds)", parent)
        self.run_a = QComboBox()
        self.run_b = QComboBox()
        self.metric_pick = QComboBox()
        self.metric_pick.addItems(self.METRICS)
        self.button = QPushButton("Compare runs")
        self.button.clicked.connect(self._request)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["fold", "A", "B", "B - A"])
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMaximumHeight(300)
        self.words = QLabel("Run K-fold twice (say, with two learning rates) to compare the runs fold by fold.")
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pick = QHBoxLayout()
        for label, w in (("A:", self.run_a), ("B:", self.run_b), ("metric:", self.metric_pick)):
            pick.addWidget(QLabel(label))
            pick.addWidget(w, 1 if w is not self.metric_pick else 0)
        pick.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addWidget(self.words)
        layout.addWidget(self.table)
        self.set_runs([])

    def set_runs(self, labels: Sequence[str]) -> None:
        for combo, default in ((self.run_a, 0), (self.run_b, 1)):
            keep = combo.currentIndex()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(labels))
            combo.setCurrentIndex(keep if 0 <= keep < len(labels) else min(default, len(labels) - 1))
            combo.blockSignals(False)
        if len(labels) >= 2 and self.run_a.currentIndex() == self.run_b.currentIndex():
            self.run_a.setCurrentIndex(len(labels) - 2)
            self.run_b.setCurrentIndex(len(labels) - 1)
        self.button.setEnabled(len(labels) >= 2)

    def set_result(self, result: Any) -> None:
        """A :class:`~evalstudio.core.training.kfold_compare.KFoldComparison`: the table and the words."""
        from evalstudio.core.training.kfold_compare import kfold_sentences

        a, b = result.names
        self.table.setHorizontalHeaderLabels(["fold", a, b, f"{b} - {a}"])
        t = result.test
        rows = list(zip(result.values_a, result.values_b, t.differences))
        self.table.setRowCount(len(rows) + 1)
        for r, (x, y, d) in enumerate(rows):
            for c, text in enumerate((str(r + 1), f"{x:.4f}", f"{y:.4f}", f"{d:+.4f}")):
                self.table.setItem(r, c, number_item(text))
        mean_a, mean_b = sum(result.values_a) / len(rows), sum(result.values_b) / len(rows)
        for c, text in enumerate(("mean", f"{mean_a:.4f}", f"{mean_b:.4f}", f"{t.mean:+.4f}")):
            self.table.setItem(len(rows), c, number_item(text, bold=True))
        self.words.setText("\n".join([*(f"note: {n}" for n in result.notes), *kfold_sentences(result)]))

    def show_message(self, text: str) -> None:
        self.table.setRowCount(0)
        self.words.setText(text)

    @Slot()
    def _request(self) -> None:
        self.compare_requested.emit(self.run_a.currentIndex(), self.run_b.currentIndex(), self.metric_pick.currentText())
