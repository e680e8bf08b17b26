"""Progress throttling and ETA text (no Qt needed)."""

from __future__ import annotations

from evalstudio.workers.progress import ProgressThrottle, format_eta


def test_throttle_reports_once_per_percent_with_an_eta():
    now = [0.0]
    seen: list[tuple[int, float | None]] = []
    t = ProgressThrottle(lambda p, eta: seen.append((p, eta)), clock=lambda: now[0])
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
