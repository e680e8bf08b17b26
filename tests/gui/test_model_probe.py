"""The app runs a model file first in a child process: a crash or an exit is a message, Stop ends a hang."""

from __future__ import annotations

import textwrap

import pytest
from PySide6.QtCore import Qt

from evalstudio.resources import resource_path
from tests.gui.conftest import wait_idle


def load_data(qtbot, window) -> None:
    window.controller.open_data(str(resource_path("demo", "pima-indians-diabetes.csv")))
    wait_idle(qtbot, window)
    assert window.controller.dataset is not None

GOOD = textwrap.dedent("""
    import torch.nn as nn

    def build_model(n_features=8):
        return nn.Sequential(nn.Linear(n_features, 4), nn.ReLU(), nn.Linear(4, 1))
""")


def test_a_model_file_that_kills_python_leaves_the_app_running_with_a_message(qtbot, window, tmp_path):
    load_data(qtbot, window)
    bad = tmp_path / "exits.py"
    bad.write_text("import os\nos._exit(7)\n")
    window.choose_model(str(bad))
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert "ended the Python process with exit code 7" in window.message_area.text
    assert window.controller.model is None
    # Still usable: a good model loads.
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    window.choose_model(str(good))
    wait_idle(qtbot, window)
    assert window.controller.model is not None


@pytest.mark.slow
def test_stop_ends_a_model_file_that_hangs(qtbot, window, tmp_path):
    load_data(qtbot, window)
    c = window.controller
    hangs = tmp_path / "hangs.py"
    hangs.write_text("import torch\nwhile True:\n    pass\n")
    window.choose_model(str(hangs))
    qtbot.waitUntil(lambda: c.busy, timeout=10000)
    qtbot.wait(500)
    assert window.training_panel.stop_button.isEnabled()
    qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: c.idle, timeout=10000)  # the child was killed: no thread left stuck in the file
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    window.choose_model(str(good))
    wait_idle(qtbot, window)
    assert c.model is not None


@pytest.mark.slow
def test_a_hang_ends_at_the_timeout_with_a_message(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("EVALSTUDIO_MODEL_TIMEOUT", "3")
    load_data(qtbot, window)
    hangs = tmp_path / "hangs_in_forward.py"
    hangs.write_text(textwrap.dedent("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(8, 1)

            def forward(self, x):
                while True:
                    pass
    """))
    window.choose_model(str(hangs))
    wait_idle(qtbot, window, timeout=60000)
    assert window.message_area.level == "error"
    text = window.message_area.text
    assert "did not finish running forward() on 2 rows within 3 s" in text
    assert "EVALSTUDIO_MODEL_TIMEOUT" in text and "--model-timeout" not in text

