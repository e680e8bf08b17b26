"""Render resources/icons/evalstudio.svg to the PNG sizes the .deb and the .desktop entry use.

Run by build.sh (and by hand after editing the SVG): ``python packaging/render_icons.py``.
Uses Qt's own SVG renderer, so no ImageMagick or Inkscape is needed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (48, 128, 256)
ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 -- painting needs one
    renderer = QSvgRenderer(str(ICONS / "evalstudio.svg"))
    if not renderer.isValid():
        print(f"error: {ICONS / 'evalstudio.svg'} is not a valid SVG", file=sys.stderr)
        return 2
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        out = ICONS / f"evalstudio-{size}.png"
        if not image.save(str(out)):
            print(f"error: could not write {out}", file=sys.stderr)
            return 2
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
