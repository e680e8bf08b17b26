"""Progress throttling and ETA text (no Qt needed)."""

from __future__ import annotations

import pytest

from evalstudio.workers.progress import ProgressThrottle, format_eta


def test_throttle_reports_once_per_percent_with_an_eta():
    now = [0.0]
    seen: list[tuple[int, float | None]] = []
    t = ProgressThrottle(lambda p, eta: seen.append((p, eta)), clock=lambda: now[0], heartbeat=None)
    for i in range(1, 100_001):
        now[0] = i * 0.001  # 1 ms per batch: 100 s in all
        t.update(i, 100_000)
    assert [p for p, _ in seen] == list(range(0, 101))
    assert seen[0][1] is None  # too early to guess
    pct, eta = seen[50]
    assert pct == 50 and abs(eta - 50.0) < 0.1
    assert seen[-1] == (100, 0.0)


def test_throttle_ignores_empty_totals():
    seen = []
    t = ProgressThrottle(lambda p, eta: seen.append(p))
    assert t.update(1, 0) is False and seen == []


def test_format_eta():
    assert format_eta(65) == "ETA 1:05"
    assert format_eta(3723) == "ETA 1:02:03"
    assert format_eta(None) == ""
    assert format_eta(float("nan")) == ""


def test_a_long_first_percent_still_reports_each_second_with_an_eta():
    """1M rows at batch 32, 100 epochs: one epoch (25,000 batches) is one percent."""
    now = [0.0]
    seen: list[tuple[int, float | None]] = []
    t = ProgressThrottle(lambda p, eta: seen.append((p, eta)), clock=lambda: now[0])
    n_batches, epochs = 25_000, 100
    for b in range(1, n_batches + 1):  # the first epoch, 1 ms per batch: 25 s
        now[0] = b * 0.001
        t.update(b / n_batches, epochs)
    assert [p for p, _ in seen] == [0] * 25 + [1]  # once at the start, then once a second
    assert len(seen) <= 26  # throttled: 26 reports for 25,000 updates
    assert all(eta is None for _, eta in seen[:3])  # under 3 s of evidence: no guess
    # From then on an ETA: 99 epochs to go at 25 s each.
    assert seen[-1][1] == pytest.approx(99 * 25.0, rel=1e-3)
    assert seen[10][1] == pytest.approx(10.0 * (1 - 0.004) / 0.004, rel=1e-3)
