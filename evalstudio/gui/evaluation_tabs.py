"""Find the evaluation views (built in ``evalstudio.gui.evaluation``) and fall back to placeholders.

The views are imported lazily, when the window is built, and each is optional: a missing or
broken view leaves a placeholder tab saying so instead of keeping the app from starting.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QLabel, QTabWidget, QWidget

# The package names each view's module (its lazy ``__getattr__``); nothing else to search.
_MODULES = ("evalstudio.gui.evaluation",)


def find_view_class(name: str) -> type[QWidget] | None:
    """The class ``name`` from the evaluation package, or None when it is not there (yet)."""
    for module_name in _MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("evalstudio.gui.evaluation"):
                continue
            raise
        except Exception as exc:  # noqa: BLE001 -- a teammate's view failing must not stop the app
            sys.stderr.write(f"evalstudio: the evaluation view module {module_name} failed to import: {exc}\n")
            continue
        try:
            cls = getattr(module, name, None)
        except ImportError:  # a lazy attribute whose module is not written yet
            continue
        except Exception as exc:  # noqa: BLE001
            sys.stderr.write(f"evalstudio: the evaluation view {name} failed to import: {exc}\n")
            continue
        if isinstance(cls, type):
            return cls
    return None


class PlaceholderView(QLabel):
    """Stands in for a view that is not available, and shows a line of text about the last result."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setText(f"The {what} view will appear here.")

    def show_text(self, text: str) -> None:
        self.setText(text)


def make_view(name: str, what: str) -> tuple[Any, bool]:
    """An instance of view ``name`` (True) or a placeholder (False)."""
    cls = find_view_class(name)
    if cls is None:
        return PlaceholderView(what), False
    try:
        return cls(), True
    except Exception as exc:  # noqa: BLE001
        sys.stderr.write(f"evalstudio: could not create the {what} view: {exc}\n")
        return PlaceholderView(what), False


