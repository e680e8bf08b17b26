"""Run one job at a time in a fresh QThread, stamp it with a run id, forward its signals.

The runner lives in the GUI thread. Its slots receive the job's signals through queued
connections (a worker's signal connected to a bound ``@Slot`` of a GUI-thread object runs in the
GUI thread; a lambda would run in the worker thread under PySide6 6.12), drop any that carry an
old run id, and re-emit them without the id for the controller.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from evalstudio.workers.job import Job


class JobRunner(QObject):
    """One background job at a time.

    Signals
    -------
    job_started(title), job_finished(title)
    busy_changed(busy)
    progressed(percent, text)
    reported(kind, payload)
    succeeded(title, result), failed(title, message), cancelled(title)
    refused(message)
        A job was started while another ran; the message says which and what to do.
    """

    job_started = Signal(str)
    job_finished = Signal(str)
    busy_changed = Signal(bool)
    progressed = Signal(int, str)
    reported = Signal(str, object)
    succeeded = Signal(str, object)
    failed = Signal(str, str)
    cancelled = Signal(str)
    refused = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run_id = 0
        self._job: Job | None = None
        self._thread: QThread | None = None

    # -- state ----------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def run_id(self) -> int:
        """Id of the current (or last) run."""
        return self._run_id

    @property
    def current_title(self) -> str | None:
        return self._job.title if self._job is not None else None

    # -- commands -------------------------------------------------------------------------------
    def start(self, job: Job) -> bool:
        """Start ``job`` in a new thread; refuse (and say so) when one is already running."""
        if self._job is not None:
            self.refused.emit(
                f"cannot start {job.title}: {self._job.title} is still running. "
                "Press Stop or wait for it to finish, then try again."
            )
            return False
        self._run_id += 1
        job.run_id = self._run_id
        thread = QThread()
        thread.setObjectName(f"evalstudio-{job.title}-{self._run_id}")
        job.moveToThread(thread)
        thread.started.connect(job.run)
        # quit() is thread-safe; a direct call ends the worker's event loop right after run().
        job.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        job.progressed.connect(self._on_progressed)
        job.reported.connect(self._on_reported)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        thread.finished.connect(self._on_thread_finished)
        self._job, self._thread = job, thread
        self.busy_changed.emit(True)
        self.job_started.emit(job.title)
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop (it stops at its next batch boundary)."""
        if self._job is not None:
            self._job.cancel()

    def wait(self, timeout_ms: int = 30000) -> bool:
        """Block until the running job's thread has ended (True) or the timeout passed (False).

        The job's last signals are then still queued; the caller's event loop delivers them.
        """
        thread = self._thread
        if thread is None:
            return True
        return bool(thread.wait(timeout_ms))

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel, wait for the thread, and forget the job (used when the window closes)."""
        self.cancel()
        ok = self.wait(timeout_ms)
        if ok and self._thread is not None:
            self._release()
        return ok

    # -- slots (GUI thread) ---------------------------------------------------------------------
    def _current(self, run_id: int) -> Job | None:
        """The running job when ``run_id`` is its run; None for a signal from an older run."""
        return self._job if run_id == self._run_id else None

    @Slot(int, int, str)
    def _on_progressed(self, run_id: int, percent: int, text: str) -> None:
        if self._current(run_id) is not None:
            self.progressed.emit(percent, text)

    @Slot(int, str, object)
    def _on_reported(self, run_id: int, kind: str, payload: object) -> None:
        if self._current(run_id) is not None:
            self.reported.emit(kind, payload)

    @Slot(int, object)
    def _on_succeeded(self, run_id: int, result: object) -> None:
        if (job := self._current(run_id)) is not None:
            self.succeeded.emit(job.title, result)

    @Slot(int, str)
    def _on_failed(self, run_id: int, message: str) -> None:
        if (job := self._current(run_id)) is not None:
            self.failed.emit(job.title, message)

    @Slot(int)
    def _on_cancelled(self, run_id: int) -> None:
        if (job := self._current(run_id)) is not None:
            self.cancelled.emit(job.title)

    @Slot()
    def _on_thread_finished(self) -> None:
        # Queued after every signal the job emitted, so the outcome has been delivered.
        if self._thread is None or self.sender() is not self._thread:
            return
        self._release()

    def _release(self) -> None:
        job, thread = self._job, self._thread
        self._job = self._thread = None
        if thread is not None:
            thread.wait()  # already past its event loop: returns at once
        # Dropping the last references destroys both objects here, in the GUI thread, now that the
        # job's thread has ended (its event loop is gone, so nothing else can touch the job).
        title = job.title if job is not None else ""
        self.busy_changed.emit(False)
        self.job_finished.emit(title)
