"""Entry script of the frozen app (PyInstaller): the same front door as ``python -m evalstudio``."""

from __future__ import annotations

import sys

from evalstudio.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
