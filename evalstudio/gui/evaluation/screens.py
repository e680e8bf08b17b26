"""Screenshots of the evaluation views, for ``evalstudio screenshots DIR`` and the docs.

:func:`write_evaluation_screenshots` renders confusion.png, roc.png, metrics.png, kfold.png
(and evaluation.png, the whole panel) offscreen, with the threshold moved away from 0.5 so the
linking shows. The screenshots command passes real predictions and a real k-fold result; with
none it uses the numpy-only demo scores of :mod:`evalstudio.gui.evaluation.demo_data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from evalstudio.core.evaluation.predictions import Predictions
    from evalstudio.core.training.results import CVResult

SCREEN_THRESHOLD = 0.35


def _settle(widget: QWidget) -> None:
    widget.show()
    for _ in range(3):
        QApplication.processEvents()


def _grab(widget: QWidget, path: Path, rect: QRect | None = None) -> Path:
    pixmap = widget.grab(rect) if rect is not None else widget.grab()
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def _intervals(predictions: "Predictions"):
    """The bootstrap intervals the app computes in the background, here at once (with the slider's counts)."""
    from evalstudio.core.evaluation.intervals import bootstrap_intervals

    return bootstrap_intervals(predictions, keep_counts=True)


def write_evaluation_screenshots(
    out_dir: str | Path,
    *,
    predictions: "Predictions | None" = None,
    features: np.ndarray | None = None,
    feature_names: tuple[str, ...] = (),
    cv: "CVResult | None" = None,
    threshold: float = SCREEN_THRESHOLD,
    title: str = "Pima diabetes: held-out evaluation",
) -> list[Path]:
    """Write the evaluation screenshots into ``out_dir`` and return their paths.

    Needs a QApplication (the screenshots command runs one with ``QT_QPA_PLATFORM=offscreen``).
    """
    from evalstudio.gui.evaluation import demo_data as _demo
    from evalstudio.gui.evaluation.kfold_view import KFoldPanel
    from evalstudio.gui.evaluation.panel import EvaluationPanel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if predictions is None:
        predictions = _demo.demo_predictions()
        features, _, feature_names = _demo.pima_features()
    if cv is None:
        cv = _demo.demo_cv_result()
    written: list[Path] = []

    panel = EvaluationPanel()
    panel.resize(1400, 900)
    panel.set_predictions(predictions, title=title, features=features, feature_names=feature_names)
    panel.set_intervals(_intervals(predictions))
    panel.set_threshold(threshold)
    _settle(panel)
    panel._show_rows("matrix", 1, 0)  # as if the false-negative cell was clicked
    panel.confusion.select(1, 0)
    _settle(panel)
    written.append(_grab(panel.matrix_tabs, out / "confusion.png"))
    written.append(_grab(panel.curve_tabs, out / "roc.png"))
    written.append(_grab(panel.metrics, out / "metrics.png"))
    written.append(_grab(panel, out / "evaluation.png"))
    panel.close()
    panel.deleteLater()

    kfold = KFoldPanel()
    kfold.resize(1300, 850)
    kfold.start(len(cv.folds), cv.pooled_predictions.classes)
    for fold in cv.folds:
        kfold.add_fold(fold)
    kfold.set_result(cv)
    kfold.pooled.set_intervals(_intervals(cv.pooled_predictions))
    kfold.pooled.set_threshold(threshold)
    _settle(kfold)
    written.append(_grab(kfold, out / "kfold.png"))
    kfold.tabs.setCurrentIndex(1)
    _settle(kfold)
    written.append(_grab(kfold, out / "kfold_roc.png"))
    kfold.close()
    kfold.deleteLater()
    QApplication.processEvents()
    return written


def main() -> None:  # pragma: no cover - manual use
    import os
    import sys

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv)
    for p in write_evaluation_screenshots(sys.argv[1] if len(sys.argv) > 1 else "screenshots"):
        print(p)
    del app


if __name__ == "__main__":  # pragma: no cover
    main()
