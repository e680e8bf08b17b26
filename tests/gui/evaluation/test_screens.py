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


@pytest.mark.parametrize("name", ["panel", "multiclass", "confusion", "roc", "pr", "metrics", "kfold", "audit"])
def test_each_view_previews_alone_in_its_own_window(qtbot, name) -> None:
    """``python -m evalstudio.gui.evaluation.previews NAME`` shows a window with something in it.

    (roc and pr once previewed a widget still inside a hidden panel: a black screen.)
    """
    from evalstudio.gui.evaluation.previews import PREVIEWS

    widget = PREVIEWS[name]()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.parentWidget() is None and widget.isVisible()
    image = widget.grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}
    assert len(colours) > 5


def test_previews_command_refuses_an_unknown_view(capsys) -> None:
    from evalstudio.gui.evaluation.previews import main

    assert main(["nonsense"]) == 2
    assert "unknown view 'nonsense'" in capsys.readouterr().err
