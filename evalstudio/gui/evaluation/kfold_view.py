"""KFoldPanel: folds appear as they finish; then ROC per fold and the pooled evaluation.

- "Folds": a row per fold and a column per metric, with a mean +/- std row from the core's summary
  (:func:`evalstudio.core.training.kfold.summarize`, the same function that fills
  ``CVResult.summary``), a per-fold chart of a chosen metric, and every fold's training curves overlaid.
- "ROC per fold": each fold's ROC, the mean curve with a +/- 1 std band, AUC mean +/- std
  (:func:`evalstudio.core.evaluation.curves.mean_roc_curve`).
- "Pooled out-of-fold": the same confusion matrix, slider and curves as a held-out evaluation.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews kfold``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from evalstudio.core.evaluation.report import METRIC_LABELS, auc_band
from evalstudio.core.training.results import CVResult, FoldResult
from evalstudio.gui.axes import cached_horizontal_grid, whole_number_axes
from evalstudio.gui.evaluation import _core
from evalstudio.gui.evaluation._curve_plot import PALETTE, CurvePlot, style_plot
from evalstudio.gui.evaluation.metrics_view import format_value, interval_text, number_item
from evalstudio.gui.evaluation.panel import EvaluationPanel

FOLD_METRICS = tuple(METRIC_LABELS)
FOLD_CONFIDENCE = 0.95


def mean_std_text(stats: dict[str, float] | None) -> str:
    """``"0.8123 ± 0.0210"`` (``n/a`` when undefined)."""
    if not stats:
        return "n/a"
    return f"{format_value(stats.get('mean'))} ± {format_value(stats.get('std'))}"


def _plot(x_label: str, y_label: str, *, legend: bool = True, whole_x: bool = False) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w", axisItems=whole_number_axes("bottom") if whole_x else None)
    pi = style_plot(w, x_label, y_label)
    cached_horizontal_grid(w, 0.25)  # repainted after every fold while the next one trains
    pi.getAxis("left").enableAutoSIPrefix(False)
    if legend:
        box = pi.addLegend(offset=(-10, 10), labelTextColor="k")
        box.setBrush(pg.mkBrush(255, 255, 255, 235))
        box.setPen(pg.mkPen(190, 190, 190))
    return w


def _pooled_features(
    row_numbers: np.ndarray, features: np.ndarray | None, names: Sequence[str], feature_rows: np.ndarray | None
) -> dict[str, object]:
    """``features=`` / ``feature_names=`` for the pooled panel, in the pooled rows' order (or nothing)."""
    if features is None:
        return {}
    rows = np.arange(1, features.shape[0] + 1) if feature_rows is None else np.asarray(feature_rows)
    order = np.argsort(rows, kind="stable")
    at = np.searchsorted(rows[order], row_numbers)
    at = np.clip(at, 0, max(rows.size - 1, 0))
    if rows.size == 0 or not np.array_equal(rows[order][at], row_numbers):
        return {}  # not the dataset these predictions came from: no features rather than wrong ones
    return {"features": features[order[at]], "feature_names": tuple(names)}


