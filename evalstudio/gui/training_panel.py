"""Device picker, training settings and the action buttons (Train, Evaluate, K-fold, Stop)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from evalstudio.gui.eval_plan import INCLUDE_LABEL

#: Defaults shown on first start (evalstudio's recommended settings, as core's TrainConfig).
DEFAULT_SETTINGS: dict[str, Any] = {
    "epochs": 100,
    "batch_size": 32,
    "lr": 1e-3,
    "optimizer": "adam",
    "val_fraction": 0.2,
    "seed": 0,
    "early_stopping": 0,
    "standardize": True,
    "folds": 5,
    "device": "cpu",
}


class TrainingPanel(QWidget):
    """Settings form plus buttons.

    Signals
    -------
    train_requested(), evaluate_requested(), kfold_requested(), stop_requested()
    save_checkpoint_requested(), open_run_folder_requested()
    include_training_rows_changed(bool) -- the checkbox under Evaluate
    """

    train_requested = Signal()
    evaluate_requested = Signal()
    kfold_requested = Signal()
    stop_requested = Signal()
    save_checkpoint_requested = Signal()
    open_run_folder_requested = Signal()
    include_training_rows_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device_combo = QComboBox()
        # Always shown, two lines tall from the start: a note appearing when the device check
        # lands pushed the whole form down ~37 px as the user reached for it (seen under Xvfb).
        self.device_note = QLabel("Looking for GPUs…")
        self.device_note.setWordWrap(True)
        self.device_note.setMaximumWidth(220)
        self.device_note.setFixedHeight(2 * self.device_note.fontMetrics().lineSpacing() + 2)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1 << 20)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(6)
        self.lr.setRange(1e-6, 10.0)
        self.lr.setSingleStep(1e-4)
        self.optimizer = QComboBox()
        self.optimizer.addItems(["adam", "adamw", "sgd"])
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 0.9)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setToolTip("Stratified share of rows held out for validation (0: none)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.early_stopping = QSpinBox()
        self.early_stopping.setRange(0, 10000)
        self.early_stopping.setSpecialValueText("off")
        self.early_stopping.setToolTip("Patience in epochs without improvement of the validation loss")
        self.standardize = QCheckBox("Standardise features")
        self.standardize.setToolTip("Scale each feature to mean 0, std 1, fitted on the training rows only; "
                                    "the transform travels in the checkpoint")
        self.folds = QSpinBox()
        self.folds.setRange(2, 50)

        form = QFormLayout()
        form.addRow("Device", self.device_combo)
        form.addRow("", self.device_note)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Validation fraction", self.val_fraction)
        form.addRow("Seed", self.seed)
        form.addRow("Early stopping", self.early_stopping)
        form.addRow("", self.standardize)
        form.addRow("K-fold folds", self.folds)
        box = QGroupBox("Training")
        box.setLayout(form)

        self.train_button = QPushButton("Train")
        self.evaluate_button = QPushButton("Evaluate")
        # Evaluate leaves out the rows a checkpoint records as its training rows; this scores them too.
        # Not a saved setting: every window starts with the honest default.
        # On two lines: on one, the label alone set the panel's (and so the window's) minimum width.
        self.include_training_rows = QCheckBox(INCLUDE_LABEL.replace(" was trained", "\nwas trained"))
        self.include_training_rows.setToolTip(
            "Off: Evaluate leaves out the rows of the data that trained the checkpoint (it records them). "
            "On: it scores every row, and the results are labelled optimistic.")
        self.include_training_rows.toggled.connect(self.include_training_rows_changed)
        self.kfold_button = QPushButton("K-fold")
        self.stop_button = QPushButton("Stop")
        self.save_button = QPushButton("Save checkpoint…")
        self.save_button.setToolTip("Save the best (or last) checkpoint of the finished run")
        # Where the last run's checkpoints are kept (a folder under the user's data directory).
        self.run_folder = QLabel("")
        self.run_folder.setWordWrap(True)
        self.run_folder.setMaximumWidth(260)
        self.run_folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder_button = QPushButton("Open folder")
        self.open_folder_button.setToolTip("Show the run's folder (best.pt, last.pt) in the file manager")
        self.open_folder_button.clicked.connect(self.open_run_folder_requested)
        self.set_run_folder(None)
        self.train_button.clicked.connect(self.train_requested)
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self.kfold_button.clicked.connect(self.kfold_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.save_button.clicked.connect(self.save_checkpoint_requested)
        buttons = QGridLayout()
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.evaluate_button, 0, 1)
        buttons.addWidget(self.kfold_button, 1, 0)
        buttons.addWidget(self.stop_button, 1, 1)
        buttons.addWidget(self.include_training_rows, 2, 0, 1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        layout.addLayout(buttons)
        layout.addWidget(self.save_button)
        layout.addWidget(self.run_folder)
        layout.addWidget(self.open_folder_button)
        layout.addStretch(1)
        self.set_settings(DEFAULT_SETTINGS)
        self.set_state(busy=False, can_train=False, can_evaluate=False, has_checkpoint=False)

    # -- state in -------------------------------------------------------------------------------
    def set_devices(self, devices: list[tuple[str, str]], note: str = "") -> None:
        """``devices`` as (name, label) pairs, e.g. ("cuda:0", "cuda:0 - NVIDIA H100 (80 GiB)")."""
        current = self.device_combo.currentData()
        with QSignalBlocker(self.device_combo):
            self.device_combo.clear()
            for name, label in devices:
                self.device_combo.addItem(label, name)
            index = self.device_combo.findData(current) if current else -1
            self.device_combo.setCurrentIndex(max(index, 0))
        gpus = sum(1 for name, _ in devices if name != "cpu")
        self.device_note.setText(note or (f"{gpus} GPU{'s' if gpus != 1 else ''} found." if gpus else ""))
        self.device_note.setToolTip(self.device_note.text())

    def set_run_folder(self, path: str | None) -> None:
        """Show the run folder of the last training run (hidden when there is none)."""
        self.run_folder.setText(f"Run folder: {path}" if path else "")
        self.run_folder.setToolTip(path or "")
        self.run_folder.setVisible(bool(path))
        self.open_folder_button.setVisible(bool(path))

    def set_state(self, *, busy: bool, can_train: bool, can_evaluate: bool, has_checkpoint: bool) -> None:
        """Enable what makes sense now (a running job allows only Stop)."""
        self.train_button.setEnabled(not busy and can_train)
        self.kfold_button.setEnabled(not busy and can_train)
        self.evaluate_button.setEnabled(not busy and can_evaluate)
        self.stop_button.setEnabled(busy)
        self.save_button.setEnabled(not busy and has_checkpoint)

    def settings(self) -> dict[str, Any]:
        """The form's values (plain JSON-able types)."""
        return {
            "epochs": self.epochs.value(),
            "batch_size": self.batch_size.value(),
            "lr": self.lr.value(),
            "optimizer": self.optimizer.currentText(),
            "val_fraction": round(self.val_fraction.value(), 4),
            "seed": self.seed.value(),
            "early_stopping": self.early_stopping.value(),
            "standardize": self.standardize.isChecked(),
            "folds": self.folds.value(),
            "device": self.device_combo.currentData() or "cpu",
        }

    def set_settings(self, values: dict[str, Any]) -> None:
        """Fill the form; unknown keys are ignored and bad values fall back to the defaults."""
        v = {**DEFAULT_SETTINGS, **{k: values[k] for k in values if k in DEFAULT_SETTINGS}}
        try:
            self.epochs.setValue(int(v["epochs"]))
            self.batch_size.setValue(int(v["batch_size"]))
            self.lr.setValue(float(v["lr"]))
            self.optimizer.setCurrentText(str(v["optimizer"]))
            self.val_fraction.setValue(float(v["val_fraction"]))
            self.seed.setValue(int(v["seed"]))
            self.early_stopping.setValue(int(v["early_stopping"]))
            self.standardize.setChecked(bool(v["standardize"]))
            self.folds.setValue(int(v["folds"]))
        except (TypeError, ValueError):
            if values is not DEFAULT_SETTINGS:
                self.set_settings(DEFAULT_SETTINGS)
            return
        index = self.device_combo.findData(v["device"])
        if index >= 0:
            self.device_combo.setCurrentIndex(index)
