"""Persistent settings (QSettings): window geometry, recent files, last training settings, trust.

Tests (and anyone who wants a portable set-up) point ``EVALSTUDIO_SETTINGS_FILE`` at an INI file;
otherwise Qt's native per-user store is used. Training runs are kept in :meth:`AppSettings.runs_folder`:
``EVALSTUDIO_RUNS_DIR`` when set, a ``runs`` folder beside such an INI file, else ``runs`` under the
user's data directory (``QStandardPaths.AppDataLocation``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 10


class AppSettings:
    """A thin typed layer over :class:`QSettings` (values stored as JSON where structured).

    Parameters
    ----------
    path : str, optional
        An INI file to use instead of the user's native store.
    """

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get("EVALSTUDIO_SETTINGS_FILE") or None
        self._file = path
        if path:
            self._s = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._s = QSettings("evalstudio", "evalstudio")

    @property
    def qsettings(self) -> QSettings:
        return self._s

    def sync(self) -> None:
        self._s.sync()

    def runs_folder(self) -> str:
        """Where the app keeps its training runs (each in a new ``train-DATE-TIME`` folder)."""
        explicit = os.environ.get("EVALSTUDIO_RUNS_DIR")
        if explicit:
            return explicit
        if self._file:
            return os.path.join(os.path.dirname(os.path.abspath(self._file)), "runs")
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        return os.path.join(base or os.path.join(os.path.expanduser("~"), ".evalstudio"), "runs")

    # -- JSON helpers ---------------------------------------------------------------------------
    def _get_json(self, key: str, default: Any) -> Any:
        raw = self._s.value(key)
        if raw in (None, ""):
            return default
        try:
            return json.loads(str(raw))
        except ValueError:  # a hand-edited or corrupt value: fall back, do not crash the app
            return default

    def _set_json(self, key: str, value: Any) -> None:
        self._s.setValue(key, json.dumps(value))

    # -- recent files ---------------------------------------------------------------------------
    def recent_files(self, kind: str) -> list[str]:
        """Most recent first; ``kind`` is "data", "model" or "checkpoint"."""
        value = self._get_json(f"recent/{kind}", [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def add_recent_file(self, kind: str, path: str) -> list[str]:
        path = os.path.abspath(path)
        files = [path] + [p for p in self.recent_files(kind) if p != path]
        files = files[:MAX_RECENT]
        self._set_json(f"recent/{kind}", files)
        return files

    # -- window ---------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, value: QByteArray) -> None:
        self._s.setValue("window/geometry", value)

    def splitter_states(self, view: str) -> dict[str, bytes]:
        """Where the user left ``view``'s splitters (e.g. the rows list under the confusion matrix)."""
        value = self._get_json(f"layout/{view}", {})
        out: dict[str, bytes] = {}
        if isinstance(value, dict):
            for key, text in value.items():
                try:
                    out[str(key)] = base64.b64decode(str(text), validate=True)
                except (binascii.Error, ValueError):  # hand-edited: that splitter starts afresh
                    continue
        return out

    def set_splitter_states(self, view: str, states: dict[str, bytes]) -> None:
        self._set_json(f"layout/{view}", {k: base64.b64encode(v).decode("ascii") for k, v in states.items()})

    # -- training settings ----------------------------------------------------------------------
    def training_settings(self) -> dict[str, Any]:
        value = self._get_json("training/last", {})
        return value if isinstance(value, dict) else {}

    def set_training_settings(self, values: dict[str, Any]) -> None:
        self._set_json("training/last", values)

    # -- trust of code files (by content hash) --------------------------------------------------
    def is_trusted(self, sha256: str) -> bool:
        return sha256 in self._get_json("trust/code_sha256", [])

    def trust(self, sha256: str) -> None:
        trusted = [h for h in self._get_json("trust/code_sha256", []) if h != sha256]
        self._set_json("trust/code_sha256", (trusted + [sha256])[-500:])

    # -- behaviour ------------------------------------------------------------------------------
    def confirm_close_while_running(self) -> bool:
        """Whether closing during a job asks first (tests turn it off)."""
        return str(self._s.value("behaviour/confirm_close", "true")).lower() != "false"

    def set_confirm_close_while_running(self, value: bool) -> None:
        self._s.setValue("behaviour/confirm_close", "true" if value else "false")
