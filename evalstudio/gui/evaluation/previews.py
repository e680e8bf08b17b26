"""Run one evaluation view alone on demo data: ``python -m evalstudio.gui.evaluation.previews VIEW``.

VIEW is one of ``panel`` (add ``--multiclass`` for three classes), ``confusion``, ``roc``, ``pr``,
``metrics``, ``kfold``, ``audit``, ``calibration`` or ``compare``. This module imports the views; no
view imports it, so a preview never makes an import circle (as Orange's ``WidgetPreview`` sits beside
its widgets).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from PySide6.QtWidgets import QApplication, QWidget

from evalstudio.core.evaluation.predict import ModeAudit
from evalstudio.gui.evaluation import _core
from evalstudio.gui.evaluation.calibration_view import CalibrationPanel
from evalstudio.gui.evaluation.compare_view import CompareView
from evalstudio.gui.evaluation.confusion_view import ConfusionMatrixView
from evalstudio.gui.evaluation.demo_data import demo_cv_result, demo_multiclass, demo_predictions, pima_features
from evalstudio.gui.evaluation.kfold_view import KFoldPanel
from evalstudio.gui.evaluation.metrics_view import MetricsView
from evalstudio.gui.evaluation.mode_audit_view import ModeAuditPanel
from evalstudio.gui.evaluation.panel import EvaluationPanel


def ensure_app() -> QApplication:
    """The QApplication, created if needed (call before building any widget)."""
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication(sys.argv)


def run_preview(widget: QWidget) -> None:  # pragma: no cover - blocks until the window closes
    """Show ``widget`` until the window is closed."""
    app = ensure_app()
    widget.resize(900, 650)
    widget.show()
    app.exec()
    widget.deleteLater()
    app.processEvents()


def panel_widget(multiclass: bool = False) -> QWidget:
    panel = EvaluationPanel()
    if multiclass:
        panel.set_predictions(demo_multiclass(), title="Demo: three classes")
    else:
        X, _, names = pima_features()
        panel.set_predictions(demo_predictions(), title="Demo: Pima", features=X, feature_names=names)
        panel.set_threshold(0.35)
    return panel


def confusion_widget() -> QWidget:
    pred = demo_predictions()
    view = ConfusionMatrixView()
    view.set_matrix(_core.report(pred, threshold=0.35).confusion_matrix, pred.classes)
    view.set_caption("Demo: threshold 0.35")
    return view


def _curve_widget(attr: str) -> QWidget:
    """One curve view taken out of a demo panel (a child of a hidden window never shows); the
    panel still links its point: drag it and the threshold follows."""
    panel = EvaluationPanel()
    panel.set_predictions(demo_predictions(), title="Demo")
    panel.set_threshold(0.35)
    view: QWidget = getattr(panel, attr)
    panel.curve_tabs.removeTab(panel.curve_tabs.indexOf(view))
    view.setParent(None)
    # The view owns the (hidden) panel, so Qt deletes both together and the link lives as long.
    panel.setParent(view)
    panel.hide()
    return view


def metrics_widget() -> QWidget:
    from evalstudio.core.evaluation.intervals import IntervalSettings, bootstrap_intervals

    pred = demo_predictions()
    report = _core.report(pred, threshold=0.35)
    view = MetricsView()
    view.set_metrics(report.metrics)
    view.set_per_class(report.per_class)
    boot = bootstrap_intervals(pred, threshold=0.35, settings=IntervalSettings(resamples=1000))
    view.set_intervals(boot.intervals().limits)
    return view


def calibration_widget() -> QWidget:
    """The calibration view on the demo: half the rows evaluated, a temperature fitted on the other half."""
    from evalstudio.core.evaluation.calibrate import fit_calibration

    pred = demo_predictions(sharpness=2.0)
    half = np.arange(pred.n_samples) % 2 == 0
    evaluated, calibration_rows = pred.subset(~half), pred.subset(half)
    view = CalibrationPanel()
    view.set_report(_core.calibration(evaluated), title=f"Demo: {evaluated.n_samples} held-out rows")
    view.set_sources([("validation", f"The {calibration_rows.n_samples} validation rows of the training run",
                       True, "")])
    run = fit_calibration(calibration_rows)
    view.set_fit(run, _core.calibration(run.uncalibrated), _core.calibration(run.calibrated),
                 where="validation rows of the training run")
    return view


def kfold_widget() -> QWidget:
    cv = demo_cv_result()
    panel = KFoldPanel()
    panel.start(len(cv.folds), cv.pooled_predictions.classes)
    for f in cv.folds:
        panel.add_fold(f)
    panel.set_result(cv)
    return panel


def audit_widget() -> QWidget:
    audit = ModeAudit(0.771, np.array([0.742, 0.755, 0.731, 0.760, 0.749, 0.738, 0.751, 0.744]), 0.31, 0.06,
                      ("net.2: Dropout", "net.1: BatchNorm1d"))
    panel = ModeAuditPanel()
    panel.set_audit(audit, train_accuracy=0.842, heldout_accuracy=0.771)
    return panel


def compare_widget() -> QWidget:
    """Two demo "models" (the same logistic score with different noise) compared on the Pima rows."""
    from evalstudio.core.evaluation.comparison import compare_predictions
    from evalstudio.core.evaluation.paired_bootstrap import paired_bootstrap, with_bootstrap

    c = compare_predictions([demo_predictions(seed=0), demo_predictions(seed=1)], ["A", "B"], threshold=0.35)
    c = with_bootstrap(c, paired_bootstrap(c.predictions, threshold=0.35, keep_counts=True))
    view = CompareView()
    view.set_model_a("A: demo scores (seed 0)")
    view.set_files("demo scores (seed 1)", None)
    view.set_comparison(c, title=f"Demo: the {c.n_samples} Pima rows, scored by both")
    view.set_kfold_runs(["k-fold run 1", "k-fold run 2"])
    return view


PREVIEWS: dict[str, Callable[[], QWidget]] = {
    "panel": panel_widget,
    "multiclass": lambda: panel_widget(multiclass=True),
    "confusion": confusion_widget,
    "roc": lambda: _curve_widget("roc"),
    "pr": lambda: _curve_widget("pr"),
    "metrics": metrics_widget,
    "kfold": kfold_widget,
    "audit": audit_widget,
    "calibration": calibration_widget,
    "compare": compare_widget,
}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - manual preview
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "panel"
    if name == "panel" and "--multiclass" in args:
        name = "multiclass"
    if name not in PREVIEWS:
        print(f"unknown view {name!r}; one of: {', '.join(PREVIEWS)}", file=sys.stderr)
        return 2
    ensure_app()
    run_preview(PREVIEWS[name]())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
