"""An event-loop heartbeat: how long did the GUI thread go without running its timers?

A ``QTimer`` ticks every ``interval_ms``; each tick records the time since the previous one. The
largest gap minus the interval is the longest the event loop was blocked (a stall the user feels
as a frozen window). Used by the tests (no stall above 100 ms while training) and by the
benchmark suite (largest stall while a run streams epochs).

Example
-------
>>> hb = Heartbeat(interval_ms=10)
>>> hb.start()
>>> ...  # run the event loop while work happens
>>> hb.stop()
>>> hb.max_stall_ms  # doctest: +SKIP
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class Heartbeat(QObject):
    """Measure event-loop stalls on the thread that owns it (the GUI thread).

    Parameters
    ----------
    interval_ms : int
        Timer period. 10 ms resolves stalls well below the 100 ms a person notices.

    Attributes
    ----------
    max_gap_ms : float
        Largest time between two consecutive ticks, in milliseconds.
    n_ticks : int
        Ticks seen since :meth:`start`.
    """

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = int(interval_ms)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self.interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last: float | None = None
        self.max_gap_ms = 0.0
        self.n_ticks = 0
        self.gaps_ms: list[float] = []

    @property
    def max_stall_ms(self) -> float:
        """Largest gap beyond the timer's own period (0 when the loop never blocked)."""
        return max(0.0, self.max_gap_ms - self.interval_ms)

    def start(self) -> None:
        """Reset the record and start ticking."""
        self.max_gap_ms = 0.0
        self.n_ticks = 0
        self.gaps_ms = []
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stop ticking; the record stays readable."""
        self._timer.stop()
        self._tick()  # a stall right before stop counts too
        self._last = None

    def __enter__(self) -> "Heartbeat":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @Slot()
    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            gap = (now - self._last) * 1000.0
            self.gaps_ms.append(gap)
            self.max_gap_ms = max(self.max_gap_ms, gap)
            self.n_ticks += 1
        self._last = now
