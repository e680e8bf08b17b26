"""Exports of an EvaluationPanel: plots (PNG/SVG), tables (CSV/JSON), the HTML report.

A mixin so the panel module stays about state and linking; every method here reads what the
panel shows (the core's report and the predictions) and writes it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton

from evalstudio.core.errors import EvalStudioError
from evalstudio.gui.evaluation import export

PLOTS = ("confusion", "roc", "pr")


class PanelExportMixin:
    """Export actions for :class:`~evalstudio.gui.evaluation.panel.EvaluationPanel`."""

    # ------------------------------------------------------------------ programmatic API

    def _require(self) -> None:
        if getattr(self, "_pred", None) is None or getattr(self, "_report", None) is None:
            raise EvalStudioError("there is no evaluation to export yet.", hint="Run an evaluation first.")

    def set_report_context(
        self, *, settings: Mapping[str, Any] | None = None, files: Mapping[str, str | Path | None] | None = None
    ) -> None:
        """What the HTML report says about the run: settings (device, batch size, ...) and the
        files behind it, role -> path (``{"data": ..., "model": ..., "checkpoint": ...}``)."""
        self._report_context = (dict(settings or {}), dict(files or {}))

    def _window_files(self) -> dict[str, str | None]:
        """The files the app has loaded (data, model, checkpoint), read from the window's controller.

        The fallback when :meth:`set_report_context` was never called: the panel sits in the main
        window, whose controller knows the paths. The panel snapshots them when an evaluation is
        shown, so a file opened later does not relabel this evaluation's report.
        """
        window = self.window() if hasattr(self, "window") else None
        controller = getattr(window, "controller", None)
        if controller is None:
            return {}
        files = {role: getattr(controller, f"{role}_path", None) for role in ("data", "model", "checkpoint")}
        return {role: str(path) for role, path in files.items() if path}

    def report_files(self) -> dict[str, str | Path | None]:
        """role -> path of the files the HTML report hashes (the context set, else the app's files)."""
        context = getattr(self, "_report_context", None)
        if context is not None:
            return dict(context[1])
        return dict(getattr(self, "_shown_files", {}))

    def plot_widget(self, name: str):
        """The pyqtgraph PlotWidget of ``name`` (one of "confusion", "roc", "pr")."""
        widgets = {
            "confusion": self.confusion.plot,
            "roc": self.roc.plot,
            "pr": self.pr.plot,
        }
        if name not in widgets:
            raise EvalStudioError(f"unknown plot {name!r}.", hint=f"Use one of: {', '.join(PLOTS)}.")
        return widgets[name]

    def export_plot(self, name: str, path: str | Path) -> Path:
        """Write plot ``name`` to a .png or .svg file."""
        return export.export_plot(self.plot_widget(name), path)

    def metrics_rows(self) -> tuple[list[str], list[list[Any]]]:
        self._require()
        return ["metric", "value"], [[k, v] for k, v in self._report.metrics.items()]

    def per_class_rows(self) -> tuple[list[str], list[list[Any]]]:
        self._require()
        cols = ["class", "precision", "recall", "f1", "support"]
        return cols, [[row.get(c) for c in cols] for row in self._report.per_class]

    def export_metrics(self, path: str | Path) -> Path:
        """Metrics at the current threshold to .csv or .json (JSON also carries the settings)."""
        self._require()
        if Path(path).suffix.lower() == ".json":
            return export.write_json(path, {
                "threshold": self._threshold if self._pred.task == "binary" else None,
                "positive_class": self._pred.classes[self._positive] if self._pred.task == "binary" else None,
                "n_samples": self._pred.n_samples,
                "classes": list(self._pred.classes),
                "metrics": self._report.metrics,
                "confusion_matrix": self._report.confusion_matrix,
            })
        return export.write_table(path, *self.metrics_rows())

    def export_per_class(self, path: str | Path) -> Path:
        return export.write_table(path, *self.per_class_rows())

    def export_predictions(self, path: str | Path) -> Path:
        """Every row: row number, (features,) actual, predicted, probabilities, loss."""
        import numpy as np

        from evalstudio.gui.evaluation.rows_table import RowsTableModel

        self._require()
        pred = self._pred
        model = RowsTableModel(pred, np.arange(pred.n_samples), self.predicted_labels(), self._loss,
                               self._features, self._feature_names)
        suffix = Path(path).suffix.lower()
        if suffix == ".json":
            return export.write_json(path, [dict(zip(model.header, row)) for row in model.iter_rows()])
        if suffix == ".csv":
            return export.write_csv(path, model.header, model.iter_rows(), checked=True)
        return export.write_table(path, model.header, [])  # the message naming the file type

    def report_images(self) -> dict[str, bytes]:
        """PNG bytes of the matrix and the curves, as the report embeds them.

        The outline of a clicked cell is a pointer for the person at the screen, not part of
        the result, so the report's matrix is drawn without it.
        """
        outline = self.confusion._selection
        was_visible = outline.isVisible()
        outline.hide()
        try:
            matrix = export.plot_png_bytes(self.confusion.plot)
        finally:
            outline.setVisible(was_visible)
        return {
            "Confusion matrix": matrix,
            "ROC": export.plot_png_bytes(self.roc.plot),
            "Precision-recall": export.plot_png_bytes(self.pr.plot),
        }

    def export_report(
        self,
        path: str | Path,
        *,
        settings: Mapping[str, Any] | None = None,
        identity: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Path:
        """One self-contained HTML report of the current evaluation.

        ``identity`` maps a role ("data", "model", "checkpoint") to
        :func:`evalstudio.core.evaluation.report.file_identity` of that file; by default the files given
        to :meth:`set_report_context` are hashed now, so the report names exactly the bytes on
        disk at export time.
        """
        from evalstudio.core.evaluation.report import file_identity, write_html_report

        self._require()
        pred = self._pred
        binary = pred.task == "binary"
        all_settings: dict[str, Any] = {
            "task": pred.task,
            "classes": ", ".join(pred.classes),
            "rows evaluated": pred.n_samples,
        }
        if binary:
            all_settings.update({"positive class": pred.classes[self._positive], "threshold": self._threshold})
        context = getattr(self, "_report_context", ({}, {}))
        all_settings.update(context[0])
        all_settings.update(settings or {})
        if identity is None:
            identity = {role: file_identity(path) for role, path in self.report_files().items() if path}
        return write_html_report(
            path,
            title=self._title or "evalstudio evaluation",
            metrics=self._report.metrics,
            confusion_matrix=self._report.confusion_matrix,
            classes=pred.classes,
            threshold=self._threshold if binary else None,
            per_class=self._report.per_class,
            settings=all_settings,
            identity=identity,
            images=self.report_images(),
        )

    # ------------------------------------------------------------------ the button and its dialogs

    def make_export_button(self) -> QToolButton:
        button = QToolButton()
        button.setText("Export")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        entries = [
            ("HTML report…", "report", "HTML (*.html)"),
            ("Metrics…", "metrics", "CSV (*.csv);;JSON (*.json)"),
            ("Per-class table…", "per_class", "CSV (*.csv);;JSON (*.json)"),
            ("Predictions…", "predictions", "CSV (*.csv);;JSON (*.json)"),
            ("Confusion matrix plot…", "plot:confusion", "PNG (*.png);;SVG (*.svg)"),
            ("ROC plot…", "plot:roc", "PNG (*.png);;SVG (*.svg)"),
            ("Precision-recall plot…", "plot:pr", "PNG (*.png);;SVG (*.svg)"),
        ]
        for text, key, filt in entries:
            action = menu.addAction(text)
            action.setData((key, filt))
        menu.triggered.connect(self._on_export_action)
        button.setMenu(menu)
        self.export_button = button
        return button

    @Slot(object)
    def _on_export_action(self, action) -> None:  # pragma: no cover - needs a person at a dialog
        key, filt = action.data()
        path, chosen = QFileDialog.getSaveFileName(self, action.text().rstrip("…"), "", filt)
        if not path:
            return
        if not Path(path).suffix:
            path += "." + chosen.split("*.")[1].rstrip(")")
        try:
            if key == "report":
                self.export_report(path)
            elif key == "metrics":
                self.export_metrics(path)
            elif key == "per_class":
                self.export_per_class(path)
            elif key == "predictions":
                self.export_predictions(path)
            else:
                self.export_plot(key.split(":", 1)[1], path)
        except (EvalStudioError, OSError) as exc:
            self.export_failed.emit(str(exc))
