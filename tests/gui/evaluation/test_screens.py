"""The evaluation screenshots the screenshots command and the docs use."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from evalstudio.gui.evaluation.screens import write_evaluation_screenshots


def test_writes_the_evaluation_screenshots(qapp, tmp_path) -> None:
    paths = write_evaluation_screenshots(tmp_path)
    names = {p.name for p in paths}
    assert {"confusion.png", "roc.png", "metrics.png", "kfold.png"} <= names
    for p in paths:
        image = QImage(str(p))
        assert not image.isNull() and image.width() > 200 and image.height() > 200
        # not a blank grab: more than a handful of distinct colours
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 5, p.name


MODULES = ("panel", "confusion_view", "roc_view", "pr_view", "metrics_view", "kfold_view", "mode_audit_view")


@pytest.mark.parametrize("module", MODULES)
def test_each_view_module_runs_alone_in_its_own_window(qtbot, monkeypatch, module) -> None:
    """``python -m evalstudio.gui.evaluation.<module>`` shows a window with something in it.

    (roc_view and pr_view once previewed a widget still inside a hidden panel: a black screen.)
    """
    import importlib

    from evalstudio.gui.evaluation import _demo

    shown = []

    def preview(widget) -> None:
        qtbot.addWidget(widget)
        widget.resize(700, 500)
        widget.show()
        qtbot.waitExposed(widget)
        shown.append((widget.parentWidget(), widget.isVisible(), widget.grab().toImage()))

    monkeypatch.setattr(_demo, "run_preview", preview)
    monkeypatch.setattr("sys.argv", ["preview"])
    importlib.import_module(f"evalstudio.gui.evaluation.{module}").main()
    assert len(shown) == 1
    parent, visible, image = shown[0]
    assert parent is None and visible
    colours = {image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}
    assert len(colours) > 5
