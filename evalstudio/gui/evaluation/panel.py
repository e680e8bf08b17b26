"""EvaluationPanel: one decision threshold driving the matrix, the metrics and both curves.

Binary: the slider (or the entry, a suggestion button, or dragging the point on either curve)
sets the threshold; while dragging, the matrix and the threshold metrics come from the core's
threshold table (a binary search, no recount), so even a million rows follow the mouse; on
release the full report is computed. Multiclass: the argmax matrix and report, plus a
one-vs-rest tab whose threshold applies to a chosen class's score.

Clicking a cell, a row or a column of a matrix lists exactly those rows below.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews panel [--multiclass]``.
"""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from evalstudio.core.evaluation.predictions import Predictions
from evalstudio.gui.evaluation import _core
from evalstudio.gui.evaluation.confusion_view import ConfusionMatrixView
from evalstudio.gui.evaluation.metrics_view import MetricsView
from evalstudio.gui.evaluation.panel_export import PanelExportMixin
from evalstudio.gui.evaluation.pr_view import PrecisionRecallView
from evalstudio.gui.evaluation.roc_view import RocView
from evalstudio.gui.evaluation.rows_table import RowsTableModel, RowsView
from evalstudio.gui.evaluation.threshold_bar import ThresholdBar


class EvaluationPanel(PanelExportMixin, QWidget):
    """Confusion matrix, threshold, metrics, ROC, PR and the rows of a chosen cell.

    Signals
    -------
    threshold_changed(float) : the decision threshold moved (binary, or one-vs-rest class)
    export_failed(str) : an export from the Export menu could not be written (message for a person)
    intervals_requested(float) : the threshold was released where the intervals shown have no
        lookup (too many rows to keep every resample's counts): compute them at this threshold
    """

    threshold_changed = Signal(float)
    export_failed = Signal(str)
    intervals_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pred: Predictions | None = None
        self._features: np.ndarray | None = None
        self._feature_names: tuple[str, ...] = ()
        self._loss: np.ndarray | None = None
        self._positive = 1  # binary: positive class index; multiclass: the one-vs-rest class
        self._threshold = 0.5
        self._table = None  # the core's ThresholdTable for the thresholded score
        self._ovr_tables: list = []
        self._report = None  # the core's EvaluationReport at the current threshold
        self._base_report = None  # binary: the full report the slider re-thresholds
        self._selection: tuple[str, int | None, int | None] | None = None
        self._title = ""
        self._intervals = None  # the core's BootstrapIntervals of these predictions, when computed

        self.title_label = QLabel("No evaluation yet.")
        self.title_label.setStyleSheet("font-weight: bold;")
        self.confusion = ConfusionMatrixView()
        self.ovr_confusion = ConfusionMatrixView()
        self.ovr_class = QComboBox()
        self.ovr_class.setToolTip("The class whose score the threshold applies to (one vs rest).")
        self.ovr_metrics = QLabel("")
        self.ovr_metrics.setWordWrap(True)
        ovr_page = QWidget()
        ovr_layout = QVBoxLayout(ovr_page)
        ovr_row = QHBoxLayout()
        ovr_row.addWidget(QLabel("Class"))
        ovr_row.addWidget(self.ovr_class, 1)
        ovr_layout.addLayout(ovr_row)
        ovr_layout.addWidget(self.ovr_confusion, 1)
        ovr_layout.addWidget(self.ovr_metrics)
        self.metrics = MetricsView()
        self.matrix_tabs = QTabWidget()
        self.matrix_tabs.addTab(self.confusion, "Confusion matrix")
        self.matrix_tabs.addTab(ovr_page, "One vs rest")
        self.threshold_bar = ThresholdBar()
        self.roc = RocView()
        self.pr = PrecisionRecallView()
        self.curve_tabs = QTabWidget()
        self.curve_tabs.addTab(self.roc, "ROC")
        self.curve_tabs.addTab(self.pr, "Precision-recall")
        self.rows = RowsView()

        # The per-class table sits under the matrix whose rows it describes, so the metrics
        # column has the height for every metric (6 of ~15 showed at 1366x768 beside it).
        matrix_column = QWidget()
        matrix_layout = QVBoxLayout(matrix_column)
        matrix_layout.setContentsMargins(0, 0, 0, 0)
        matrix_layout.addWidget(self.matrix_tabs, 1)
        matrix_layout.addWidget(self.metrics.per_class_box)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(matrix_column)
        top.addWidget(self.curve_tabs)
        top.addWidget(self.metrics)
        self.metrics.setMinimumWidth(300)  # the value and its interval
        top.setStretchFactor(0, 4)
        top.setStretchFactor(1, 4)
        top.setStretchFactor(2, 2)
        # Start proportions (Qt scales them to the width there is): the metrics column gets room
        # for the per-class table's five columns on a wide window, less on a laptop.
        top.setSizes([380, 380, 360])
        self._top_splitter = top
        # The threshold drives every view above it, so it spans the full width beneath them.
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addWidget(top, 1)
        upper_layout.addWidget(self.threshold_bar)
        # The rows of a chosen cell get real room (two rows showed at 1366x768); the user drags the
        # handle, and the window remembers where (layout_state / restore_layout_state).
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(upper)
        main.addWidget(self.rows)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setChildrenCollapsible(False)
        self.rows.setMinimumHeight(3 * self.rows.table.verticalHeader().defaultSectionSize() + 60)
        main.setSizes([600, 300])
        self._main_splitter = main
        header = QHBoxLayout()
        header.addWidget(self.title_label, 1)
        header.addWidget(self.make_export_button())
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(main, 1)

        self.threshold_bar.threshold_changed.connect(self._on_threshold_moving)
        self.threshold_bar.threshold_committed.connect(self._on_threshold_committed)
        self.threshold_bar.costs_changed.connect(self._on_costs)
        for plot in (self.roc, self.pr):
            plot.threshold_dragged.connect(self._on_curve_dragged)
            plot.threshold_drag_finished.connect(self._on_threshold_committed)
        self.confusion.cell_clicked.connect(self._on_cell_clicked)
        self.ovr_confusion.cell_clicked.connect(self._on_ovr_cell_clicked)
        self.ovr_class.currentIndexChanged.connect(self._on_ovr_class)
        self.clear()

    # ------------------------------------------------------------------ layout the user chose

    def layout_state(self) -> dict[str, bytes]:
        """The splitters' positions as the user left them (the window keeps them in its settings)."""
        return {"rows": bytes(self._main_splitter.saveState().data()),
                "columns": bytes(self._top_splitter.saveState().data())}

    def restore_layout_state(self, state: dict[str, bytes]) -> None:
        from PySide6.QtCore import QByteArray

        for key, splitter in (("rows", self._main_splitter), ("columns", self._top_splitter)):
            if state.get(key):
                splitter.restoreState(QByteArray(state[key]))

    # ------------------------------------------------------------------ state in

    @property
    def predictions(self) -> Predictions | None:
        return self._pred

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def report(self):
        """The core's EvaluationReport shown (at the last committed threshold)."""
        return self._report

    @property
    def table(self):
        """The core's ThresholdTable the slider looks up (binary, or the one-vs-rest class)."""
        return self._table

    @property
    def positive(self) -> int:
        return self._positive

    def set_predictions(
        self,
        predictions: Predictions,
        *,
        title: str = "",
        features: np.ndarray | None = None,
        feature_names: tuple[str, ...] = (),
        threshold: float = 0.5,
        positive: int = 1,
    ) -> None:
        """Show an evaluation. ``features`` (n_samples, n_features) fill the rows table."""
        from evalstudio.core.evaluation.report import per_row_loss

        self._pred = predictions
        self._features = features
        self._feature_names = tuple(feature_names)
        self._loss = per_row_loss(predictions)
        self._title = title
        self._shown_files = self._window_files()  # the report names the files behind *this* evaluation
        self._selection = None
        self._threshold = float(threshold)
        self._intervals = None
        self.metrics.set_intervals(None, state="none")
        binary = predictions.task == "binary"
        self._positive = positive if binary else 0
        self.title_label.setText(title or f"{predictions.n_samples} rows, {predictions.n_classes} classes")
        self.matrix_tabs.setTabVisible(1, not binary)
        self.matrix_tabs.setCurrentIndex(0)
        self.rows.clear()
        self.threshold_bar.setEnabled(True)
        if binary:
            self._table = _core.binary_table(predictions, self._positive)
            self._ovr_tables = []
            self._base_report = _core.report(
                predictions, threshold=self._threshold, positive=self._positive, table=self._table
            )
            self.threshold_bar.set_title(f"Threshold on P({predictions.classes[self._positive]})")
            self._draw_binary_curves()
        else:
            self._ovr_tables = [_core.ovr_table(predictions, k) for k in range(predictions.n_classes)]
            with QSignalBlocker(self.ovr_class):
                self.ovr_class.clear()
                self.ovr_class.addItems(list(predictions.classes))
                self.ovr_class.setCurrentIndex(0)
            self._report = _core.report(predictions)
            self.confusion.set_matrix(self._report.confusion_matrix, predictions.classes)
            self.confusion.set_caption("Rows: actual class. Columns: predicted (highest probability).")
            self.metrics.set_metrics(self._report.metrics)
            self.metrics.set_per_class(self._report.per_class)
            self.metrics.set_caption("Metrics (argmax; macro averages)")
            self._refresh_intervals(self._threshold, full=True)
            self._set_ovr_class(0)
            return
        self._refresh_suggestions()
        self.threshold_bar.set_threshold(self._threshold)
        self._show_threshold(self._threshold, full=True)

    def clear(self) -> None:
        self._pred = None
        self._table = None
        self._report = None
        self._ovr_tables = []
        self.title_label.setText("No evaluation yet.")
        self.confusion.clear()
        self.ovr_confusion.clear()
        self.metrics.clear()
        self.rows.clear()
        self.threshold_bar.setEnabled(False)
        self.matrix_tabs.setTabVisible(1, False)
        for plot in (self.roc, self.pr):
            plot.point.hide()
            plot.point_label.hide()

    # ------------------------------------------------------------------ drawing

    def _draw_binary_curves(self) -> None:
        pred, table = self._pred, self._table
        assert pred is not None and table is not None
        fpr, tpr, _ = _core.roc_points(table)
        self.roc.set_curves([("ROC", fpr, tpr, table.roc_auc)])
        self._link_curves(table)
        self.pr.set_curves([("PR", *_core.pr_points(table)[:2], table.average_precision)],
                           prevalence=table.n_pos / table.n_samples)

    def _link_curves(self, table) -> None:
        """Make both points drag along ``table``'s curves (the core finds the threshold)."""
        self.roc.set_snapper(table.threshold_at_roc_point)
        rec, prec, thr = _core.pr_points(table)
        # The PR curve's last point (recall 0) has threshold inf: "nothing positive".
        thr = np.where(np.isfinite(thr), thr, table.threshold_of_point(0))
        self.pr.set_active_points(rec, prec, thr)

    def _draw_multiclass_curves(self) -> None:
        pred = self._pred
        assert pred is not None
        rocs, prs = [], []
        for k, table in enumerate(self._ovr_tables):
            fpr, tpr, _ = _core.roc_points(table)
            rec, prec, _ = _core.pr_points(table)
            rocs.append((pred.classes[k], fpr, tpr, table.roc_auc))
            prs.append((pred.classes[k], rec, prec, table.average_precision))
        macro = _core.macro_roc(pred)
        self.roc.set_curves(rocs, macro=(macro.fpr, macro.tpr_mean, macro.auc_mean))
        table = self._ovr_tables[self._positive]
        self.pr.set_curves(prs, prevalence=table.n_pos / table.n_samples)
        self._link_curves(table)

    def _show_threshold(self, t: float, *, full: bool) -> None:
        """Every view at threshold ``t``, from the core's table (O(log n) per call).

        ``full`` (the move is finished) also refreshes the rows of a chosen cell.
        """
        pred, table = self._pred, self._table
        if pred is None or table is None:
            return
        m = _core.metrics_at(table, t)
        label = f"t = {t:.3f}"
        self.roc.set_point(np.nan_to_num(m["fpr"]), np.nan_to_num(m["tpr"]), label)
        self.pr.set_point(m["recall"], m["precision"], label)
        if pred.task == "binary":
            self._report = self._base_report.with_threshold(t, table)
            self.confusion.set_matrix(self._report.confusion_matrix, pred.classes)
            pos = pred.classes[self._positive]
            self.confusion.set_caption(f"Threshold {t:.4f}: predicted {pos} when P({pos}) >= threshold")
            self.metrics.set_metrics(self._report.metrics)
            self.metrics.set_per_class(self._report.per_class)
            self.metrics.set_caption(f"Metrics at threshold {t:.4f} (positive class {pos})")
        else:
            name = pred.classes[self._positive]
            self.ovr_confusion.set_matrix(_core.matrix_at(table, t), (f"not {name}", name))
            self.ovr_confusion.set_caption(f"{name} vs rest at threshold {t:.4f}")
            self.ovr_metrics.setText(
                "  ".join(f"{k}: {m[k]:.4f}" for k in ("precision", "recall", "f1", "specificity"))
            )
        self._refresh_intervals(t, full=full)
        if full and self._selection is not None:
            self._show_rows(*self._selection)

    # ------------------------------------------------------------------ intervals

    @property
    def intervals(self):
        """The core's BootstrapIntervals shown (None until they arrive)."""
        return self._intervals

    def mark_intervals_pending(self) -> None:
        """Intervals are being computed for these predictions: the column says so."""
        self.metrics.set_intervals(None, state="pending",
                                   tooltip="Stratified bootstrap of the rows, computed in the background.")

    def set_intervals(self, intervals) -> None:
        """Show the core's :class:`~evalstudio.core.evaluation.intervals.BootstrapIntervals` of these
        predictions; at other thresholds they follow from their per-resample counts when kept."""
        self._intervals = intervals
        self._refresh_intervals(self._threshold, full=False)

    def _refresh_intervals(self, t: float, *, full: bool) -> None:
        boot, pred = self._intervals, self._pred
        if boot is None or pred is None:
            return
        conf = boot.settings.confidence
        tip = (f"{conf * 100:g}% interval: {boot.settings.method}, {boot.settings.resamples} resamples, "
               f"seed {boot.settings.seed}")
        if pred.task != "binary":
            self.metrics.set_intervals(_core.intervals_now(boot), confidence=conf, tooltip=tip)
            if boot.has_counts and self._table is not None:
                ovr = _core.class_intervals_at(boot, self._positive, t)
                m = _core.metrics_at(self._table, t)
                self.ovr_metrics.setText("  ".join(
                    f"{k}: {m[k]:.4f} [{ovr[k][0]:.4f}, {ovr[k][1]:.4f}]"
                    for k in ("precision", "recall", "f1", "specificity")))
            return
        limits = _core.intervals_at(boot, t)
        if limits is not None:
            self.metrics.set_intervals(limits, confidence=conf, tooltip=tip)
        else:  # no per-resample counts kept (a large set): recomputed for the released threshold
            self.metrics.set_intervals(None, state="stale", confidence=conf,
                                       tooltip="The intervals follow when you release the threshold.")
            if full:
                self.intervals_requested.emit(float(t))

    def _refresh_suggestions(self) -> None:
        if self._table is not None:
            self.threshold_bar.set_suggestions(_core.suggestions(self._table, *self.threshold_bar.costs))

    def _set_ovr_class(self, k: int) -> None:
        self._positive = k
        self._table = self._ovr_tables[k]
        self.threshold_bar.set_title(f"One-vs-rest threshold on P({self._pred.classes[k]})")
        self._draw_multiclass_curves()
        self._refresh_suggestions()
        self.threshold_bar.set_threshold(self._threshold)
        self._show_threshold(self._threshold, full=True)

    # ------------------------------------------------------------------ intent in

    def set_threshold(self, t: float) -> None:
        """Move the threshold as if the user had (updates every view, emits threshold_changed)."""
        self.threshold_bar.set_threshold(t)
        self._on_threshold_committed(self.threshold_bar.threshold)

    def _reveal_ovr(self) -> None:
        # Multiclass: the argmax matrix ignores the threshold, so show the view that moves.
        if self._pred is not None and self._pred.task != "binary" and self.matrix_tabs.currentIndex() != 1:
            self.matrix_tabs.setCurrentIndex(1)

    @Slot(float)
    def _on_threshold_moving(self, t: float) -> None:
        self._reveal_ovr()
        self._threshold = t
        self._show_threshold(t, full=False)
        self.threshold_changed.emit(t)

    @Slot(float)
    def _on_threshold_committed(self, t: float) -> None:
        self._reveal_ovr()
        self._threshold = t
        self.threshold_bar.set_threshold(t)
        self._show_threshold(t, full=True)
        self.threshold_changed.emit(t)

    @Slot(float)
    def _on_curve_dragged(self, t: float) -> None:
        self.threshold_bar.set_threshold(t)  # the slider follows the point
        self._on_threshold_moving(t)

    @Slot(float, float)
    def _on_costs(self, _c_fp: float, _c_fn: float) -> None:
        self._refresh_suggestions()

    @Slot(int)
    def _on_ovr_class(self, k: int) -> None:
        if self._pred is not None and 0 <= k < len(self._ovr_tables):
            self._selection = None
            self._set_ovr_class(k)

    @Slot(object, object)
    def _on_cell_clicked(self, actual: int | None, predicted: int | None) -> None:
        self._show_rows("matrix", actual, predicted)

    @Slot(object, object)
    def _on_ovr_cell_clicked(self, actual: int | None, predicted: int | None) -> None:
        self._show_rows("ovr", actual, predicted)

    # ------------------------------------------------------------------ rows of a cell

    def predicted_labels(self) -> np.ndarray:
        """Predicted class of every row as the main matrix counts it (threshold or argmax)."""
        from evalstudio.core.evaluation.report import predicted_labels

        assert self._pred is not None
        return predicted_labels(self._pred, threshold=self._threshold, positive=self._positive)

    def _show_rows(self, which: str, actual: int | None, predicted: int | None) -> None:
        from evalstudio.core.evaluation.report import one_vs_rest_codes, rows_in_cell

        pred, loss = self._pred, self._loss
        if pred is None or loss is None:
            return
        self._selection = (which, actual, predicted)
        y_pred = self.predicted_labels()
        if which == "ovr":
            k = self._positive
            a_codes, p_codes = one_vs_rest_codes(pred, k, self._threshold)
            names = (f"not {pred.classes[k]}", pred.classes[k])
        else:
            a_codes, p_codes, names = pred.y_true, y_pred, pred.classes
        positions = rows_in_cell(a_codes, p_codes, actual, predicted, loss)
        parts = [f"actual {names[actual]}"] if actual is not None else []
        parts += [f"predicted {names[predicted]}"] if predicted is not None else []
        model = RowsTableModel(pred, positions, y_pred, loss, self._features, self._feature_names)
        self.rows.set_rows(model, f"{positions.size} rows: {', '.join(parts) or 'all rows'}")
