"""Shared worker-test pieces: a GUI-thread receiver of the runner's signals, and a runner."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Slot

from evalstudio.workers.runner import JobRunner


class Recorder(QObject):
    """A GUI-thread receiver with bound slots (never lambdas: they would run in the worker)."""

    def __init__(self, runner: JobRunner) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        self.progress: list[int] = []
        self.n_ticks = 0
        runner.reported.connect(self.on_reported)
        runner.progressed.connect(self.on_progressed)
        runner.succeeded.connect(self.on_succeeded)
        runner.failed.connect(self.on_failed)
        runner.cancelled.connect(self.on_cancelled)
        runner.refused.connect(self.on_refused)

    @Slot(str, object)
    def on_reported(self, kind: str, payload: object) -> None:
        if kind == "tick":
            self.n_ticks += 1
        else:
            self.events.append((kind, payload))

    @Slot(int, str)
    def on_progressed(self, percent: int, text: str) -> None:
        self.progress.append(percent)

    @Slot(str, object)
    def on_succeeded(self, title: str, result: object) -> None:
        self.events.append(("succeeded", result))

    @Slot(str, str)
    def on_failed(self, title: str, message: str) -> None:
        self.events.append(("failed", message))

    @Slot(str)
    def on_cancelled(self, title: str) -> None:
        self.events.append(("cancelled", title))

    @Slot(str)
    def on_refused(self, message: str) -> None:
        self.events.append(("refused", message))


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    r.shutdown(30000)
