"""Find the evaluation views (built in ``evalstudio.gui.evaluation``) and fall back to placeholders.

The views are imported lazily, when the window is built, and each is optional: a missing or
broken view leaves a placeholder tab saying so instead of keeping the app from starting.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

_MODULES = (
    "evalstudio.gui.evaluation",
    "evalstudio.gui.evaluation.panel",
    "evalstudio.gui.evaluation.kfold_panel",
    "evalstudio.gui.evaluation.kfold_view",
    "evalstudio.gui.evaluation.mode_audit",
    "evalstudio.gui.evaluation.mode_audit_panel",
    "evalstudio.gui.evaluation.audit_panel",
)


def find_view_class(name: str) -> type[QWidget] | None:
    """The class ``name`` from the evaluation package, or None when it is not there (yet)."""
    for module_name in _MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("evalstudio.gui.evaluation"):
                continue
            raise
        except Exception as exc:  # noqa: BLE001 -- a teammate's view failing must not stop the app
            sys.stderr.write(f"evalstudio: the evaluation view module {module_name} failed to import: {exc}\n")
            continue
        try:
            cls = getattr(module, name, None)
        except ImportError:  # a lazy attribute whose module is not written yet
            continue
        except Exception as exc:  # noqa: BLE001
            sys.stderr.write(f"evalstudio: the evaluation view {name} failed to import: {exc}\n")
            continue
        if isinstance(cls, type):
            return cls
    return None


class PlaceholderView(QLabel):
    """Stands in for a view that is not available, and shows a line of text about the last result."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setText(f"The {what} view will appear here.")

    def show_text(self, text: str) -> None:
        self.setText(text)


def make_view(name: str, what: str) -> tuple[Any, bool]:
    """An instance of view ``name`` (True) or a placeholder (False)."""
    cls = find_view_class(name)
    if cls is None:
        return PlaceholderView(what), False
    try:
        return cls(), True
    except Exception as exc:  # noqa: BLE001
        sys.stderr.write(f"evalstudio: could not create the {what} view: {exc}\n")
        return PlaceholderView(what), False
