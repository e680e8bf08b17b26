"""The job runner's contract, with small jobs that need no model: outcomes, cancel, refusal, floods."""

from __future__ import annotations

import time

import pytest

from evalstudio.core.errors import DataError
from evalstudio.workers.heartbeat import Heartbeat
from evalstudio.workers.job import Job
from tests.workers.conftest import Recorder


class CountingJob(Job):
    """``n`` steps of ``pause`` seconds; reports each step, checks the cancel token between steps."""

    title = "counting"

    def __init__(self, n: int = 5, pause: float = 0.0) -> None:
        super().__init__()
        self.n, self.pause = n, pause

    def work(self) -> int:
        for i in range(1, self.n + 1):
            self.check_cancelled()
            if self.pause:
                time.sleep(self.pause)
            self.report("step", i)
            self.report_progress(i, self.n, f"step {i}/{self.n}")
        return self.n


class RaisingJob(Job):
    title = "raising"

    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def work(self) -> None:
        raise self.exc


class FloodJob(Job):
    """Emits ``n`` events as fast as it can (the PySide6 6.12 per-emit refcount bug aborted here)."""

    title = "flood"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def work(self) -> int:
        for i in range(self.n):
            self.report("tick", i)
            self.report_progress(i + 1, self.n)
        return self.n


def test_job_reports_in_order_then_succeeds(qtbot, runner):
    rec = Recorder(runner)
    with qtbot.waitSignals(
        [runner.job_started, runner.reported, runner.reported, runner.reported, runner.succeeded, runner.job_finished],
        order="strict", timeout=5000,
    ):
        assert runner.start(CountingJob(3))
    assert rec.events == [("step", 1), ("step", 2), ("step", 3), ("succeeded", 3)]
    assert rec.progress[-1] == 100
    assert not runner.busy


def test_cancel_mid_run_ends_in_cancelled_and_runner_is_ready_again(qtbot, runner):
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.job_finished, timeout=10000):
        runner.start(CountingJob(1000, pause=0.005))
        qtbot.waitUntil(lambda: len(rec.events) >= 3, timeout=5000)
        runner.cancel()
    kinds = [k for k, _ in rec.events]
    assert kinds[-1] == "cancelled"
    assert "succeeded" not in kinds and "failed" not in kinds
    assert len(kinds) < 1000  # it really stopped early
    # Ready for the next run.
    with qtbot.waitSignal(runner.succeeded, timeout=5000):
        assert runner.start(CountingJob(2))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (DataError("column 'age' has 3 missing values.", hint="Use drop missing."),
         "column 'age' has 3 missing values. Use drop missing."),
        (ValueError("boom"), "unexpected ValueError: boom"),
        (MemoryError(), "out of memory. Try a smaller batch size"),
        (SystemExit(3), "code in the model file called sys.exit(3), which evalstudio treats as an error"),
        (SystemExit(0), "code in the model file called sys.exit(0)"),
    ],
)
def test_job_that_raises_ends_in_failed_with_a_clear_message(qtbot, runner, exc, expected, capsys):
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        runner.start(RaisingJob(exc))
    assert len(rec.events) == 1
    kind, message = rec.events[0]
    assert kind == "failed"
    assert str(message).startswith(expected)
    assert not runner.busy


def test_second_job_is_refused_visibly(qtbot, runner):
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.job_finished, timeout=10000):
        assert runner.start(CountingJob(50, pause=0.01))
        assert not runner.start(RaisingJob(ValueError("never runs")))
        runner.cancel()
    refused = [m for k, m in rec.events if k == "refused"]
    assert refused == [
        "cannot start raising: counting is still running. Press Stop or wait for it to finish, then try again."
    ]
    assert not any(k == "failed" for k, _ in rec.events)


def test_ten_thousand_emits_across_threads_arrive_and_progress_is_throttled(qtbot, runner):
    rec = Recorder(runner)
    started = time.perf_counter()
    with qtbot.waitSignal(runner.job_finished, timeout=30000):
        runner.start(FloodJob(10_000))
    seconds = time.perf_counter() - started
    assert rec.n_ticks == 10_000
    assert rec.events == [("succeeded", 10_000)]
    # One progress report per whole percent (plus one a second while it stands still), not one per step.
    assert len(rec.progress) <= 101 + int(seconds) + 1
    assert rec.progress == sorted(rec.progress) and rec.progress[-1] == 100


def test_signals_from_an_older_run_are_dropped(qtbot, runner):
    rec = Recorder(runner)
    job = CountingJob(1)
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        runner.start(job)
    before = list(rec.events)
    # A late signal carrying the finished run's id must not reach the controller.
    runner._on_reported(runner.run_id, "step", 99)
    runner._on_succeeded(runner.run_id - 1, "stale")
    assert rec.events == before


def test_heartbeat_sees_no_stall_while_a_job_runs(qtbot, runner):
    hb = Heartbeat(interval_ms=10)
    hb.start()
    with qtbot.waitSignal(runner.job_finished, timeout=10000):
        runner.start(CountingJob(40, pause=0.005))
    qtbot.wait(50)
    hb.stop()
    assert hb.n_ticks > 5
    assert hb.max_stall_ms < 100


def test_heartbeat_detects_a_blocked_event_loop(qtbot):
    hb = Heartbeat(interval_ms=10)
    hb.start()
    qtbot.wait(30)
    time.sleep(0.15)  # block the GUI thread on purpose
    qtbot.wait(30)
    hb.stop()
    assert hb.max_stall_ms >= 100
