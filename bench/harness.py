"""Timing helpers, the per-item record and the machine description shared by every item."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Scales: row counts, epochs and repeats per mode. "tiny" is for the smoke test only.
SCALES: dict[str, dict[str, Any]] = {
    "full": {"eval_rows": 1_000_000, "wide_rows": 1_000_000, "tutorial_rows": 50_000, "train_rows": 50_000, "train_epochs": 2,
             "threshold_sizes": [1_000_000, 10_000_000], "roc_sizes": [1_000_000, 10_000_000],
             "kfold_epochs": 150, "csv_rows": 1_000_000, "mem_rows": 10_000_000, "repeats": 5,
             "gui_rows": 1_000_000, "gui_epochs": 30, "interval_rows": 1_000_000, "interval_loop_resamples": 20,
             "gui_kfold_epochs": 20, "gui_folds": 5,
             "compare_rows": 1_000_000, "compare_resamples": 1000, "compare_reference_resamples": 3},
    "quick": {"eval_rows": 1_000_000, "wide_rows": 200_000, "tutorial_rows": 5_000, "train_rows": 20_000, "train_epochs": 2,
              "threshold_sizes": [1_000_000, 10_000_000], "roc_sizes": [1_000_000], "kfold_epochs": 15,
              "csv_rows": 1_000_000, "mem_rows": 10_000_000, "repeats": 3, "gui_rows": 1_000_000, "gui_epochs": 10,
              "interval_rows": 1_000_000, "interval_loop_resamples": 4,
              "gui_kfold_epochs": 10, "gui_folds": 5,
              "compare_rows": 1_000_000, "compare_resamples": 200, "compare_reference_resamples": 2},
    "tiny": {"eval_rows": 5_000, "wide_rows": 2_000, "tutorial_rows": 1_000, "train_rows": 1_000, "train_epochs": 1,
             "threshold_sizes": [10_000], "roc_sizes": [10_000], "kfold_epochs": 2, "csv_rows": 2_000,
             "mem_rows": 2_000, "repeats": 1, "gui_rows": 5_000, "gui_epochs": 2, "interval_rows": 5_000,
             "interval_loop_resamples": 2,
             "gui_kfold_epochs": 2, "gui_folds": 2, "compare_rows": 5_000, "compare_resamples": 40,
             "compare_reference_resamples": 5},
}


@dataclass
class Item:
    """One measured figure: ours beside a baseline (or a limit), with the ratio and the target.

    ``ratio`` is always "how many times better ours is" (baseline time / our time, or our rate /
    baseline rate), so > 1 means evalstudio wins. ``met`` is None when there is no figure.
    """

    id: str
    title: str
    measured: str
    unit: str
    ours: float | None
    baseline: float | None
    baseline_name: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_measured(id: str, title: str, target: str, why: str) -> Item:
    """An item that could not be measured here, saying why."""
    return Item(id, title, "not measured", "", None, None, "", None, target, None, note=f"not measured: {why}")


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the bootstrap's forked workers)."""
    import os

    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def median_time(fn: Callable[[], Any], repeats: int, *, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs (seconds)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeats)):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def interleaved(fns: list[Callable[[], Any]], repeats: int, *, warmup: int = 1) -> list[float]:
    """Median wall time of each of ``fns``, run in turn within every repeat (a, b, a, b, ...).

    Alternating keeps both sides of a ratio under the same background load on a shared machine,
    where timing one side's repeats and then the other's lets a load change fall between them.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(max(1, repeats)):
        for i, fn in enumerate(fns):
            gc.collect()
            t0 = time.perf_counter()
            fn()
            samples[i].append(time.perf_counter() - t0)
    return [statistics.median(x) for x in samples]


def per_call(fn: Callable[[], Any], *, min_seconds: float = 0.05, repeats: int = 5) -> float:
    """Median seconds per call of a fast ``fn`` (calls batched until each sample takes ``min_seconds``)."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds or n >= 1 << 20:
            break
        n *= 4
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n)
    return statistics.median(samples)


def sync(device: Any) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously; timing must include it)."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model, cores, load, torch version and threads, GPU (if any)."""
    import numpy as np
    import torch

    gpu = None
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(), "cuda_device": gpu, "load_average_at_start": load,
    }
