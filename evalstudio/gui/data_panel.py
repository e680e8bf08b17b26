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
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from evalstudio.gui.class_balance import ClassBalancePlot
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
    """

    open_requested = Signal(str)
    target_changed = Signal(str)
    drop_missing_changed = Signal(bool)

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
        self.columns_table = QTableWidget(0, 2)
        self.columns_table.setHorizontalHeaderLabels(["column", "type"])
        self.columns_table.verticalHeader().setVisible(False)
        self.columns_table.horizontalHeader().setStretchLastSection(True)
        self.columns_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.balance = ClassBalancePlot()
        self.balance.setMinimumHeight(180)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        self.notes_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.summary_label)
        side_layout.addWidget(self.balance, 2)
        side_layout.addWidget(QLabel("Columns"))
        side_layout.addWidget(self.columns_table, 2)
        side_layout.addWidget(QLabel("Loader notes"))
        side_layout.addWidget(self.notes_label, 1)

        split = QSplitter()
        split.addWidget(self.table)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 420])  # room for more feature columns than the side needs

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
                self.target_combo.addItems(list(data.feature_names) + [data.target_name])
                self.target_combo.setCurrentText(data.target_name)
        self.columns_table.setRowCount(0)
        if data is None:
            self.path_label.setText("No data loaded. Open a CSV file or drop one on the window.")
            self.summary_label.setText("")
            self.notes_label.setText("")
            self.balance.clear()
            return
        self.path_label.setText(data.source or "(in memory)")
        self.path_label.setToolTip(data.source)
        counts = data.class_counts()
        self.summary_label.setText(
            f"<b>{data.n_samples:,}</b> rows · <b>{data.n_features}</b> features · "
            f"target <b>{data.target_name}</b> with {data.n_classes} classes"
        )
        self.balance.set_counts(data.classes, counts)
        rows = [(name, "number (feature)") for name in data.feature_names]
        rows.append((data.target_name, f"label: {data.n_classes} classes ({', '.join(data.classes[:6])}"
                     + (", …)" if data.n_classes > 6 else ")")))
        self.columns_table.setRowCount(len(rows))
        for i, (name, kind) in enumerate(rows):
            self.columns_table.setItem(i, 0, QTableWidgetItem(name))
            self.columns_table.setItem(i, 1, QTableWidgetItem(kind))
        self.columns_table.resizeColumnToContents(0)
        self.notes_label.setText("\n".join(f"• {n}" for n in data.notes) or "nothing to report")
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
