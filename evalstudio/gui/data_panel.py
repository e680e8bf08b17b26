"""The data panel: open a CSV, preview it lazily, pick the target, see the class balance and notes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from evalstudio.core.data.column_report import column_overview  # cheap summaries; no torch
from evalstudio.core.errors import text_for
from evalstudio.gui.class_balance import ClassBalancePlot
from evalstudio.gui.column_table import ColumnsView
from evalstudio.gui.table_model import DatasetTableModel

if TYPE_CHECKING:
    from evalstudio.core.data.dataset import Dataset

CSV_FILTER = "CSV files (*.csv *.tsv *.txt *.data);;All files (*)"


class DataPanel(QWidget):
    """Renders a dataset; emits what the user asked for.

    Signals
    -------
    open_requested(path)
    target_changed(column)
    drop_missing_changed(checked)
    column_kind_changed(column, kind) -- numeric / categorical / ignored, picked in the column table
    """

    open_requested = Signal(str)
    target_changed = Signal(str)
    drop_missing_changed = Signal(bool)
    column_kind_changed = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_button = QPushButton("Open CSV…")
        self.open_button.clicked.connect(self._browse)
        self.recent_button = QToolButton()
        self.recent_button.setText("Recent")
        self.recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_menu = QMenu(self.recent_button)
        self.recent_button.setMenu(self.recent_menu)
        self.path_label = QLabel("No data loaded. Open a CSV file or drop one on the window.")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target_combo = QComboBox()
        self.target_combo.setMinimumContentsLength(14)
        self.target_combo.setToolTip("The label column; every other column is a feature")
        self.target_combo.currentTextChanged.connect(self._target_picked)
        self.drop_missing = QCheckBox("Drop rows with missing values")
        self.drop_missing.toggled.connect(self.drop_missing_changed)

        top = QHBoxLayout()
        top.addWidget(self.open_button)
        top.addWidget(self.recent_button)
        top.addWidget(self.path_label, 1)
        top.addWidget(QLabel("Target:"))
        top.addWidget(self.target_combo)
        top.addWidget(self.drop_missing)

        self.table_model = DatasetTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights: the view never measures a million rows.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)

        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.columns_view = ColumnsView()
        self.columns_view.kind_chosen.connect(self.column_kind_changed)
        self.columns_view.target_chosen.connect(self.target_changed)
        self.balance = ClassBalancePlot()
        self.balance.setMinimumHeight(180)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        notes_scroll = QScrollArea()
        notes_scroll.setWidgetResizable(True)
        notes_scroll.setFrameShape(QFrame.Shape.NoFrame)
        notes_scroll.setWidget(self.notes_label)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.summary_label)
        side_layout.addWidget(self.balance, 2)
        side_layout.addWidget(QLabel("Loader notes"))
        side_layout.addWidget(notes_scroll, 3)

        # The rows above, the columns below: on a table with text, ids and blanks the column table
        # (how each column is used) matters as much as the rows, and it needs the width.
        columns_box = QWidget()
        columns_layout = QVBoxLayout(columns_box)
        columns_layout.setContentsMargins(0, 4, 0, 0)
        columns_layout.addWidget(QLabel("<b>Columns</b>: how each one is used (pick another use in its row to "
                                        "plan the columns again)"))
        columns_layout.addWidget(self.columns_view, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.table)
        left.addWidget(columns_box)
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 1)
        left.setSizes([380, 360])
        self.rows_and_columns = left  # the splitter between the rows read and the column table

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([760, 320])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.set_recent_files([])

    # -- state in -------------------------------------------------------------------------------
    def set_dataset(self, data: "Dataset | None") -> None:
        """Show ``data`` (None clears the panel)."""
        self.table_model.set_dataset(data)
        with QSignalBlocker(self.target_combo):
            self.target_combo.clear()
            if data is not None:
                columns = list(data.table.names) if data.table is not None else list(data.feature_names)
                self.target_combo.addItems(columns + [data.target_name])
                self.target_combo.setCurrentText(data.target_name)
        if data is None:
            self.columns_view.set_overview(())
            self.path_label.setText("No data loaded. Open a CSV file or drop one on the window.")
            self.summary_label.setText("")
            self.notes_label.setText("")
            self.balance.clear()
            return
        self.path_label.setText(data.source or "(in memory)")
        self.path_label.setToolTip(data.source)
        counts = data.class_counts()
        overview = column_overview(data)
        n_columns = sum(1 for row in overview if row.kind in ("numeric", "categorical"))
        self.summary_label.setText(
            f"<b>{data.n_samples:,}</b> rows · <b>{n_columns}</b> feature column{'s' if n_columns != 1 else ''} "
            f"→ <b>{data.n_features}</b> model input{'s' if data.n_features != 1 else ''} · "
            f"target <b>{data.target_name}</b> with {data.n_classes} classes"
        )
        self.balance.set_counts(data.classes, counts)
        self.columns_view.set_overview(overview, width=data.n_features)
        self.notes_label.setText("\n".join(f"• {text_for(n, 'app')}" for n in data.notes) or "nothing to report")
        self.table.resizeColumnsToContents()

    def show_target(self, name: str | None) -> None:
        """Point the picker at ``name`` (the target in use) without asking for a reload."""
        with QSignalBlocker(self.target_combo):
            if name is None:
                self.target_combo.setCurrentIndex(-1)
            else:
                self.target_combo.setCurrentText(name)

    def set_recent_files(self, paths: list[str]) -> None:
        self.recent_menu.clear()
        for path in paths:
            action = QAction(path, self.recent_menu)
            action.setData(path)
            action.triggered.connect(self._recent_picked)
            self.recent_menu.addAction(action)
        self.recent_button.setEnabled(bool(paths))

    def set_drop_missing(self, checked: bool) -> None:
        with QSignalBlocker(self.drop_missing):
            self.drop_missing.setChecked(checked)

    # -- intent out -----------------------------------------------------------------------------
    @Slot()
    def _browse(self) -> None:
        start = os.path.dirname(self.table_model.dataset().source) if self.table_model.dataset() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a CSV dataset", start, CSV_FILTER)
        if path:
            self.open_requested.emit(path)

    @Slot()
    def _recent_picked(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and action.data():
            self.open_requested.emit(str(action.data()))

    @Slot(str)
    def _target_picked(self, name: str) -> None:
        data = self.table_model.dataset()
        if name and data is not None and name != data.target_name:
            self.target_changed.emit(name)
