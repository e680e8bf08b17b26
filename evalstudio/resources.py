"""Locate the bundled resources (demo data, demo models, icons).

``resources/`` lives at the top level of the repository. An editable install finds it next to
the package; a built wheel carries it as ``evalstudio/_resources``; a frozen (PyInstaller) app
carries it next to the executable's data.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the folder holding the bundled resources."""
    here = Path(__file__).resolve().parent
    candidates = [here / "_resources", here.parent / "resources"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.insert(0, Path(frozen_root) / "resources")
    for candidate in candidates:
        if (candidate / "demo").is_dir():
            return candidate
    raise FileNotFoundError(
        "evalstudio's resources folder is missing (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "). Reinstall evalstudio."
    )


def resource_path(*parts: str) -> Path:
    """Path of one bundled resource, e.g. ``resource_path("demo", "pima.csv")``."""
    return resources_dir().joinpath(*parts)
