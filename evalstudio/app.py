"""Start the desktop app: ``evalstudio [--demo] [FILE...]``; shut it down in order.

torch is not imported here: the window opens first and the first job imports it in a worker.
Shutdown is explicit (STYLE.md): the window's close cancels and waits for the running job, then
the widgets are deleted and pending events processed before the interpreter exits, because a
pyqtgraph widget still alive at interpreter exit can crash Python.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalstudio.gui.main_window import MainWindow


def demo_files() -> list[str]:
    """The bundled demo: data, model definition and (when shipped) its trained checkpoint."""
    from evalstudio.resources import resource_path

    names = ("pima-indians-diabetes.csv", "pima_model.py", "pima_checkpoint.pt")
    return [str(resource_path("demo", n)) for n in names if resource_path("demo", n).exists()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="evalstudio",
        description="Open the evalstudio app (subcommands evaluate, train, kfold, screenshots run headless).",
    )
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="files to open: a CSV dataset, a model definition (.py / TorchScript), a checkpoint")
    p.add_argument("--demo", action="store_true", help="open the bundled demo (Pima diabetes data, model, checkpoint)")
    p.add_argument("--settings", metavar="FILE.ini", help="keep settings in this INI file instead of the user's")
    p.add_argument("--self-test", action="store_true",
                   help="check this installation offscreen (demo data, 2 epochs, evaluation) and exit")
    return p


def open_startup_files(window: "MainWindow", files: Sequence[str], *, demo: bool) -> None:
    """Queue the demo and the command line's files for loading (data first, so the model fits it)."""
    # The demo checkpoint records the 80 % of the demo CSV that trained it: Evaluate leaves those
    # rows out on its own and scores the other 20 % (the rows of resources/demo/pima-holdout.csv).
    paths = (demo_files() if demo else []) + list(files)
    order = {"data": 0, "model": 1, "checkpoint": 2}
    from evalstudio.gui.files import classify_file

    existing = [p for p in paths if os.path.isfile(p)]
    for p in paths:
        if p not in existing:
            window.message_area.show_message("error", f"{p} does not exist. Check the path and open it again.")
    existing.sort(key=lambda p: order.get(classify_file(p), 3))
    window.open_files(existing)
    # Last: the user's files first; the device list (and the warm-up of torch's lazy imports)
    # follows. Until it lands the device picker offers the CPU.
    window.controller.detect_devices()


def create_window(args: argparse.Namespace, *, confirm: Callable[[str, str], bool] | None = None) -> "MainWindow":
    from evalstudio.gui.main_window import MainWindow
    from evalstudio.gui.settings import AppSettings

    window = MainWindow(AppSettings(args.settings), confirm=confirm)
    return window


def ensure_qt_env() -> None:
    """pyqtgraph must bind to PySide6 (not another installed binding)."""
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")


def main(
    argv: Sequence[str] | None = None,
    *,
    on_ready: Callable[["MainWindow"], Any] | None = None,
    confirm: Callable[[str, str], bool] | None = None,
) -> int:
    """Run the app until its window closes; returns the exit code.

    ``on_ready(window)`` runs once the window is shown (tests and the screenshot command drive
    the app through it); ``confirm`` replaces the yes/no dialogs.
    """
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.self_test:  # packaging's check: no window, exit code 0 when every step passed
        from evalstudio.selftest import main as self_test

        return self_test([])
    ensure_qt_env()
    if not display_available():
        return run_without_display(args)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "evalstudio"])
    app.setApplicationName("evalstudio")
    app.setOrganizationName("evalstudio")
    window = create_window(args, confirm=confirm)
    window.show()
    open_startup_files(window, args.files, demo=args.demo)
    if on_ready is not None:
        on_ready(window)
    code = app.exec()
    shutdown_window(window)
    return int(code)


def display_available() -> bool:
    """False on a Linux machine with no X11/Wayland display and no Qt platform chosen.

    Qt would abort the process there ("could not connect to display"); evalstudio says so and
    runs what it can headless instead.
    """
    if os.environ.get("QT_QPA_PLATFORM"):
        return True  # the caller chose (offscreen, xcb under Xvfb, ...)
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_without_display(args: argparse.Namespace) -> int:
    """No screen: the demo runs headless through the CLI; anything else explains the options."""
    if args.demo and not args.files:
        sys.stderr.write(
            "evalstudio: no display found (DISPLAY is not set), so the window cannot open; running the demo "
            "headless instead (evalstudio evaluate --demo). On a desktop, `evalstudio --demo` opens the app; "
            "here, `xvfb-run evalstudio --demo` or `evalstudio screenshots DIR` show it.\n"
        )
        from evalstudio.cli import main as cli_main

        return cli_main(["evaluate", "--demo"])
    sys.stderr.write(
        "error: no display found (DISPLAY is not set), so the evalstudio window cannot open. Run it on a desktop "
        "or under xvfb-run, or use the headless commands: evalstudio evaluate | train | kfold | screenshots.\n"
    )
    return 2


def shutdown_window(window: "MainWindow") -> None:
    """Stop any job, then delete the window's widgets while Qt is still fully alive."""
    from PySide6.QtCore import QCoreApplication, QEvent

    window.controller.shutdown(60000)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


if __name__ == "__main__":
    raise SystemExit(main())
