"""``evalstudio screenshots DIR`` writes a real PNG per view (a short demo run)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from evalstudio.cli import main as cli_main


@pytest.mark.slow
def test_screenshots_command_writes_every_view(tmp_path, capsys):
    out = tmp_path / "shots"
    assert cli_main(["screenshots", str(out), "--epochs", "3", "--folds", "2", "--kfold-epochs", "2",
                     "--size", "1200x800"]) == 0
    captured = capsys.readouterr()
    printed = captured.out.split()
    for name in ("data.png", "model.png", "compare.png", "training.png", "confusion.png", "roc.png", "metrics.png",
                 "kfold.png", "calibration.png", "columns.png"):
        path = out / name
        assert str(path) in printed
        image = QImage(str(path))
        assert not image.isNull() and image.width() >= (1000 if name in ("data.png", "model.png", "training.png",
                                                                         "calibration.png", "compare.png",
                                                                         "columns.png")
                                                        else 200), name
        # Not a blank grab: a screenshot of the window has many colours.
        colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 23)}
        assert len(colours) > 5, name


def test_screenshots_command_rejects_a_bad_size(tmp_path, capsys):
    assert cli_main(["screenshots", str(tmp_path), "--size", "big"]) == 2
    assert capsys.readouterr().err.strip() == "error: --size 'big' is not WIDTHxHEIGHT. Write e.g. --size 1400x900."
