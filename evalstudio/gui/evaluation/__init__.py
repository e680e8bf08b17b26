"""Evaluation views: one decision threshold linking the confusion matrix, metrics, ROC and PR.

Public widgets (wired into the main window's tabs by the app shell):

- :class:`EvaluationPanel` -- a held-out or pooled out-of-fold evaluation
- :class:`KFoldPanel` -- folds as they finish, their summary, ROC per fold, pooled evaluation
- :class:`ModeAuditPanel` -- train-mode vs eval-mode spread, train vs held-out gap
- :class:`CalibrationPanel` -- reliability diagram, Brier, ECE and the temperature fit

They render what the core computed (:mod:`evalstudio.core.evaluation.metrics`,
:mod:`~evalstudio.core.evaluation.thresholds`, :mod:`~evalstudio.core.evaluation.curves`, reached
through :mod:`evalstudio.gui.evaluation._core`) and emit the user's intent; nothing here recomputes
a metric. Any view runs alone on demo data: ``python -m evalstudio.gui.evaluation.previews NAME``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CalibrationPanel", "EvaluationPanel", "KFoldPanel", "ModeAuditPanel"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing one view module does not build the others (and pyqtgraph) first.
    if name == "EvaluationPanel":
        from evalstudio.gui.evaluation.panel import EvaluationPanel

        return EvaluationPanel
    if name == "KFoldPanel":
        from evalstudio.gui.evaluation.kfold_view import KFoldPanel

        return KFoldPanel
    if name == "ModeAuditPanel":
        from evalstudio.gui.evaluation.mode_audit_view import ModeAuditPanel

        return ModeAuditPanel
    if name == "CalibrationPanel":
        from evalstudio.gui.evaluation.calibration_view import CalibrationPanel

        return CalibrationPanel
    raise AttributeError(name)
