"""GUI measurements in a fresh, offscreen Qt process; prints one JSON line.

``python -m bench._gui_child slider N``   slider drag -> repainted matrix and ROC point, N rows
``python -m bench._gui_child stall EPOCHS`` largest event-loop stall while the demo trains
``python -m bench._gui_child kstall EPOCHS FOLDS`` largest stall while the demo's k-fold streams folds
``python -m bench._gui_child start``      prints "shown" once the main window is up (the parent times it)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def _wait(app, cond, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.005)
    return False


def slider(n: int) -> dict:
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from evalstudio.core.evaluation.predictions import Predictions
    from evalstudio.gui.evaluation.panel import EvaluationPanel

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.35).astype(np.int64)
    p1 = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).astype(np.float32)
    pred = Predictions(y, np.stack([1 - p1, p1], axis=1), ("0", "1"), np.arange(1, n + 1))
    panel = EvaluationPanel()
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    t0 = time.perf_counter()
    panel.set_predictions(pred)
    app.processEvents()
    t_set = time.perf_counter() - t0
    bar = panel.threshold_bar
    bar.slider.setSliderDown(True)  # a drag: the cheap per-tick path
    lo, hi = bar.slider.minimum(), bar.slider.maximum()
    values = [lo + (hi - lo) * k // 60 for k in range(5, 56)]
    times = []
    for v in values:
        t0 = time.perf_counter()
        bar.slider.setValue(v)
        app.processEvents()
        panel.confusion.repaint()
        panel.roc.repaint()
        times.append(time.perf_counter() - t0)
    bar.slider.setSliderDown(False)
    t = panel.threshold
    tn, fp, fn, tp = panel.table.counts_at(t)
    shown = panel.confusion.matrix
    shown = shown() if callable(shown) else shown
    ok = np.asarray(shown).tolist() == [[tn, fp], [fn, tp]]
    panel.close()
    panel.deleteLater()
    app.processEvents()
    return {"median_ms": statistics.median(times) * 1e3, "max_ms": max(times) * 1e3,
            "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))] * 1e3, "moves": len(times),
            "set_predictions_s": t_set, "matrix_matches_table": ok}


def _demo_window() -> tuple[Any, Any, Any, Any]:
    """The app's window on the bundled demo, loaded and idle; and the idle loop's own stall."""
    from PySide6.QtWidgets import QApplication

    from evalstudio.app import open_startup_files
    from evalstudio.gui.main_window import MainWindow
    from evalstudio.gui.settings import AppSettings
    from evalstudio.workers.heartbeat import Heartbeat

    app = QApplication.instance() or QApplication([])
    settings = AppSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"))
    settings.set_confirm_close_while_running(False)
    window = MainWindow(settings, confirm=lambda *_: True)
    window.show()
    c = window.controller
    open_startup_files(window, [], demo=True)
    if not _wait(app, lambda: c.idle, 120):
        raise SystemExit("the demo did not load")
    idle = Heartbeat(interval_ms=10)
    idle.start()
    _wait(app, lambda: False, 0.5)
    idle.stop()
    return app, window, c, idle


def _close(app: Any, window: Any) -> None:
    window.controller.shutdown(30000)
    window.close()
    window.deleteLater()
    app.processEvents()


def stall(epochs: int) -> dict:
    from evalstudio.workers.heartbeat import Heartbeat

    app, window, c, idle = _demo_window()
    window.training_panel.epochs.setValue(epochs)
    window.training_panel.batch_size.setValue(16)
    runs = []
    epoch_times: list[float] = []
    c.epoch_added.connect(lambda *a: epoch_times.append(time.perf_counter()))
    for _ in range(2):
        done: list[object] = []
        epoch_times.clear()
        c.training_finished.connect(lambda *a: done.append(1))
        hb = Heartbeat(interval_ms=10)
        t_start = time.perf_counter()
        hb.start()
        window.train()
        _wait(app, lambda: bool(done), 300)
        hb.stop()
        _wait(app, lambda: not c.busy and not c._queue, 60)
        runs.append({"max_stall_ms": hb.max_stall_ms, "ticks": hb.n_ticks, "epochs": len(c.history),
                     **_stall_phases(hb.gaps_ms, t_start, epoch_times, hb.interval_ms)})
    _close(app, window)
    return {"idle_max_stall_ms": idle.max_stall_ms, "runs": runs,
            "best_max_stall_ms": min(r["max_stall_ms"] for r in runs)}


def kstall(epochs: int, folds: int) -> dict:
    """Largest event-loop stall while k-fold runs in the window: before the first fold lands, while
    folds stream (from the first fold's result to the last one's), and after it (the pooled result)."""
    from evalstudio.workers.heartbeat import Heartbeat

    app, window, c, idle = _demo_window()
    panel = window.training_panel
    panel.set_settings({**panel.settings(), "epochs": epochs, "batch_size": 16, "folds": folds})
    runs = []
    fold_times: list[float] = []
    fold_cpu: list[float] = []  # the GUI thread's CPU time at each fold (load-independent work)

    def landed(*_: object) -> None:
        fold_times.append(time.perf_counter())
        fold_cpu.append(time.thread_time())

    c.fold_added.connect(landed)
    for _ in range(2):
        done: list[object] = []
        fold_times.clear()
        fold_cpu.clear()
        c.kfold_finished.connect(lambda *a: done.append(1))
        hb = Heartbeat(interval_ms=10)
        t_start = time.perf_counter()
        cpu_start = time.thread_time()
        hb.start()
        window.kfold()
        cpu_call = time.thread_time() - cpu_start
        _wait(app, lambda: bool(done), 600)
        cpu_end = time.thread_time()
        _wait(app, lambda: c.idle, 60)
        _wait(app, lambda: False, 0.3)  # the repaint after the pooled result
        hb.stop()
        phases = _stall_phases(hb.gaps_ms, t_start, fold_times, hb.interval_ms)
        runs.append({"max_stall_ms": hb.max_stall_ms, "ticks": hb.n_ticks, "folds": len(fold_times),
                     "start_max_stall_ms": phases["start_max_stall_ms"],
                     "streaming_max_stall_ms": phases["streaming_max_stall_ms"],
                     "end_max_stall_ms": phases["end_max_stall_ms"],
                     "p99_stall_ms": _p99(hb.gaps_ms, hb.interval_ms),
                     "gui_cpu_ms_kfold_call": cpu_call * 1e3,
                     "gui_cpu_ms_per_fold": (1e3 * (fold_cpu[-1] - fold_cpu[0]) / (len(fold_cpu) - 1)
                                             if len(fold_cpu) > 1 else None),
                     "gui_cpu_ms_result": (cpu_end - fold_cpu[-1]) * 1e3 if fold_cpu else None})
    _close(app, window)
    best = min(runs, key=lambda r: r["streaming_max_stall_ms"])
    return {"runs": runs, "best_streaming_max_stall_ms": best["streaming_max_stall_ms"],
            "best_max_stall_ms": min(r["max_stall_ms"] for r in runs), "idle_max_stall_ms": idle.max_stall_ms}


def _p99(gaps_ms: list[float], interval_ms: int) -> float:
    if not gaps_ms:
        return 0.0
    ordered = sorted(gaps_ms)
    return max(0.0, ordered[int(0.99 * (len(ordered) - 1))] - interval_ms)


def _stall_phases(gaps_ms: list[float], t_start: float, epoch_times: list[float], interval_ms: int) -> dict:
    """Largest stall before the first epoch arrived, while epochs streamed, and after the last one.

    A gap belongs to the phase in which it ended (tick times are rebuilt from the gaps).
    """
    out = {"start_max_stall_ms": 0.0, "streaming_max_stall_ms": 0.0, "end_max_stall_ms": 0.0}
    if not epoch_times:
        return out
    t = t_start
    for gap in gaps_ms:
        t += gap / 1000.0
        phase = "start" if t <= epoch_times[0] else "end" if t > epoch_times[-1] else "streaming"
        key = f"{phase}_max_stall_ms"
        out[key] = max(out[key], gap - interval_ms)
    return out


def start() -> None:
    from PySide6.QtCore import QTimer

    from evalstudio.app import main

    def ready(window) -> None:  # type: ignore[no-untyped-def]
        def shown() -> None:
            print(json.dumps({"shown": True, "visible": window.isVisible(), "torch_imported": "torch" in sys.modules}),
                  flush=True)
            window.controller.shutdown(30000)
            window.close()

        QTimer.singleShot(0, shown)

    settings = os.path.join(tempfile.mkdtemp(), "bench.ini")
    main(["--settings", settings], on_ready=ready, confirm=lambda *_: True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "start":
        start()
    else:
        if mode == "kstall":
            out = kstall(int(sys.argv[2]), int(sys.argv[3]))
        else:
            out = slider(int(sys.argv[2])) if mode == "slider" else stall(int(sys.argv[2]))
        print(json.dumps(out), flush=True)
    os._exit(0)  # skip interpreter teardown of Qt objects: the figures are out
