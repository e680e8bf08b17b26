"""evalstudio's benchmark suite: ``python -m bench`` (full) or ``python -m bench --quick``.

Every item times evalstudio's core beside a real baseline in the same process (medians of
repeats) and records what was measured, both figures, their ratio and the target in
``bench/results.json``; :mod:`bench.report` renders the table in ``BENCHMARKS.md``. Nothing here
is a test: timings are never asserted, only reported.
"""
