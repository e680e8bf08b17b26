"""The real window on a real X screen, as a user sees it: docs/screenshots/xvfb_*.png.

Run under Xvfb (or any X display) at the screen size to show; the window opens as on a first
start (it fills the screen), loads the demo, and the whole screen is grabbed at each step:

    Xvfb :96 -screen 0 1366x768x24 &
    DISPLAY=:96 .venv/bin/python scripts/xvfb_screenshots.py docs/screenshots

writes xvfb_training_live_WxH.png (epochs streaming), xvfb_evaluation_WxH.png (a cell's rows
listed under the matrix), xvfb_kfold_WxH.png and xvfb_model_WxH.png, W x H being the screen's size
(at 1366x768 also xvfb_training_live.png and xvfb_evaluation_1366x768.png, the names the README
links). Unlike ``evalstudio screenshots`` (offscreen, one view each, a fixed window size), this
checks the layout at a real screen size with the real platform plugin.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    if not os.environ.get("DISPLAY"):
        sys.stderr.write("error: no DISPLAY; run under Xvfb, e.g. DISPLAY=:96 after `Xvfb :96 -screen 0 1366x768x24 &`.\n")
        return 2
    out = Path(argv[0] if argv else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from evalstudio.app import main as app_main

    written: list[Path] = []

    def ready(window) -> None:  # type: ignore[no-untyped-def]
        app = QApplication.instance()
        c = window.controller
        screen = app.primaryScreen().size()
        size = f"{screen.width()}x{screen.height()}"

        def wait(cond, timeout: float = 600.0) -> None:  # type: ignore[no-untyped-def]
            end = time.monotonic() + timeout
            while not cond() and time.monotonic() < end:
                app.processEvents()
                time.sleep(0.01)

        def grab(name: str) -> None:
            for _ in range(30):  # let the repaints land
                app.processEvents()
                time.sleep(0.01)
            path = out / name
            app.primaryScreen().grabWindow(0).save(str(path), "PNG")
            written.append(path)

        def run() -> None:
            wait(lambda: c.idle and c.model is not None)
            window.show_view(window.model_panel)
            grab(f"xvfb_model_{size}.png")
            panel = window.training_panel
            panel.set_settings({**panel.settings(), "epochs": 60, "batch_size": 16, "val_fraction": 0.25})
            window.train()
            wait(lambda: len(c.history) >= 25)
            grab(f"xvfb_training_live_{size}.png")
            if size == "1366x768":
                grab("xvfb_training_live.png")
            wait(lambda: c.idle)
            window.evaluate()
            wait(lambda: c.idle and c.evaluation is not None)
            window.evaluation_panel._on_cell_clicked(1, 0)  # false negatives: their rows listed below
            window.show_view(window.evaluation_panel)
            grab(f"xvfb_evaluation_{size}.png")
            panel.set_settings({**panel.settings(), "epochs": 15, "folds": 5})
            window.kfold()
            wait(lambda: c.idle and c.cv_result is not None)
            grab(f"xvfb_kfold_{size}.png")
            c.shutdown(30000)
            window.close()

        QTimer.singleShot(200, run)

    with tempfile.TemporaryDirectory(prefix="evalstudio-xvfb-") as tmp:
        os.environ.setdefault("EVALSTUDIO_RUNS_DIR", str(Path(tmp) / "runs"))
        code = app_main(["--demo", "--settings", str(Path(tmp) / "settings.ini")], on_ready=ready,
                        confirm=lambda *_: True)
    for path in written:
        print(path)
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