class KFoldPanel(QWidget):
    """Live k-fold results, their summary, ROC per fold and the pooled evaluation."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folds: list[FoldResult] = []
        self._n_folds = 0
        self._classes: tuple[str, ...] = ()
        self._positive = 1
        self._summary: dict[str, dict[str, float]] = {}
        self._fold_intervals: dict[str, tuple[float, float]] = {}
        self._cv: CVResult | None = None

        self.status = QLabel("No cross-validation yet.")
        self.table = QTableWidget(0, 0)
        # Widths are set once per run for the widest text a cell will hold: ResizeToContents
        # measured every row again at each of a fold's 34 cell updates (~30 ms a fold, more
        # while the next fold trains in the worker).
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.metric_choice = QComboBox()
        for key in FOLD_METRICS:
            self.metric_choice.addItem(METRIC_LABELS[key], key)
        self.metric_choice.currentIndexChanged.connect(self._draw_fold_chart)

        self.fold_chart = _plot("Fold", "Accuracy", legend=False, whole_x=True)
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush=pg.mkBrush(0, 114, 178, 200))
        self.fold_chart.getPlotItem().addItem(self._bars)
        self._mean_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((213, 94, 0), width=2, style=Qt.PenStyle.DashLine))
        self._mean_line.hide()
        self.fold_chart.getPlotItem().addItem(self._mean_line)
        self.curves_plot = _plot("Epoch", "Training loss", whole_x=True)
        self.curves_plot.getPlotItem().enableAutoRange(x=False, y=False)  # set from the data (_add_training_curves)
        # One (train, validation) pair per fold, made when the run starts (the legend's layout
        # is the costly part); a finished fold only feeds its pair. _curve_items: the pairs in use.
        self._curve_pool: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        self._curve_items: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        self._loss_range: tuple[float, float] | None = None
        for plot in (self.fold_chart, self.curves_plot):
            # Their epoch / fold axes keep one range for a run: a cached axis repaints for free.
            plot.getAxis("bottom").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

        self.roc = CurvePlot("False positive rate", "True positive rate")
        self.roc.point.hide()
        roc_pi = self.roc.plot.getPlotItem()
        roc_pi.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self._band_hi = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self._band_lo = pg.PlotDataItem([], [], pen=pg.mkPen(None))
        self._band = pg.FillBetweenItem(self._band_lo, self._band_hi, brush=pg.mkBrush(0, 0, 0, 35))
        roc_pi.addItem(self._band)
        self.roc_caption = QLabel("")

        self.pooled = EvaluationPanel()

        chart_row = QHBoxLayout()
        chart_row.addWidget(QLabel("Chart metric"))
        chart_row.addWidget(self.metric_choice)
        chart_row.addStretch(1)
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.fold_chart)
        charts.addWidget(self.curves_plot)
        folds_page = QWidget()
        fl = QVBoxLayout(folds_page)
        fl.addWidget(self.table, 2)
        fl.addLayout(chart_row)
        fl.addWidget(charts, 3)
        roc_page = QWidget()
        rl = QVBoxLayout(roc_page)
        rl.addWidget(self.roc_caption)
        rl.addWidget(self.roc, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(folds_page, "Folds")
        self.tabs.addTab(roc_page, "ROC per fold")
        self.tabs.addTab(self.pooled, "Pooled out-of-fold")
        from evalstudio.gui.evaluation.export import export_button

        self.export_button = export_button(self, [
            ("Per-fold table…", "folds", "CSV (*.csv);;JSON (*.json)"),
            ("Per-fold chart…", "plot:folds", "PNG (*.png);;SVG (*.svg)"),
            ("Training curves…", "plot:curves", "PNG (*.png);;SVG (*.svg)"),
            ("ROC per fold…", "plot:roc", "PNG (*.png);;SVG (*.svg)"),
        ], self._export)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

    # ------------------------------------------------------------------ state in

    @property
    def folds(self) -> tuple[FoldResult, ...]:
        return tuple(self._folds)

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        """The summary the mean +/- std row shows."""
        return dict(self._summary)

    def start(self, n_folds: int, classes: Sequence[str], *, positive: int = 1) -> None:
        """A new run of ``n_folds`` folds: empty rows wait for their folds."""
        self._folds = []
        self._n_folds = int(n_folds)
        self._classes = tuple(classes)
        self._positive = positive
        self._summary = {}
        self._fold_intervals = {}
        self._cv = None
        self.table.clear()
        headers = ["Rows"] + [METRIC_LABELS[k] for k in FOLD_METRICS]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(self._n_folds + 2)
        self.table.setVerticalHeaderLabels([f"Fold {i + 1}" for i in range(self._n_folds)]
                                           + ["mean ± std", f"{FOLD_CONFIDENCE * 100:g}% interval of the mean"])
        header = self.table.verticalHeaderItem(self._n_folds + 1)
        if header is not None:
            header.setToolTip("Student's t interval of the mean over the folds. The folds share training rows, "
                              "so it leans optimistic; the pooled out-of-fold tab has bootstrap intervals.")
        for r in range(self._n_folds + 2):
            for c in range(len(headers)):
                self.table.setItem(r, c, number_item("…" if r < self._n_folds else "", bold=r == self._n_folds))
        self._size_table_columns(headers)
        self._prepare_curves(self._n_folds)
        self._band_hi.setData([], [])
        self._band_lo.setData([], [])
        self.roc_caption.setText("ROC per fold appears when every fold has finished.")
        self._fit_table_height()
        self.pooled.clear()
        self.tabs.setCurrentIndex(0)
        self._draw_fold_chart()
        self.status.setText(f"Cross-validation: 0 of {n_folds} folds done.")

    def _size_table_columns(self, headers: Sequence[str]) -> None:
        """Each column as wide as its header or the widest value it will show ("0.8123 ± 0.0210")."""
        header, cells = self.table.horizontalHeader(), self.table.fontMetrics()
        bold = QFont(self.table.font())
        bold.setBold(True)
        widest = max(cells.horizontalAdvance("0.0000"), QFontMetrics(bold).horizontalAdvance("0.0000 ± 0.0000"))
        rows = QFontMetrics(bold).horizontalAdvance("0000000")
        for c, text in enumerate(headers):
            value = rows if c == 0 else widest
            self.table.setColumnWidth(c, max(header.fontMetrics().horizontalAdvance(text) + 16, value + 14))

    def _prepare_curves(self, k: int) -> None:
        """Curve items for ``k`` folds, made now (not as folds land): training curves and ROC."""
        pi = self.curves_plot.getPlotItem()
        for train, held in self._curve_items:
            train.setData([], [])
            held.setData([], [])
        self._curve_items = []
        self._loss_range = None
        if len(self._curve_pool) != k:
            for train, held in self._curve_pool:
                pi.removeItem(train)
                pi.removeItem(held)
            self._curve_pool = []
            for fold in range(1, k + 1):
                colour = PALETTE[(fold - 1) % len(PALETTE)]
                train = pi.plot([], [], pen=pg.mkPen(colour, width=2), name=f"fold {fold}")
                held = pi.plot([], [], pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine))
                self._curve_pool.append((train, held))
        names = [f"fold {i}" for i in range(1, k + 1)] + (["mean"] if k else [])
        if len(self.roc.curves) != len(names):
            self.roc.set_curve_names(names, dashed=[False] * k + [True])
        else:
            for i, name in enumerate(names):
                self.roc.set_curve(i, np.zeros(0), np.zeros(0), name=name)

    def _fit_table_height(self) -> None:
        """As tall as its rows (up to 12), so the charts below get the rest of the space."""
        t = self.table
        rows = min(t.rowCount(), 13)
        height = t.horizontalHeader().sizeHint().height() + rows * t.verticalHeader().defaultSectionSize()
        t.setMaximumHeight(height + t.horizontalScrollBar().sizeHint().height() + 2 * t.frameWidth() + 4)

    def add_fold(self, fold: FoldResult) -> None:
        """Show a finished fold (its row, its bar, its training curves) and the running summary."""
        from evalstudio.core.training.kfold import summarize

        if self._n_folds == 0 or fold.fold > self._n_folds:
            self.start(max(fold.fold, self._n_folds), fold.predictions.classes)
        self._folds = [f for f in self._folds if f.fold != fold.fold] + [fold]
        self._folds.sort(key=lambda f: f.fold)
        row = fold.fold - 1
        self.table.item(row, 0).setText(str(fold.n_test))
        for c, key in enumerate(FOLD_METRICS, start=1):
            self.table.item(row, c).setText(format_value(fold.metrics.get(key)))
        # The same summary function as CVResult.summary, over the folds done so far.
        self._set_summary(summarize([f.metrics for f in self._folds]))  # draws the fold chart too
        self._add_training_curves(fold)
        self.status.setText(f"Cross-validation: {len(self._folds)} of {self._n_folds} folds done.")

    def set_result(
        self,
        cv: CVResult,
        *,
        features: np.ndarray | None = None,
        feature_names: Sequence[str] = (),
        feature_rows: np.ndarray | None = None,
    ) -> None:
        """The finished run: the core's summary, ROC per fold, the pooled evaluation.

        ``features`` (n_rows, n_features) of the dataset the folds were cut from, with that
        dataset's ``feature_rows`` (file row numbers, ``Dataset.row_numbers``), fill the pooled rows
        table: each pooled prediction is matched to its row by row number.
        """
        self._cv = cv
        if len(self._folds) != len(cv.folds) or self._n_folds != len(cv.folds):
            self.start(len(cv.folds), cv.pooled_predictions.classes, positive=self._positive)
            for f in cv.folds:
                self.add_fold(f)
        self._set_summary(cv.summary)
        self._draw_roc(cv)
        k = len(cv.folds)
        self.pooled.set_predictions(
            cv.pooled_predictions,
            title=f"Pooled out-of-fold predictions: {cv.pooled_predictions.n_samples} rows, {k} folds",
            positive=self._positive,
            **_pooled_features(cv.pooled_predictions.row_numbers, features, feature_names, feature_rows),
        )
        self.status.setText(f"Cross-validation: {k} folds done.")

    def clear(self) -> None:
        self.start(0, ())
        self.status.setText("No cross-validation yet.")

    # ------------------------------------------------------------------ drawing

    def _set_summary(self, summary: dict[str, dict[str, float]]) -> None:
        self._summary = dict(summary)
        r = self._n_folds
        rows = [f.n_test for f in self._folds]
        self.table.item(r, 0).setText(str(sum(rows)) if rows else "")
        intervals = _core.fold_intervals([f.metrics for f in self._folds], FOLD_CONFIDENCE)
        self._fold_intervals = intervals
        for c, key in enumerate(FOLD_METRICS, start=1):
            self.table.item(r, c).setText(mean_std_text(summary.get(key)) if key in summary else "")
            self.table.item(r + 1, c).setText(interval_text(intervals.get(key)) if len(self._folds) > 1 else "")
        self._draw_fold_chart()

    def mean_row_texts(self) -> dict[str, str]:
        """metric key -> the text of the mean +/- std row (for tests and export)."""
        r = self._n_folds
        return {key: self.table.item(r, c).text() for c, key in enumerate(FOLD_METRICS, start=1)}

    def interval_row_texts(self) -> dict[str, str]:
        """metric key -> the text of the interval-of-the-mean row."""
        r = self._n_folds + 1
        return {key: self.table.item(r, c).text() for c, key in enumerate(FOLD_METRICS, start=1)}

    def fold_rows(self) -> tuple[list[str], list[list[object]]]:
        """The per-fold table as raw values (for CSV / JSON export)."""
        header = ["fold", "n_test", *FOLD_METRICS]
        rows: list[list[object]] = [[f.fold, f.n_test, *(f.metrics.get(k) for k in FOLD_METRICS)] for f in self._folds]
        for stat in ("mean", "std"):
            rows.append([stat, None, *(self._summary.get(k, {}).get(stat) for k in FOLD_METRICS)])
        for i, stat in enumerate(("mean_interval_low", "mean_interval_high")):
            rows.append([stat, None, *(self._fold_intervals.get(k, (None, None))[i] for k in FOLD_METRICS)])
        return header, rows

    def export_folds(self, path) -> object:
        from evalstudio.gui.evaluation.export import write_table

        return write_table(path, *self.fold_rows())

    def export_plot(self, name: str, path) -> object:
        """Plot ``name`` ("folds", "curves" or "roc") to a .png or .svg file."""
        from evalstudio.core.errors import EvalStudioError
        from evalstudio.gui.evaluation.export import export_plot

        plots = {"folds": self.fold_chart, "curves": self.curves_plot, "roc": self.roc.plot}
        if name not in plots:
            raise EvalStudioError(f"unknown plot {name!r}.", hint="Use one of: folds, curves, roc.")
        return export_plot(plots[name], path)

    def _export(self, key: str, path: str) -> None:
        if key == "folds":
            self.export_folds(path)
        else:
            self.export_plot(key.split(":", 1)[1], path)

    @Slot()
    def _draw_fold_chart(self) -> None:
        key = self.metric_choice.currentData() or FOLD_METRICS[0]
        pi = self.fold_chart.getPlotItem()
        pi.setLabel("left", METRIC_LABELS.get(key, key))
        xs = [f.fold for f in self._folds]
        hs = [float(f.metrics.get(key, np.nan)) for f in self._folds]
        self._bars.setOpts(x=xs, height=np.nan_to_num(hs), width=0.6)
        stats = self._summary.get(key)
        if stats and np.isfinite(stats.get("mean", np.nan)):
            self._mean_line.setPos(stats["mean"])
            self._mean_line.show()
        else:
            self._mean_line.hide()
        # Ranges and ticks change only when they must: each change re-lays the axis out and
        # repaints it (the costly part of a fold's update while the next fold trains).
        x_range = (0.4, max(self._n_folds, 1) + 0.6)
        upper = max([h for h in hs if np.isfinite(h)] + [1.0 if key != "log_loss" else 0.1])
        y_range = (min(0.0, *[h for h in hs if np.isfinite(h)] or [0.0]), upper * 1.05)
        if (x_range, y_range) != getattr(self, "_chart_ranges", None):
            self._chart_ranges = (x_range, y_range)
            pi.setXRange(*x_range, padding=0)
            pi.setYRange(*y_range, padding=0)
        ticks = [[(i, str(i)) for i in range(1, max(self._n_folds, 1) + 1)], []]
        if ticks != getattr(self, "_chart_ticks", None):
            self._chart_ticks = ticks
            pi.getAxis("bottom").setTicks(ticks)

    def _add_training_curves(self, fold: FoldResult) -> None:
        pi = self.curves_plot.getPlotItem()
        if len(self._curve_pool) < fold.fold:  # a fold beyond the run's count (not from start())
            self._prepare_curves(fold.fold)
        train, held = self._curve_pool[fold.fold - 1]
        epochs = np.array([m.epoch for m in fold.history], dtype=float)
        losses = np.array([m.train_loss for m in fold.history], dtype=float)
        train.setData(epochs, losses)
        val = [m.val_loss for m in fold.history]
        if all(v is not None for v in val) and val:
            held.setData(epochs, np.array(val, dtype=float))
            losses = np.concatenate([losses, np.array(val, dtype=float)])
            # Each fold's own validation split (inside its training rows), not the fold's test rows.
            pi.setLabel("left", "Loss (solid: train, dashed: validation)")
        if (train, held) not in self._curve_items:
            self._curve_items.append((train, held))
        # The axes follow the data, set here (auto-range would find them while painting, twice).
        finite = losses[np.isfinite(losses)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            old = self._loss_range
            new = (lo, hi) if old is None else (min(lo, old[0]), max(hi, old[1]))
            if new != old:
                self._loss_range = new
                pi.setYRange(new[0], new[1] if new[1] > new[0] else new[0] + 1e-3, padding=0.05)
        if epochs.size and pi.getViewBox().viewRange()[0] != [0.5, float(epochs.max()) + 0.5]:
            pi.setXRange(0.5, float(epochs.max()) + 0.5, padding=0)

    def _draw_roc(self, cv: CVResult) -> None:
        tables = [_core.binary_table(f.predictions, self._positive) if f.predictions.task == "binary"
                  else None for f in cv.folds]
        if len(self.roc.curves) != len(cv.folds) + 1:  # made by start() for a live run
            self.roc.set_curve_names([f"fold {f.fold}" for f in cv.folds] + ["mean"],
                                     dashed=[False] * len(cv.folds) + [True])
        for i, f in enumerate(cv.folds):
            if tables[i] is not None:
                fpr, tpr, _ = _core.roc_points(tables[i])
                auc = tables[i].roc_auc
            else:  # multiclass: the fold's macro one-vs-rest ROC
                m = _core.macro_roc(f.predictions)
                fpr, tpr, auc = m.fpr, m.tpr_mean, m.auc_mean
            self.roc.set_curve(i, fpr, tpr, name=f"fold {f.fold}: AUC {format_value(auc)}")
            self.roc.curves[i].setPen(pg.mkPen(PALETTE[i % len(PALETTE)], width=1))
        if all(t is not None for t in tables):
            mean = _core.mean_roc(tables)
            over = f"{len(cv.folds)} folds"
        else:  # multiclass: every fold's one-vs-rest curves together
            classes = range(cv.pooled_predictions.n_classes)
            mean = _core.mean_roc([_core.ovr_table(f.predictions, k) for f in cv.folds for k in classes])
            over = f"{len(cv.folds)} folds x {len(classes)} classes (one vs rest)"
        self.roc.curves[-1].setPen(pg.mkPen((0, 0, 0), width=3, style=Qt.PenStyle.DashLine))
        label = f"mean: AUC {mean.auc_mean:.3f} ± {mean.auc_std:.3f} ({auc_band(mean.auc_mean)})"
        self.roc.set_curve(len(cv.folds), mean.fpr, mean.tpr_mean, name=label)
        self._band_hi.setData(mean.fpr, np.clip(mean.tpr_mean + mean.tpr_std, 0, 1))
        self._band_lo.setData(mean.fpr, np.clip(mean.tpr_mean - mean.tpr_std, 0, 1))
        self.roc_caption.setText(
            f"ROC of each fold's held-out rows; mean AUC {mean.auc_mean:.3f} ± {mean.auc_std:.3f} "
            f"over {over}; the band is ± 1 std of the true positive rate."
        )

    @property
    def mean_roc_label(self) -> str:
        return self.roc.legend_texts()[-1] if self.roc.curves else ""
