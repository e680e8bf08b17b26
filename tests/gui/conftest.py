"""GUI fixtures: a real MainWindow with a throw-away settings file and scripted yes/no answers."""

from __future__ import annotations

import pytest

from evalstudio.gui.main_window import MainWindow
from evalstudio.gui.settings import AppSettings


class ScriptedConfirm:
    """Answers the window's yes/no questions and records them."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.questions: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> bool:
        self.questions.append((title, text))
        return self.answer


@pytest.fixture
def settings_path(tmp_path):
    return str(tmp_path / "evalstudio-settings.ini")


@pytest.fixture
def confirm():
    return ScriptedConfirm(True)


@pytest.fixture
def window(qtbot, settings_path, confirm):
    settings = AppSettings(settings_path)
    settings.set_confirm_close_while_running(False)
    w = MainWindow(settings, confirm=confirm)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.controller.shutdown(30000)
    w.close()


def wait_idle(qtbot, window, timeout: int = 60000) -> None:
    """Until no job runs and none is queued."""
    c = window.controller
    qtbot.waitUntil(lambda: c.idle, timeout=timeout)


def evaluate_and_wait(qtbot, window) -> None:
    """Evaluate what is loaded, wait for the result and for every job it starts (audit, intervals)."""
    with qtbot.waitSignal(window.controller.evaluation_finished, timeout=60000):
        window.evaluate()
    wait_idle(qtbot, window)


def load_demo(qtbot, window) -> None:
    from evalstudio.app import open_startup_files

    open_startup_files(window, [], demo=True)
    wait_idle(qtbot, window)
    c = window.controller
    assert c.dataset is not None and c.model is not None, c.messages
