"""The decision-threshold control: a slider, a numeric entry and the suggested thresholds.

The bar holds no metrics. It emits ``threshold_changed`` while the slider is dragged (cheap
updates) and ``threshold_committed`` when the user lets go, types a value or clicks a suggestion
(expensive updates). The panel pushes suggestions (max F1, Youden's J, minimum cost) computed by
the core's threshold table into :meth:`set_suggestions`.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

SLIDER_STEPS = 1000  # slider resolution 0.001; the entry and the curves carry the exact value

SUGGESTIONS = (
    ("default", "0.5"),
    ("max_f1", "Max F1"),
    ("youden", "Max Youden J"),
    ("min_cost", "Min cost"),
)


class ThresholdBar(QWidget):
    """Slider + entry + suggestion buttons + FP/FN cost inputs.

    Signals
    -------
    threshold_changed(float) : the threshold moved (every slider tick, entry edit, click)
    threshold_committed(float) : the move is finished (slider released, entry edited, click)
    costs_changed(float, float) : the cost of a false positive / false negative changed
    """

    threshold_changed = Signal(float)
    threshold_committed = Signal(float)
    costs_changed = Signal(float, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._threshold = 0.5
        self._suggestions: dict[str, float | None] = {"default": 0.5}

        self.title = QLabel("Threshold")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setToolTip("Rows scoring at or above the threshold are predicted positive.")
        self.entry = QDoubleSpinBox()
        self.entry.setRange(0.0, 1.0)
        self.entry.setDecimals(4)
        self.entry.setSingleStep(0.01)
        self.entry.setValue(0.5)
        self.entry.setKeyboardTracking(False)  # commit on Enter / focus out, not per keystroke

        self.buttons: dict[str, QPushButton] = {}
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(QLabel("Suggested:"))
        for key, text in SUGGESTIONS:
            b = QPushButton(text)
            b.setProperty("suggestion", key)
            b.clicked.connect(self._on_suggestion)
            self.buttons[key] = b
            buttons_row.addWidget(b)
        buttons_row.addStretch(1)
        # Two rows, not three (the height goes to the rows list at 1366x768): the costs share
        # the slider's row, whose slider gives way when the tab is narrow; the tooltips say the rest.
        self.cost_fp = self._cost_box("What a false positive costs, for the Min cost suggestion")
        self.cost_fn = self._cost_box("What a false negative costs, for the Min cost suggestion")
        costs = QHBoxLayout()
        costs_label = QLabel("Min cost: a false positive costs")
        costs_label.setToolTip("Min cost suggests the threshold with the lowest total cost: "
                               "FP cost x false positives + FN cost x false negatives.")
        costs.addSpacing(12)
        costs.addWidget(costs_label)
        costs.addWidget(self.cost_fp)
        costs.addWidget(QLabel("a false negative"))
        costs.addWidget(self.cost_fn)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.title, 0, 0)
        grid.addWidget(self.slider, 0, 1)
        grid.addWidget(self.entry, 0, 2)
        grid.addLayout(costs, 0, 3)
        grid.addLayout(buttons_row, 1, 0, 1, 4)
        grid.setColumnStretch(1, 1)

        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._on_slider_released)
        self.entry.valueChanged.connect(self._on_entry)
        self.cost_fp.valueChanged.connect(self._costs_edited)
        self.cost_fn.valueChanged.connect(self._costs_edited)
        self._refresh_buttons()

    @staticmethod
    def _cost_box(tip: str) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(0.0, 1e4)
        box.setDecimals(2)
        box.setValue(1.0)
        box.setToolTip(tip)
        box.setKeyboardTracking(False)
        return box

    # ------------------------------------------------------------------ state in

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def costs(self) -> tuple[float, float]:
        """(cost of a false positive, cost of a false negative)."""
        return float(self.cost_fp.value()), float(self.cost_fn.value())

    def set_threshold(self, value: float) -> None:
        """Show ``value`` in the slider and the entry without emitting anything."""
        self._threshold = float(min(max(value, 0.0), 1.0))
        with QSignalBlocker(self.slider), QSignalBlocker(self.entry):
            self.slider.setValue(round(self._threshold * SLIDER_STEPS))
            self.entry.setValue(self._threshold)

    def set_suggestions(self, suggestions: dict[str, float | None]) -> None:
        """Thresholds for the suggestion buttons (``None`` disables a button)."""
        self._suggestions = {"default": 0.5, **suggestions}
        self._refresh_buttons()

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def _refresh_buttons(self) -> None:
        for key, text in SUGGESTIONS:
            value = self._suggestions.get(key)
            b = self.buttons[key]
            b.setEnabled(value is not None)
            b.setText(text if key == "default" or value is None else f"{text} ({value:.3f})")

    # ------------------------------------------------------------------ intent out

    def _apply(self, value: float, *, commit: bool) -> None:
        self.set_threshold(value)
        self.threshold_changed.emit(self._threshold)
        if commit:
            self.threshold_committed.emit(self._threshold)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        # Keyboard and wheel moves have no release: commit them at once.
        self._apply(value / SLIDER_STEPS, commit=not self.slider.isSliderDown())

    @Slot()
    def _on_slider_released(self) -> None:
        self.threshold_committed.emit(self._threshold)

    @Slot(float)
    def _on_entry(self, value: float) -> None:
        self._apply(value, commit=True)

    @Slot()
    def _on_suggestion(self) -> None:
        key = self.sender().property("suggestion")
        value = self._suggestions.get(key)
        if value is not None:
            self._apply(value, commit=True)

    @Slot()
    def _costs_edited(self) -> None:
        self.costs_changed.emit(*self.costs)
