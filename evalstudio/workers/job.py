"""The job contract: a QObject whose ``run()`` calls one core function in a worker thread.

Every signal carries the job's run id first, so the :class:`~evalstudio.workers.runner.JobRunner`
can drop whatever an older run still had in the queue (ndv stamps requests the same way).

A job ends with exactly one of ``succeeded`` / ``cancelled`` / ``failed``, then ``finished``
(superqt's worker contract). ``run()`` catches everything: nothing dies silently in a thread, and
the window never stays stuck in "running".
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from evalstudio.core.errors import Cancelled, EvalStudioError
from evalstudio.workers.progress import ProgressThrottle, format_eta


def describe_exception(exc: BaseException) -> str:
    """The text a person sees in the window for an exception raised inside a job (an
    :class:`EvalStudioError` in the window's words: its controls, not command-line flags)."""
    if isinstance(exc, EvalStudioError):
        return exc.text("app")
    if isinstance(exc, SystemExit):  # only user code raises it in a job: an error, never a silent end
        return (f"code in the model file called sys.exit({exc.code!r}), which evalstudio treats as an error. "
                "Remove the exit: importing the file, building the model and forward() must return.")
    if isinstance(exc, MemoryError):
        return "out of memory. Try a smaller batch size, a smaller file, or close other programs."
    text = str(exc).strip()
    if "out of memory" in text.lower():
        return f"out of memory: {text.splitlines()[0]} Try a smaller batch size or the CPU device."
    return (
        f"unexpected {type(exc).__name__}: {text or '(no message)'}. This is a bug in evalstudio or an "
        "input it did not foresee: the app is still usable; please report it with the traceback printed "
        "on the terminal."
    )

class Job(QObject):
    """Base class: subclasses implement :meth:`work` and may call :meth:`report_progress`/:meth:`report`.

    Signals (each with the run id first)
    -------------------------------------
    progressed(run_id, percent, text)
        Throttled: at most once per whole percent.
    reported(run_id, kind, payload)
        A typed event on the way, e.g. ``("epoch", EpochMetrics)`` or ``("fold", FoldResult)``.
    succeeded(run_id, result), failed(run_id, message), cancelled(run_id)
        Exactly one of these per run.
    finished(run_id)
        Always last.
    """

    progressed = Signal(int, int, str)
    reported = Signal(int, str, object)
    succeeded = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    finished = Signal(int)

    #: What the status bar calls this job ("training", "loading data").
    title = "job"

    def __init__(self) -> None:
        super().__init__()
        self.run_id = 0
        # Set from the GUI thread; read by the core function between batches. A queued slot
        # would not do: it would only run after run() returned.
        self.cancel_event = threading.Event()
        self._throttle = ProgressThrottle(self._emit_progress)
        self._progress_text = ""

    # -- called from the GUI thread -------------------------------------------------------------
    def cancel(self) -> None:
        """Ask the job to stop at the next batch boundary (thread-safe)."""
        self.cancel_event.set()

    # -- called from the worker thread ----------------------------------------------------------
    def work(self) -> Any:
        """Do the job and return its result. Raise :class:`Cancelled` when cancelled."""
        raise NotImplementedError

    def check_cancelled(self) -> None:
        """Raise :class:`Cancelled` when the cancel event is set."""
        if self.cancel_event.is_set():
            raise Cancelled()

    def report_progress(self, done: float, total: float, text: str = "") -> None:
        """Progress ``done`` of ``total``; emitted only when the whole percentage changes."""
        self._progress_text = text
        self._throttle.update(done, total)

    def report(self, kind: str, payload: object) -> None:
        """Emit a typed event (not throttled: use for epochs and folds, not batches)."""
        self.reported.emit(self.run_id, kind, payload)

    def _emit_progress(self, percent: int, eta: float | None) -> None:
        text = " · ".join(t for t in (self._progress_text, format_eta(eta)) if t)
        self.progressed.emit(self.run_id, percent, text)

    @Slot()
    def run(self) -> None:
        """Run :meth:`work`, then emit exactly one outcome and ``finished``."""
        run_id = self.run_id
        try:
            self._throttle.restart()
            result = self.work()
        except Cancelled:
            self.cancelled.emit(run_id)
        except BaseException as exc:  # noqa: BLE001 -- the whole point: nothing dies silently
            if not isinstance(exc, EvalStudioError):
                # Worded message in the window; the traceback on stderr for the bug report.
                traceback.print_exc(file=sys.stderr)
            self.failed.emit(run_id, describe_exception(exc))
        else:
            if self.cancel_event.is_set() and result is None:
                self.cancelled.emit(run_id)
            else:
                self.succeeded.emit(run_id, result)
        finally:
            # Nothing but this signal after run(): the job is not moved back to the GUI thread.
            # moveToThread here held the GIL while it waited for a Qt lock that the GUI thread
            # held while it waited for the GIL (closing a window): a deadlock seen in the test
            # suite. The runner drops the job only after this thread has ended, when destroying it
            # from the GUI thread is safe (no event loop runs it, it owns no timers).
            self.finished.emit(run_id)
