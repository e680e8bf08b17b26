"""CalibrationPanel: does 0.9 mean 90 %? The reliability diagram, Brier and ECE, and a temperature fit.

- The reliability diagram: each bin's mean predicted probability against the fraction of its rows
  that are positive (multiclass: the top-label probability against the fraction whose top label is
  right), with the diagonal of perfect calibration; under it, how many rows each bin holds.
- "Fit a temperature": on rows that are *not* the rows Evaluate scores next (a training run's
  validation rows, or a calibration file you pick). The fitted T's before and after curves are
  overlaid on those rows; "Save calibrated checkpoint…" writes the model with T, and evaluations
  then apply it.

The panel renders what the core computed (``CalibrationReport``, ``CalibrationRun``) and emits intent:
``fit_requested(source)`` (``"validation"`` or a CSV path) and ``save_requested(path)``.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews calibration``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from evalstudio.gui.evaluation._curve_plot import style_plot

BEFORE = (0, 114, 178)  # Okabe-Ito blue
AFTER = (213, 94, 0)  # vermillion
EVALUATED = (60, 60, 60)


def _centres(bins: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean predicted, fraction positive, count) of the non-empty bins."""
    full = [b for b in bins if b.count]
    return (np.array([b.mean_predicted for b in full]), np.array([b.fraction_positive for b in full]),
            np.array([b.count for b in full], dtype=float))


