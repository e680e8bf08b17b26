"""The model panel: model definition and checkpoint pickers, then what loading them found."""

from __future__ import annotations

import html
import os
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

MODEL_FILTER = "Model definitions (*.py *.pt *.pth *.jit *.ts);;All files (*)"
CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth *.ckpt *.bin *.safetensors);;All files (*)"


class ModelPanel(QWidget):
    """Renders the model load report; emits the user's choices.

    Signals
    -------
    model_chosen(path)
    checkpoint_chosen(path) -- "" clears the checkpoint
    reload_requested()
    trust_pickle_changed(checked)
    non_strict_changed(checked) -- load only the checkpoint tensors that fit (the CLI's --non-strict)
    outputs_changed(kind) -- "auto", "logits" or "probabilities" (the CLI's --outputs)
    """

    model_chosen = Signal(str)
    checkpoint_chosen = Signal(str)
    reload_requested = Signal()
    trust_pickle_changed = Signal(bool)
    non_strict_changed = Signal(bool)
    outputs_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_edit = QLineEdit()
        self.model_edit.setReadOnly(True)
        self.model_edit.setPlaceholderText("a .py file defining the model, or a TorchScript file")
        self.model_button = QPushButton("Model…")
        self.model_button.clicked.connect(self._browse_model)
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setReadOnly(True)
        self.checkpoint_edit.setPlaceholderText("optional: trained weights (state_dict, evalstudio checkpoint, safetensors)")
        self.checkpoint_button = QPushButton("Checkpoint…")
        self.checkpoint_button.clicked.connect(self._browse_checkpoint)
        self.clear_checkpoint_button = QPushButton("Clear")
        self.clear_checkpoint_button.clicked.connect(self._clear_checkpoint)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Load the model file again (after editing it)")
        self.reload_button.clicked.connect(self.reload_requested)
        self.trust_pickle = QCheckBox("I trust this checkpoint's pickled objects (whole saved models only)")
        self.trust_pickle.toggled.connect(self.trust_pickle_changed)
        self.non_strict = QCheckBox("Load only the tensors that fit (non-strict)")
        self.non_strict.setToolTip(
            "Load the checkpoint's tensors whose names and shapes fit the model and leave the rest as the model "
            "file initialises them; the report below lists what was left out. Off: a checkpoint must fit exactly.")
        self.non_strict.toggled.connect(self.non_strict_changed)
        self.outputs = QComboBox()
        for text, kind in (("auto-detect", "auto"), ("logits", "logits"), ("probabilities", "probabilities")):
            self.outputs.addItem(text, kind)
        self.outputs.setToolTip(
            "How Evaluate reads the model's outputs: logits get a softmax (or sigmoid); probabilities are used as "
            "they are. Auto-detect looks for a Softmax or Sigmoid as the model's last layer.")
        self.outputs.currentIndexChanged.connect(self._outputs_picked)

        grid = QGridLayout()
        grid.addWidget(QLabel("Model:"), 0, 0)
        grid.addWidget(self.model_edit, 0, 1)
        grid.addWidget(self.model_button, 0, 2)
        grid.addWidget(self.reload_button, 0, 3)
        grid.addWidget(QLabel("Checkpoint:"), 1, 0)
        grid.addWidget(self.checkpoint_edit, 1, 1)
        grid.addWidget(self.checkpoint_button, 1, 2)
        grid.addWidget(self.clear_checkpoint_button, 1, 3)
        grid.addWidget(self.trust_pickle, 2, 1, 1, 3)
        options = QHBoxLayout()
        options.addWidget(self.non_strict)
        options.addSpacing(16)
        options.addWidget(QLabel("Outputs:"))
        options.addWidget(self.outputs)
        options.addStretch(1)
        grid.addLayout(options, 3, 1, 1, 3)

        self.headline = QLabel("No model loaded.")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-weight: bold")
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        # Shown the moment the data or the model changes when the checkpoint was trained on other
        # columns or classes (a target picked by mistake), not at Evaluate.
        self.fit_warning = QLabel("")
        self.fit_warning.setWordWrap(True)
        self.fit_warning.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_warning.setStyleSheet(
            "QLabel { background: #fdecea; border: 1px solid #e0a9a4; border-radius: 4px; padding: 6px; }")
        self.fit_warning.hide()
        self.data_fit: Any = None

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.headline)
        layout.addWidget(self.fit_warning)
        layout.addWidget(self.report, 1)

    # -- state in -------------------------------------------------------------------------------
    def set_paths(self, model_path: str | None, checkpoint_path: str | None) -> None:
        self.model_edit.setText(model_path or "")
        self.model_edit.setToolTip(model_path or "")
        self.checkpoint_edit.setText(checkpoint_path or "")
        self.checkpoint_edit.setToolTip(checkpoint_path or "")
        self.reload_button.setEnabled(bool(model_path or checkpoint_path))

    def set_model_info(self, info: Any | None) -> None:
        """Show a :class:`~evalstudio.workers.jobs.ModelInfo` (None: nothing loaded)."""
        if info is None:
            self.headline.setText("No model loaded.")
            self.report.setPlainText("")
            return
        self.headline.setText(info.headline)
        self.report.setPlainText(info.report_text)

    def set_data_fit(self, fit: Any | None, trained_target: str | None = None) -> None:
        """Show a :class:`~evalstudio.core.models.data_fit.DataFit` (None or a fit: no warning)."""
        self.data_fit = fit
        if fit is None or fit.fits:
            self.fit_warning.hide()
            self.fit_warning.setText("")
            return
        items = "".join(f"<li>{html.escape(p)}</li>" for p in fit.problems)
        fix = (f"Choose {html.escape(repr(trained_target))} in the Target picker of the Data tab, or a checkpoint "
               "trained on this data." if trained_target else "Open the data this checkpoint was trained on, or a "
               "checkpoint trained on this data.")
        self.fit_warning.setText(
            "<b>⚠ This checkpoint does not fit the data loaded in the Data tab.</b>"
            f"<ul style='margin: 2px 0 2px -20px'>{items}</ul>Evaluate would score the wrong columns or labels. {fix}")
        self.fit_warning.show()

    def set_options(self, *, non_strict: bool, outputs: str) -> None:
        """Show the loading options in use (without emitting)."""
        with QSignalBlocker(self.non_strict):
            self.non_strict.setChecked(non_strict)
        with QSignalBlocker(self.outputs):
            self.outputs.setCurrentIndex(max(0, self.outputs.findData(outputs)))

    def set_pending(self, text: str) -> None:
        self.headline.setText(text)

    def set_failure(self, message: str) -> None:
        """The chosen files did not load: say why where the model's report would be."""
        self.headline.setText("The model could not be loaded; no model is loaded.")
        self.report.setPlainText(
            f"{message}\n\nFix the file and press Reload, or choose another model (Model…) or checkpoint (Checkpoint…).")

    # -- intent out -----------------------------------------------------------------------------
    def _start_dir(self) -> str:
        current = self.model_edit.text() or self.checkpoint_edit.text()
        return os.path.dirname(current) if current else ""

    @Slot()
    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the model definition", self._start_dir(), MODEL_FILTER)
        if path:
            self.model_chosen.emit(path)

    @Slot()
    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a checkpoint", self._start_dir(), CHECKPOINT_FILTER)
        if path:
            self.checkpoint_chosen.emit(path)

    @Slot(int)
    def _outputs_picked(self, _index: int) -> None:
        self.outputs_changed.emit(str(self.outputs.currentData() or "auto"))

    @Slot()
    def _clear_checkpoint(self) -> None:
        self.checkpoint_chosen.emit("")