class EvaluationTabs(QObject):
    """The three evaluation tabs (evaluation, k-fold, train vs eval mode) fed from the controller.

    ``controller`` is the window's :class:`~evalstudio.gui.controller.Controller` (read for the last
    training run's train vs validation accuracy, which the mode-audit view compares).
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._tabs: QTabWidget | None = None
        self.evaluation_panel, self.has_evaluation_panel = make_view("EvaluationPanel", "evaluation")
        self.kfold_panel, self.has_kfold_panel = make_view("KFoldPanel", "k-fold")
        self.audit_panel, self.has_audit_panel = make_view("ModeAuditPanel", "train vs eval mode")
        self.calibration_panel, self.has_calibration_panel = make_view("CalibrationPanel", "calibration")
        self._outcome: Any = None  # the last evaluation's outcome (its temperature, for the calibration view)
        self.uncertainty: Any = None
        if self.has_evaluation_panel:
            from evalstudio.gui.uncertainty import UncertaintyCoordinator

            pooled = getattr(self.kfold_panel, "pooled", None) if self.has_kfold_panel else None
            self.uncertainty = UncertaintyCoordinator(
                window.controller, {"evaluation": self.evaluation_panel, "pooled": pooled},
                self.calibration_panel if self.has_calibration_panel else None)

    @Slot(object)
    def forget_audit(self, _model: Any) -> None:
        """Another model is loaded (a trained one, another file): the audit shown was of the model before."""
        if self.has_audit_panel and not self.audit_panel.is_empty:
            self.audit_panel.clear("The model changed after this tab's last audit: press Evaluate to audit "
                                   "the model now loaded.")

    def attach(self, tabs: QTabWidget) -> None:
        """The tab widget holding the views (to bring a view forward when its run starts)."""
        self._tabs = tabs

    def _bring_forward(self, widget: QWidget) -> None:
        if self._tabs is None:
            return
        page: QWidget | None = widget  # the tab's page may be a scroll area holding the view
        while page is not None and self._tabs.indexOf(page) < 0:
            page = page.parentWidget()
        if page is not None:
            self._tabs.setCurrentWidget(page)

    def _train_vs_heldout(self) -> dict[str, float]:
        """Train and validation accuracy of the last run's best epoch (the overfitting gap)."""
        r = self._window.controller.train_result
        if r is None or not r.history:
            return {}
        best = next((m for m in r.history if m.epoch == r.best_epoch), r.history[-1])
        if best.val_accuracy is None:
            return {}
        return {"train_accuracy": best.train_accuracy, "heldout_accuracy": best.val_accuracy}

    @Slot(object)
    def show_evaluation(self, outcome: Any) -> None:
        self._outcome = outcome
        audit = getattr(outcome, "audit", None)
        if audit is None:
            return
        if self.has_audit_panel:
            self.audit_panel.set_audit(audit, **self._train_vs_heldout())
        else:
            self.audit_panel.show_text(
                f"eval mode accuracy {audit.eval_accuracy:.4f}; train mode accuracies "
                f"{audit.train_mode_accuracies.min():.4f} to {audit.train_mode_accuracies.max():.4f} "
                f"(layers: {', '.join(audit.stochastic_layers) or 'none'})")

    @Slot(object, str, object)
    def show_predictions(self, predictions: Any, title: str, dataset: Any) -> None:
        """Predictions into the evaluation view; ``dataset`` (rows in the same order) gives features."""
        if self.has_evaluation_panel:
            kwargs: dict[str, Any] = {"title": title}
            if dataset is not None:
                kwargs.update(features=dataset.X, feature_names=dataset.feature_names)
            context = getattr(self._window.controller, "report_context", None)
            if context is not None and hasattr(self.evaluation_panel, "set_report_context"):
                # The HTML report's settings (device, batch size, training settings) and the files
                # behind these predictions (the held-out file when that is what was scored).
                settings, files = context
                self.evaluation_panel.set_report_context(settings=settings, files=files)
            self.evaluation_panel.set_predictions(predictions, **kwargs)
            if self.uncertainty is not None:
                panel = self.evaluation_panel
                self.uncertainty.request("evaluation", predictions, panel.threshold, panel.positive)
                outcome = self._outcome if getattr(self._outcome, "predictions", None) is predictions else None
                section = getattr(outcome, "temperature", None)
                self.uncertainty.show_calibration(predictions, title, panel.positive,
                                                  section["value"] if section else None)
        else:
            self.evaluation_panel.show_text(f"{title}: {predictions.n_samples:,} rows evaluated.")
        if dataset is not None:  # an explicit evaluation: show it
            self._bring_forward(self.evaluation_panel)

    @Slot(int, object)
    def start_kfold(self, k: int, classes: Any) -> None:
        self._bring_forward(self.kfold_panel)
        if self.has_kfold_panel:
            self.kfold_panel.start(k, classes)
        else:
            self.kfold_panel.show_text(f"k-fold cross-validation: {k} folds running…")

    @Slot(object)
    def add_fold(self, fold: Any) -> None:
        if self.has_kfold_panel:
            self.kfold_panel.add_fold(fold)
        else:
            acc = fold.metrics.get("accuracy")
            self.kfold_panel.show_text(f"fold {fold.fold} finished" + (f": accuracy {acc:.3f}" if acc is not None else ""))

    @Slot(object)
    def finish_kfold(self, result: Any) -> None:
        if self.has_kfold_panel:
            c = self._window.controller
            data = getattr(c, "kfold_dataset", None)
            context = getattr(c, "kfold_report_context", None)
            pooled = getattr(self.kfold_panel, "pooled", None)
            if context is not None and pooled is not None and hasattr(pooled, "set_report_context"):
                settings, files = context
                pooled.set_report_context(settings=settings, files={k: v for k, v in files.items() if v})
            if data is not None:  # the pooled rows table shows each row's features
                self.kfold_panel.set_result(result, features=data.X, feature_names=data.feature_names,
                                            feature_rows=data.row_numbers)
            else:
                self.kfold_panel.set_result(result)
            if self.uncertainty is not None and pooled is not None:
                self.uncertainty.request("pooled", pooled.predictions, pooled.threshold, pooled.positive)
        else:
            lines = [f"{name}: {v['mean']:.4f} ± {v['std']:.4f}" for name, v in result.summary.items()]
            self.kfold_panel.show_text(f"{len(result.folds)} folds\n" + "\n".join(lines))