class CalibrationPanel(QWidget):
    """Reliability diagram, histogram of predicted probabilities, Brier and ECE, and the temperature fit.

    Signals
    -------
    fit_requested(str) : fit a temperature on "validation" rows or on the CSV at this path
    save_requested(str) : write the calibrated checkpoint to this path
    """

    fit_requested = Signal(str)
    save_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._report: Any = None  # CalibrationReport of the evaluated rows
        self._run: Any = None  # CalibrationRun of the last fit
        self._run_reports: tuple[Any, Any] | None = None  # its before / after CalibrationReports
        self._sources: list[tuple[str, str, bool, str]] = []
        self._title_text = ""
        self._run_where = ""
        self._user_chose = False  # keep the user's choice of rows to fit on across refreshes

        self.title = QLabel("No evaluation yet.")
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.scores = QLabel("")
        self.scores.setWordWrap(True)
        self.shown = QComboBox()
        self.shown.setToolTip("Which rows the diagram shows.")
        self.shown.currentIndexChanged.connect(self._redraw)

        self.diagram = pg.PlotWidget(background="w")
        pi = style_plot(self.diagram, "Mean predicted probability", "Fraction positive")
        pi.setXRange(0, 1, padding=0.02)
        pi.setYRange(0, 1, padding=0.02)
        pi.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine),
                name="perfectly calibrated")
        legend = pi.addLegend(offset=(10, 10), labelTextColor="k")
        legend.setBrush(pg.mkBrush(255, 255, 255, 235))
        legend.setPen(pg.mkPen(190, 190, 190))
        self.curve = pi.plot([], [], pen=pg.mkPen(BEFORE, width=2), symbol="o", symbolSize=8,
                             symbolBrush=pg.mkBrush(*BEFORE), symbolPen=None, name="rows shown")
        self.curve_after = pi.plot([], [], pen=pg.mkPen(AFTER, width=2), symbol="s", symbolSize=8,
                                   symbolBrush=pg.mkBrush(*AFTER), symbolPen=None, name="after T")
        self.histogram = pg.PlotWidget(background="w")
        hi = style_plot(self.histogram, "Predicted probability", "Rows")
        hi.setXLink(pi)
        hi.getAxis("left").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.09, brush=pg.mkBrush(*BEFORE, 150), pen=None)
        self.bars_after = pg.BarGraphItem(x=[], height=[], width=0.09, brush=pg.mkBrush(0, 0, 0, 0),
                                          pen=pg.mkPen(AFTER, width=2))
        hi.addItem(self.bars)
        hi.addItem(self.bars_after)
        self.histogram.setMaximumHeight(150)
        self.histogram.setMinimumHeight(90)
        self.diagram.setMinimumHeight(180)

        self.source = QComboBox()
        self.fit_button = QPushButton("Fit temperature")
        self.fit_button.clicked.connect(self._on_fit)
        self.fit_note = QLabel("")
        self.fit_note.setWordWrap(True)
        self.fit_result = QLabel("")
        self.fit_result.setWordWrap(True)
        self.save_button = QPushButton("Save calibrated checkpoint…")
        self.save_button.setEnabled(False)
        self.save_button.setToolTip("Write the model with this temperature; evaluations then apply it.")
        self.save_button.clicked.connect(self._on_save)
        self.source.currentIndexChanged.connect(self._on_source_changed)
        self.source.activated.connect(self._on_source_picked)

        box = QGroupBox("Fit a temperature")
        grid = QGridLayout(box)
        grid.addWidget(QLabel("On"), 0, 0)
        grid.addWidget(self.source, 0, 1)
        grid.addWidget(self.fit_button, 0, 2)
        grid.addWidget(self.fit_note, 1, 0, 1, 3)
        grid.addWidget(self.fit_result, 2, 0, 1, 3)
        grid.addWidget(self.save_button, 3, 2)
        grid.setColumnStretch(1, 1)

        top = QHBoxLayout()
        top.addWidget(QLabel("Rows shown"))
        top.addWidget(self.shown, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.scores)
        layout.addLayout(top)
        layout.addWidget(self.diagram, 3)
        layout.addWidget(self.histogram, 1)
        layout.addWidget(box)
        self.set_sources([])
        self._redraw()

    # ------------------------------------------------------------------ state in

    def set_report(self, report: Any, *, title: str, temperature: float | None = None) -> None:
        """The calibration (the core's ``CalibrationReport``) of the evaluated rows."""
        self._report = report
        what = "the positive class's probability" if report.kind == "positive" else "the top-label probability"
        applied = f"; temperature {temperature:.4g} from the checkpoint applied" if temperature else ""
        self._title_text = f"Calibration of {title} ({what}{applied})"
        self._refresh_choices(prefer_calibration=False)

    def set_sources(self, sources: list[tuple[str, str, bool, str]]) -> None:
        """Where a temperature may be fitted: ``(key, label, enabled, why not)``; key "validation" or "file"."""
        self._sources = list(sources) + [("file", "A calibration file…", True, "")]
        current = self.source.currentData()
        self.source.blockSignals(True)
        self.source.clear()
        for key, label, _, _ in self._sources:
            self.source.addItem(label, key)
        index = self.source.findData(current) if self._user_chose else -1
        # The training run's validation rows come first, even when they may not be used now: the
        # note below says why, which a silently chosen file option would not.
        self.source.setCurrentIndex(max(index, 0))
        self.source.blockSignals(False)
        self._on_source_changed()

    def set_fit_running(self, running: bool) -> None:
        self.fit_button.setEnabled(not running and self._source_enabled())
        if running:
            self.fit_result.setText("Fitting…")

    def set_fit(self, run: Any, before: Any, after: Any, *, where: str) -> None:
        """A fitted temperature (the core's ``CalibrationRun``) and the calibration rows' reports."""
        self._run, self._run_reports = run, (before, after)
        self._run_where = where
        t = run.fit.temperature
        b, a = run.before, run.after
        bound = " (at the end of its range: these rows ask for an extreme temperature)" if run.fit.at_bound else ""
        self.fit_result.setText(
            f"T = {t:.4f}{bound}, fitted on {run.fit.n_samples:,} rows ({where}). On those rows: log loss "
            f"{b['log_loss']:.4f} → {a['log_loss']:.4f}, Brier {b['brier']:.4f} → {a['brier']:.4f}, ECE "
            f"{b['ece']:.4f} → {a['ece']:.4f}. Decisions at 0.5 and the ranking do not change.")
        self.save_button.setEnabled(True)
        self.fit_button.setEnabled(self._source_enabled())
        self._refresh_choices(prefer_calibration=True)

    def set_fit_failed(self, message: str) -> None:
        self.fit_result.setText(f"The temperature could not be fitted: {message}")
        self.fit_button.setEnabled(self._source_enabled())

    def clear(self) -> None:
        self._report, self._run, self._run_reports = None, None, None
        self._title_text = ""
        self.fit_result.setText("")
        self.save_button.setEnabled(False)
        self._refresh_choices(prefer_calibration=False)

    # ------------------------------------------------------------------ read back (tests)

    @property
    def report(self) -> Any:
        return self._report

    @property
    def run(self) -> Any:
        return self._run

    def curve_points(self, which: str = "shown") -> tuple[np.ndarray, np.ndarray]:
        item = self.curve if which == "shown" else self.curve_after
        x, y = item.getData()
        return (np.asarray(x if x is not None else []), np.asarray(y if y is not None else []))

    # ------------------------------------------------------------------ drawing

    def _refresh_choices(self, *, prefer_calibration: bool) -> None:
        self.shown.blockSignals(True)
        self.shown.clear()
        if self._report is not None:
            self.shown.addItem("The evaluated rows", "evaluated")
        if self._run is not None:
            self.shown.addItem(f"The calibration rows ({self._run_where}), before and after T", "calibration")
        if prefer_calibration and self._run is not None:
            self.shown.setCurrentIndex(self.shown.count() - 1)
        self.shown.blockSignals(False)
        self._redraw()

    @Slot()
    def _redraw(self) -> None:
        which = self.shown.currentData()
        before = after = None
        if which == "calibration" and self._run_reports is not None:
            before, after = self._run_reports
            self.title.setText(f"Calibration of the {self._run.fit.n_samples:,} rows the temperature was fitted on "
                               f"({self._run_where}), before and after T = {self._run.fit.temperature:.4g}")
        elif self._report is not None:
            before = self._report
            self.title.setText(self._title_text)
        else:
            self.title.setText("No evaluation yet.")
        for item, bars, rep in ((self.curve, self.bars, before), (self.curve_after, self.bars_after, after)):
            if rep is None:
                item.setData([], [])
                bars.setOpts(x=[], height=[])
                continue
            x, y, _ = _centres(rep.bins)
            item.setData(x, y)
            centres = np.array([(b.low + b.high) / 2 for b in rep.bins])
            bars.setOpts(x=centres, height=np.array([b.count for b in rep.bins], dtype=float),
                         width=0.9 * (rep.bins[0].high - rep.bins[0].low))
        self.curve.opts["name"] = "before T" if after is not None else "rows shown"
        legend = self.diagram.getPlotItem().legend
        if legend is not None:
            for sample, label in legend.items:
                if sample.item is self.curve:
                    label.setText("before T" if after is not None else "rows shown")
            self.curve_after.setVisible(after is not None)
        if before is None:
            self.scores.setText("")
            return
        line = f"Brier {before.brier:.4f}, ECE {before.ece:.4f}"
        if after is not None:
            line = f"Before T: {line}.  After T: Brier {after.brier:.4f}, ECE {after.ece:.4f}."
        y_label = "Fraction positive" if before.kind == "positive" else "Fraction whose top label is right"
        self.diagram.getPlotItem().setLabel("left", y_label)
        self.scores.setText(line + f"  ({before.n_bins} equal-width bins; the bars below count the rows in each.)")

    # ------------------------------------------------------------------ intent

    def _source_enabled(self) -> bool:
        i = self.source.currentIndex()
        return 0 <= i < len(self._sources) and self._sources[i][2]

    @Slot(int)
    def _on_source_picked(self, _index: int) -> None:
        self._user_chose = True

    @Slot()
    def _on_source_changed(self) -> None:
        i = self.source.currentIndex()
        why = self._sources[i][3] if 0 <= i < len(self._sources) else ""
        self.fit_button.setEnabled(self._source_enabled())
        self.fit_note.setText(why or "Fit on rows that neither trained the model nor will judge it: fitting on the "
                              "rows you evaluate would flatter their log loss and calibration error.")

    @Slot()
    def _on_fit(self) -> None:
        key = self.source.currentData()
        if key == "file":
            path, _ = QFileDialog.getOpenFileName(self, "Calibration rows (CSV)", "", "CSV files (*.csv *.tsv *.txt);;All files (*)")
            if not path:
                return
            self.fit_requested.emit(path)
        elif key:
            self.fit_requested.emit(str(key))

    @Slot()
    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save calibrated checkpoint", "calibrated.pt",
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.save_requested.emit(path)
