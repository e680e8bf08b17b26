"""Persistent settings (QSettings): window geometry, recent files, last training settings, trust.

Tests (and anyone who wants a portable set-up) point ``EVALSTUDIO_SETTINGS_FILE`` at an INI file;
otherwise Qt's native per-user store is used.
"""

from __future__ import annotations

import json
import os
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

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
        if path:
            self._s = QSettings(path, QSettings.Format.IniFormat)
        else:
            self._s = QSettings("evalstudio", "evalstudio")

    @property
    def qsettings(self) -> QSettings:
        return self._s

    def sync(self) -> None:
        self._s.sync()

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
