"""Shared test set-up.

Qt's platform and pyqtgraph's binding must be chosen before anything imports Qt, so they are set
here at import time (conftest.py is imported before any test module). ``tests/core`` never imports
Qt; the dangling-thread guard below only arms itself for tests that already loaded PySide6.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator
from weakref import WeakKeyDictionary

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


@pytest.fixture(autouse=True, scope="session")
def _probe_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Model files that passed their child-process probe are remembered in one folder for the
    session (as a user's cache folder would), never in the real home directory."""
    old = os.environ.get("EVALSTUDIO_CACHE_DIR")
    os.environ["EVALSTUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("evalstudio-cache"))
    yield
    if old is None:
        os.environ.pop("EVALSTUDIO_CACHE_DIR", None)
    else:
        os.environ["EVALSTUDIO_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _dangling_qthreads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test whose QThread is still running when the test ends (napari's guard).

    Every ``QThread.start`` during the test records the stack that started it; after the test,
    any of those threads still running fails the test with that stack, because a running
    QThread destroyed at exit aborts the interpreter ("QThread: Destroyed while thread is still
    running").
    """
    if "PySide6.QtCore" not in sys.modules:
        yield
        return
    from PySide6.QtCore import QThread

    started: WeakKeyDictionary[QThread, str] = WeakKeyDictionary()
    base_start = QThread.start

    def start_and_remember(self: QThread, *args: object) -> None:
        started[self] = "".join(traceback.format_stack(limit=12))
        base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    dangling = []
    for thread, stack in list(started.items()):
        try:
            running = thread.isRunning()
        except RuntimeError:  # the C++ object is already gone: not dangling
            continue
        if running:
            # Give a thread that is just finishing a moment before calling it a leak.
            if not thread.wait(2000):
                dangling.append(stack)
    if dangling:
        pytest.fail(
            f"{len(dangling)} QThread(s) still running after the test; started at:\n" + "\n---\n".join(dangling)
        )
