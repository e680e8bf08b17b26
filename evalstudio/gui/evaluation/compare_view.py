"""CompareView: is B better than A? Two models on the same rows, and two k-fold runs.

The "Two models" page: choose model B (files, or the model trained in this window against the
checkpoint loaded before training), compare; then both ROC and precision-recall curves overlaid
with each model's operating point moving with the one threshold slider, both confusion matrices,
the 2 x 2 agreement table (both right, only A, only B, both wrong; a click lists those rows), every
metric side by side with the difference, and the paired tests in plain words. The "Two k-fold
runs" page compares two k-fold runs of this window fold by fold.

The core computes everything (:class:`~evalstudio.core.evaluation.comparison.ModelComparison`,
its ``at_threshold`` for each slider tick); the view draws and emits intents.

Run alone on demo data: ``python -m evalstudio.gui.evaluation.previews compare``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableView,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from evalstudio.gui.evaluation.compare_parts import (
    AgreementRowsModel,
    AgreementTable,
    KFoldCompareBox,
    OverlayCurvePlot,
)
from evalstudio.gui.evaluation.confusion_view import ConfusionMatrixView
from evalstudio.gui.evaluation.metrics_view import metric_name, number_item
from evalstudio.gui.evaluation.threshold_bar import ThresholdBar

SHOWN_BINARY = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "specificity", "mcc",
                "roc_auc", "average_precision", "log_loss")
SHOWN_MULTICLASS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "f1_weighted", "mcc",
                    "roc_auc", "average_precision", "log_loss")
NO_RESULT = "Choose model B and press Compare: both models are scored on the rows Evaluate scores."


class CompareView(QWidget):
    """Two models on the same rows (and two k-fold runs), with the paired tests in words.

    Signals
    -------
    compare_requested(object) : ``{"source": "files", "model": path, "checkpoint": path}`` or
        ``{"source": "trained"}``
    kfold_compare_requested(int, int, str) : two k-fold runs (indices) and a metric
    threshold_changed(float) : the comparison's threshold moved
    """

    compare_requested = Signal(object)
    kfold_compare_requested = Signal(int, int, str)
    threshold_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base: Any = None  # the ModelComparison as computed
        self._shown: Any = None  # ... at the slider's threshold
        self._features: np.ndarray | None = None
        self._feature_names: tuple[str, ...] = ()
        self._cell: str | None = None
        self._ovr_class = 0

        # -- model B -----------------------------------------------------------------------------
        self.use_files = QRadioButton("B from files:")
        self.use_trained = QRadioButton("B = the model trained in this window")
        self.use_trained.setEnabled(False)
        self.use_files.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_files)
        group.addButton(self.use_trained)
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("model file (.py or TorchScript)")
        self.checkpoint_path = QLineEdit()
        self.checkpoint_path.setPlaceholderText("checkpoint (.pt, .safetensors)")
        browse_model = QPushButton("…")
        browse_model.setToolTip("Choose model B's definition")
        browse_model.clicked.connect(self._browse_model)
        browse_ckpt = QPushButton("…")
        browse_ckpt.setToolTip("Choose model B's checkpoint")
        browse_ckpt.clicked.connect(self._browse_checkpoint)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Score A and B on the same rows and run the paired tests.")
        self.compare_button.clicked.connect(self._request)
        # The box's title says what A is (set_model_a); its rows choose B.
        self.box = box = QGroupBox("A: the loaded model (load one in the Model tab)")
        grid = QGridLayout(box)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.use_files, 0, 0)
        grid.addWidget(self.model_path, 0, 1)
        grid.addWidget(browse_model, 0, 2)
        grid.addWidget(self.checkpoint_path, 0, 3)
        grid.addWidget(browse_ckpt, 0, 4)
        grid.addWidget(self.use_trained, 1, 0, 1, 5)
        grid.addWidget(self.compare_button, 0, 5, 2, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.title_label = QLabel(NO_RESULT)
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet("font-weight: bold;")
        self.threshold_bar = ThresholdBar()
        self.threshold_bar.set_title("Threshold (both models)")
        _slider_only(self.threshold_bar)
        self.class_pick = QComboBox()
        self.class_pick.setToolTip("Multiclass: the class whose one-vs-rest curves are drawn.")
        self.class_row = QWidget()
        class_layout = QHBoxLayout(self.class_row)
        class_layout.setContentsMargins(0, 0, 0, 0)
        class_layout.addWidget(QLabel("Curves of class (one vs rest):"))
        class_layout.addWidget(self.class_pick)
        class_layout.addStretch(1)
        self.class_row.hide()

        # -- results -----------------------------------------------------------------------------
        self.roc = OverlayCurvePlot("False positive rate", "True positive rate", diagonal=True)
        self.pr = OverlayCurvePlot("Recall", "Precision")
        self.pr.label_side_right = False
        self.confusion_a = ConfusionMatrixView()
        self.confusion_b = ConfusionMatrixView()
        self.agreement = AgreementTable()
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.words.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.words.setMinimumWidth(220)
        self.metrics = QTableWidget(0, 4)
        self.metrics.setHorizontalHeaderLabels(["A", "B", "B - A", "95 % interval of B - A"])
        self.metrics.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.metrics.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.metrics.verticalHeader().setDefaultSectionSize(20)
        self.metrics.setMinimumHeight(120)
        self.rows_caption = QLabel("Click a cell of the agreement table to list its rows.")
        self.rows_caption.setWordWrap(True)
        self.rows = QTableView()
        self.rows.setModel(AgreementRowsModel())
        self.rows.verticalHeader().setDefaultSectionSize(20)
        self.rows.horizontalHeader().setResizeContentsPrecision(40)
        self.rows.setMinimumHeight(100)

        # One row of pictures (both curves, both matrices), one row of answers (the agreement table,
        # the tests in words, the numbers or the rows of a chosen cell): laid out to fit a laptop's
        # screen without scrolling past the first two rows.
        pictures = QHBoxLayout()
        for w in (self.roc, self.pr, self.confusion_a, self.confusion_b):
            w.setMaximumHeight(270)
            pictures.addWidget(w, 1)
        agreement_box = QVBoxLayout()
        agreement_box.addWidget(QLabel("Agreement on each row (click a cell):"))
        agreement_box.addWidget(self.agreement)
        agreement_box.addStretch(1)
        rows_page = QWidget()
        rows_layout = QVBoxLayout(rows_page)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addWidget(self.rows_caption)
        rows_layout.addWidget(self.rows, 1)
        self.lower_tabs = QTabWidget()
        self.lower_tabs.addTab(self.metrics, "Metrics")
        self.lower_tabs.addTab(rows_page, "Rows of a cell")
        self.lower_tabs.setMinimumHeight(190)
        answers = QHBoxLayout()
        answers.addLayout(agreement_box, 3)
        answers.addWidget(self.words, 4)
        answers.addWidget(self.lower_tabs, 5)

        models_page = QWidget()
        page = QVBoxLayout(models_page)
        page.setSpacing(4)
        page.addWidget(box)
        page.addWidget(self.title_label)
        page.addWidget(self.threshold_bar)
        page.addWidget(self.class_row)
        page.addLayout(pictures, 3)
        page.addLayout(answers, 2)

        self.kfold = KFoldCompareBox()
        kfold_page = QWidget()
        kl = QVBoxLayout(kfold_page)
        kl.addWidget(self.kfold)
        kl.addStretch(1)

        self.pages = QTabWidget()
        self.pages.addTab(models_page, "Two models")
        self.pages.addTab(kfold_page, "Two k-fold runs")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self.threshold_bar.threshold_changed.connect(self._on_threshold)
        self.threshold_bar.threshold_committed.connect(self._on_threshold)
        self.roc.threshold_dragged.connect(self._on_curve_dragged)
        self.pr.threshold_dragged.connect(self._on_curve_dragged)
        self.agreement.cell_chosen.connect(self._on_cell)
        self.class_pick.currentIndexChanged.connect(self._on_class)
        self.kfold.compare_requested.connect(self.kfold_compare_requested)
        self._show_empty()

    # ------------------------------------------------------------------ state in
    @property
    def comparison(self) -> Any:
        """The comparison at the current threshold (None before the first one)."""
        return self._shown

    @property
    def threshold(self) -> float:
        return self.threshold_bar.threshold

    def set_model_a(self, text: str) -> None:
        """What A is, as the model-B box's title."""
        self.box.setTitle(text)

    def set_trained_choice(self, text: str | None) -> None:
        """Offer "the model trained in this window" (``text`` says against what), or not."""
        self.use_trained.setEnabled(text is not None)
        self.use_trained.setText(text or "B = the model trained in this window (train one first)")
        if text is None and self.use_trained.isChecked():
            self.use_files.setChecked(True)

    def choose_trained(self) -> None:
        if self.use_trained.isEnabled():
            self.use_trained.setChecked(True)

    def set_files(self, model: str | None, checkpoint: str | None) -> None:
        self.model_path.setText(model or "")
        self.checkpoint_path.setText(checkpoint or "")
        self.use_files.setChecked(True)

    def set_busy(self, busy: bool) -> None:
        self.compare_button.setEnabled(not busy)
        self.kfold.button.setEnabled(not busy and self.kfold.run_a.count() >= 2)

    def show_message(self, text: str) -> None:
        self.title_label.setText(text)

    def set_kfold_runs(self, labels: Sequence[str]) -> None:
        self.kfold.set_runs(labels)

    def set_kfold_result(self, result: Any) -> None:
        self.kfold.set_result(result)
        self.pages.setCurrentIndex(1)

    def set_comparison(self, comparison: Any, *, title: str = "", features: np.ndarray | None = None,
                       feature_names: Sequence[str] = ()) -> None:
        """Show a :class:`~evalstudio.core.evaluation.comparison.ModelComparison`.

        ``features`` (optional) are the paired rows' feature values, in the comparison's row order.
        """
        self._base = comparison
        self._features = features
        self._feature_names = tuple(feature_names) if features is not None else ()
        self._cell = None
        binary = comparison.task == "binary"
        self.threshold_bar.setVisible(binary)
        self.class_row.setVisible(not binary)
        a, b = comparison.names[0], comparison.names[1]
        self.metrics.setHorizontalHeaderLabels(
            [a, b, f"{b} - {a}", f"{float(comparison.interval.get('confidence', 0.95)) * 100:g} % interval of "
                                 f"{b} - {a}" if comparison.interval else "interval (not computed)"])
        self.title_label.setText(title or f"{comparison.n_samples:,} rows scored by both models")
        if binary:
            self.threshold_bar.set_threshold(comparison.threshold)
            self._shown = comparison
            self._draw_curves()
            self._show(comparison.threshold)
        else:
            with QSignalBlocker(self.class_pick):
                self.class_pick.clear()
                self.class_pick.addItems(list(comparison.classes))
                self.class_pick.setCurrentIndex(min(self._ovr_class, len(comparison.classes) - 1))
            self._ovr_class = self.class_pick.currentIndex()
            self._shown = comparison
            self._draw_curves()
            self._show(None)
        self.rows.setModel(AgreementRowsModel())
        self.rows_caption.setText("Click a cell of the agreement table to list its rows.")
        self.pages.setCurrentIndex(0)

    def set_threshold(self, t: float) -> None:
        """Move the threshold (as the slider does)."""
        self.threshold_bar.set_threshold(t)
        self._on_threshold(self.threshold_bar.threshold)

    # ------------------------------------------------------------------ drawing
    def _show_empty(self) -> None:
        self.confusion_a.set_caption("A: no comparison yet")
        self.confusion_b.set_caption("B: no comparison yet")
        self.words.setText("")
        self.metrics.setRowCount(0)

    def _tables(self) -> list[Any]:
        c = self._base
        if c.task == "binary":
            return list(c.tables())
        from evalstudio.core.evaluation.curves import one_vs_rest_table

        return [one_vs_rest_table(p, self._ovr_class) for p in c.predictions]

    def _draw_curves(self) -> None:
        c = self._base
        rocs, prs = [], []
        for name, table in zip(c.names, self._tables()):
            fpr, tpr, thr = table.roc_curve_for_plot()
            prec, rec, pthr = table.pr_curve_for_plot()
            pthr = np.where(np.isfinite(pthr), pthr, table.threshold_of_point(0))
            rocs.append((f"{name}: AUC {_fmt(table.roc_auc, 3)}", fpr, tpr, thr))
            prs.append((f"{name}: AP {_fmt(table.average_precision, 3)}", rec, prec, pthr))
        self.roc.set_models(rocs)
        self.pr.set_models(prs)
        if c.task == "binary":
            self.roc.set_snapper(c.tables()[0].threshold_at_roc_point)
        else:
            self.roc.set_snapper(None)
            self.roc.point.hide()
            self.pr.point.hide()
            for item in (*self.roc.others, *self.pr.others):
                item.hide()

    def _show(self, t: float | None) -> None:
        c = self._shown
        a, b = c.names[0], c.names[1]
        if t is not None:
            rocs, prs = [], []
            for table in c.tables():
                m = table.metrics_at(t)
                rocs.append((m["fpr"], m["tpr"]))
                prs.append((m["recall"], m["precision"]))
            label = f"t = {t:.3f}"
            self.roc.set_points(rocs, label)
            self.pr.set_points(prs, label)
        for view, name, report in ((self.confusion_a, a, c.reports[0]), (self.confusion_b, b, c.reports[1])):
            view.set_matrix(report.confusion_matrix, c.classes)
            view.set_caption(f"{name}: accuracy {report.metrics['accuracy']:.3f}")
        cells = c.agreement()
        self.agreement.set_counts({k: int(v.size) for k, v in cells.items()}, (a, b))
        self._show_words()
        self._show_metrics()
        if self._cell is not None:
            self._list_rows(self._cell)

    def _show_words(self) -> None:
        from evalstudio.core.evaluation.compare_words import comparison_sentences

        c = self._shown
        lines = comparison_sentences(c)
        for pair in c.pairs:
            for cls, t in pair.delong_per_class:
                p = "undefined" if not math.isfinite(t.p_value) else f"{t.p_value:.3f}"
                lines.append(f"ROC AUC of class {cls} (one vs rest): {c.names[pair.a]} {_fmt(t.auc_a, 3)}, "
                             f"{c.names[pair.b]} {_fmt(t.auc_b, 3)}; DeLong p = {p}")
        lines += [f"note: {n}" for n in c.notes]
        self.words.setText("\n\n".join(lines))

    def _show_metrics(self) -> None:
        c = self._shown
        keys = [k for k in (SHOWN_BINARY if c.task == "binary" else SHOWN_MULTICLASS) if k in c.reports[0].metrics]
        pair = c.pairs[0]
        self.metrics.setRowCount(len(keys))
        self.metrics.setVerticalHeaderLabels([metric_name(k) for k in keys])
        computed_at = c.interval.get("threshold") if c.interval else None
        for r, k in enumerate(keys):
            d = pair.differences.get(k)
            interval = ""
            if d is not None and math.isfinite(d.low) and math.isfinite(d.high):
                interval = f"[{d.low:+.4f}, {d.high:+.4f}]"
            elif c.interval and d is not None and computed_at is not None:
                interval = f"at t = {float(computed_at):.3f} only"  # counts not kept (a large file)
            values = (_fmt(c.reports[0].metrics.get(k)), _fmt(c.reports[1].metrics.get(k)),
                      "" if d is None else _signed(d.value), interval)
            for col, text in enumerate(values):
                item = number_item(text)
                if col < 2:  # each model's own interval, from the same resamples
                    item.setToolTip(_own_interval(c, col, k))
                self.metrics.setItem(r, col, item)

    def _list_rows(self, key: str) -> None:
        c = self._shown
        positions = c.agreement()[key]
        # The row some model got most wrong first: the lower probability of the actual class.
        y = c.y_true
        p_actual = np.minimum(*(p.y_score[positions, y[positions]] for p in c.predictions[:2]))
        positions = positions[np.argsort(p_actual, kind="stable")]
        model = AgreementRowsModel(c, positions, features=self._features, feature_names=self._feature_names)
        self.lower_tabs.setCurrentIndex(1)
        old = self.rows.model()
        self.rows.setModel(model)
        if old is not None:
            old.deleteLater()
        self.rows.resizeColumnsToContents()
        a, b = c.names[0], c.names[1]
        words = {"both_right": "both models get right", "only_a": f"only {a} gets right",
                 "only_b": f"only {b} gets right", "both_wrong": "both models get wrong"}[key]
        self.rows_caption.setText(f"{positions.size:,} rows {words} (lowest probability of the actual class first)")

    # ------------------------------------------------------------------ intents
    @Slot(float)
    def _on_threshold(self, t: float) -> None:
        if self._base is None or self._base.task != "binary":
            return
        self._shown = self._base.at_threshold(t)
        self._show(t)
        self.threshold_changed.emit(t)

    @Slot(float)
    def _on_curve_dragged(self, t: float) -> None:
        self.threshold_bar.set_threshold(t)
        self._on_threshold(self.threshold_bar.threshold)

    @Slot(str)
    def _on_cell(self, key: str) -> None:
        if self._shown is None:
            return
        self._cell = key
        self._list_rows(key)

    @Slot(int)
    def _on_class(self, k: int) -> None:
        if self._base is None or k < 0:
            return
        self._ovr_class = k
        self._draw_curves()

    @Slot()
    def _request(self) -> None:
        if self.use_trained.isChecked():
            self.compare_requested.emit({"source": "trained"})
            return
        model, ckpt = self.model_path.text().strip(), self.checkpoint_path.text().strip()
        if not model and not ckpt:
            self.show_message("Choose model B first: its model file (and checkpoint) with the … buttons.")
            return
        self.compare_requested.emit({"source": "files", "model": model or None, "checkpoint": ckpt or None})

    @Slot()
    def _browse_model(self) -> None:  # pragma: no cover - needs a person
        path, _ = QFileDialog.getOpenFileName(self, "Model B's definition", "", "Models (*.py *.pt *.pth *.ts);;All (*)")
        if path:
            self.model_path.setText(path)
            self.use_files.setChecked(True)

    @Slot()
    def _browse_checkpoint(self) -> None:  # pragma: no cover - needs a person
        path, _ = QFileDialog.getOpenFileName(self, "Model B's checkpoint", "",
                                              "Checkpoints (*.pt *.pth *.ckpt *.bin *.safetensors);;All (*)")
        if path:
            self.checkpoint_path.setText(path)
            self.use_files.setChecked(True)


def _slider_only(bar: ThresholdBar) -> None:
    """Keep the slider and its entry: one model's suggested thresholds and costs do not apply to two.
    (Everything else the bar holds is hidden, whatever rows it lays them out in.)"""
    keep = (bar.title, bar.slider, bar.entry)
    for w in bar.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if w not in keep:
            w.hide()


def _own_interval(c: Any, i: int, key: str) -> str:
    """A model's own interval of a metric, in words (the table's tooltip)."""
    if c.intervals and key in c.intervals[i]:
        lo, hi = c.intervals[i][key]
        if math.isfinite(lo) and math.isfinite(hi):
            level = float(c.interval.get("confidence", 0.95)) * 100
            return f"{c.names[i]}: {level:g} % interval {lo:.4f} to {hi:.4f}"
    return f"{c.names[i]}: no interval at this threshold"


def _signed(v: float) -> str:
    """``+0.0039``; a difference that rounds to zero is ``0.0000``, not ``-0.0000``."""
    text = f"{v:+.4f}"
    return "0.0000" if float(text) == 0 else text


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    v = float(v)
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"
