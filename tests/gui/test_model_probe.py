"""The app runs a model file first in a child process: a crash or an exit is a message, Stop ends a hang."""

from __future__ import annotations

import contextlib
import os
import sys
import textwrap
import threading
import time

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



@pytest.mark.parametrize(("source", "expected"), [
    ("import os\nos._exit(7)\n", "ended the Python process with exit code 7"),
    ("import sys\n\ndef build_model(n_features=8):\n    sys.exit(0)\n", "calls sys.exit(0) at line 4"),
    ("import sys\n\ndef build_model(n_features=8):\n    sys.exit(3)\n", "calls sys.exit(3) at line 4"),
    pytest.param("import ctypes\nctypes.string_at(0)\n", "crashed Python (SIGSEGV, a segmentation fault) at line 2",
                 marks=pytest.mark.skipif(sys.platform == "win32", reason="reads a POSIX signal")),
])
def test_exits_and_crashes_in_a_model_file_are_a_message_and_the_app_stays_usable(qtbot, window, tmp_path,
                                                                                   source, expected):
    load_data(qtbot, window)
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    window.choose_model(str(bad))
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert expected in window.message_area.text
    assert window.controller.model is None
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    window.choose_model(str(good))
    wait_idle(qtbot, window)
    assert window.controller.model is not None


EXITS_ON_REAL_DATA = textwrap.dedent("""
    import sys
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 1)

        def forward(self, x):
            if x.shape[0] > 2:  # the 2-row probe passes
                sys.exit(0)
            return self.lin(x)
""")


def test_sys_exit_in_forward_on_the_real_data_is_an_error_in_the_window(qtbot, window, tmp_path):
    load_data(qtbot, window)
    model = tmp_path / "exits_later.py"
    model.write_text(EXITS_ON_REAL_DATA)
    window.choose_model(str(model))
    wait_idle(qtbot, window)
    assert window.controller.model is not None
    window.evaluate()
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert "forward() calls sys.exit(0) while evaluating, which evalstudio treats as an error" in window.message_area.text
    assert window.controller.idle


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("how", ["choose_model", "choose_checkpoint", "open_files"])
def test_a_named_pipe_chosen_in_the_window_is_refused_instead_of_freezing_it(qtbot, window, tmp_path, how):
    pipe = tmp_path / "pipe.py"
    os.mkfifo(pipe)
    opened = threading.Event()

    def unblock() -> None:  # a read of the pipe would block the GUI thread: open its other end after a while
        if not opened.wait(20):
            with contextlib.suppress(OSError):
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))

    helper = threading.Thread(target=unblock, daemon=True)
    helper.start()
    started = time.monotonic()
    if how == "open_files":
        window.open_files([str(pipe)])
    else:
        getattr(window, how)(str(pipe))
    opened.set()
    helper.join()
    assert time.monotonic() - started < 15, "the window blocked on the pipe"
    wait_idle(qtbot, window)
    assert window.message_area.level == "error"
    assert "is a named pipe (FIFO), not a regular file" in window.message_area.text
    assert "open that file instead" in window.message_area.text


STUCK_ON_REAL_ROWS = textwrap.dedent("""
    import os, time
    import torch.nn as nn

    FLAG = {flag!r}

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(8, 1)

        def forward(self, x):
            while x.shape[0] > 4 and not os.path.exists(FLAG):  # the 2-row probe passes; the real rows hang
                time.sleep(0.01)
            return self.lin(x)
""")


@pytest.mark.parametrize("quit_anyway", [False, True])
def test_closing_while_user_code_ignores_stop_asks_and_never_freezes(qtbot, window, tmp_path, monkeypatch,
                                                                    quit_anyway):
    """A forward() that hangs only on the real rows: closing waits a while, then the person decides."""
    from evalstudio.gui import main_window

    monkeypatch.setattr(main_window, "STOP_WAIT_MS", 600)
    flag = tmp_path / "release"
    load_data(qtbot, window)
    c = window.controller
    stuck = tmp_path / "stuck.py"
    stuck.write_text(STUCK_ON_REAL_ROWS.format(flag=str(flag)))
    window.choose_model(str(stuck))
    wait_idle(qtbot, window)
    assert c.model is not None
    questions: list[str] = []
    quits: list[bool] = []

    def answer(title: str, _text: str) -> bool:
        questions.append(title)
        return True if title == "Stop and quit?" else quit_anyway

    window.confirm = answer
    monkeypatch.setattr(window, "_quit_now", lambda: quits.append(True))
    try:
        window.evaluate()
        qtbot.waitUntil(lambda: c.busy, timeout=10000)
        qtbot.wait(300)
        started = time.monotonic()
        window.close()
        assert time.monotonic() - started < 10  # waited about STOP_WAIT_MS, not a minute
        assert questions[-1:] == ["Quit anyway?"] and questions.count("Quit anyway?") == 1
        assert window.isVisible() or quit_anyway
        assert quits == ([True] if quit_anyway else [])
        if not quit_anyway:
            assert window.message_area.level == "error" and "did not stop" in window.message_area.text
            assert "Close the window again" in window.message_area.text
    finally:
        flag.write_text("")  # let the thread end, so the test leaves none behind
    qtbot.waitUntil(lambda: not c.busy, timeout=30000)
