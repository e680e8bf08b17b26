"""Throttled progress with an ETA: report when the whole percentage changes, not per batch.

Orange's ``TaskState`` does the same: a training run of 100,000 batches must not post 100,000
events to the GUI thread. A long job also reports at most once a ``heartbeat`` (1 s) while the
percentage stands still: on a 1M-row file one percent of a 100-epoch run is a whole epoch, and
"0%" with no ETA for minutes looks like a hang. Qt-free on purpose so it can be tested without
an event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def format_eta(seconds: float | None) -> str:
    """``"ETA 1:05"`` for 65 s, ``"ETA 1:02:03"`` past an hour, ``""`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"ETA {h}:{m:02d}:{sec:02d}" if h else f"ETA {m}:{sec:02d}"


class ProgressThrottle:
    """Turn a stream of ``(done, total)`` updates into at most ~101 reports.

    Parameters
    ----------
    report : callable (percent: int, eta_seconds: float | None) -> None
        Called when the integer percentage changes (and once at 100).
    clock : callable returning seconds, optional
        For tests; defaults to :func:`time.perf_counter`.
    heartbeat : float or None, default 1.0
        While the percentage stands still, report again (fresh ETA and text) after this many
        seconds; None: only on percentage changes. At most ``101 + duration / heartbeat`` reports.
    """

    #: Seconds of evidence after which an ETA is given even before 2 % is done.
    ETA_AFTER_S = 3.0

    def __init__(
        self, report: Callable[[int, float | None], None], *, clock: Callable[[], float] = time.perf_counter,
        heartbeat: float | None = 1.0,
    ) -> None:
        self._report = report
        self._clock = clock
        self._heartbeat = heartbeat
        self._start = clock()
        self._last_time = self._start
        self._last_percent = -1
        self.n_reports = 0

    def restart(self) -> None:
        """Start timing afresh (a new phase); the next update reports again."""
        self._start = self._last_time = self._clock()
        self._last_percent = -1

    def update(self, done: float, total: float) -> bool:
        """Record progress; returns True when it was reported."""
        if total <= 0:
            return False
        fraction = min(max(done / total, 0.0), 1.0)
        percent = int(fraction * 100)
        now = self._clock()
        if percent == self._last_percent and (self._heartbeat is None or now - self._last_time < self._heartbeat):
            return False
        self._last_percent, self._last_time = percent, now
        elapsed = now - self._start
        # An ETA from the first 1 % of a fast job is noise; say nothing until there is some evidence.
        eta = elapsed * (1.0 - fraction) / fraction if fraction > 0 and (
            fraction >= 0.02 or elapsed >= self.ETA_AFTER_S) else None
        self.n_reports += 1
        self._report(percent, eta)
        return True
