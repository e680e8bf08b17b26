"""The evaluation screenshots the screenshots command and the docs use."""

from __future__ import annotations

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
