"""A message area for job errors and notices: visible, dismissible, never a traceback."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "error": "QFrame#messageArea { background: #fdecea; border: 1px solid #e0a9a4; border-radius: 4px; }",
    "info": "QFrame#messageArea { background: #eaf3fb; border: 1px solid #a9c6e0; border-radius: 4px; }",
}


class MessageArea(QFrame):
    """Shows the latest message; earlier ones stay in :attr:`history` and the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageArea")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.history: list[tuple[str, str]] = []
        self.level = ""
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    @Slot(str, str)
    def show_message(self, level: str, text: str) -> None:
        """``level`` is "error" or "info"."""
        self.history.append((level, text))
        self.level = level
        prefix = "⚠ " if level == "error" else ""
        self.label.setText(prefix + text)
        self.setStyleSheet(_STYLES.get(level, _STYLES["info"]))
        self.setToolTip("\n".join(t for _, t in self.history[-10:]))
        self.show()

    @Slot()
    def dismiss(self) -> None:
        self.hide()

    @Slot(object)
    def retire_notice(self, _new_state: object = None) -> None:
        """Hide a notice (not an error): other data now shows, so a notice about the last run is history."""
        if self.level == "info":
            self.hide()

    @Slot()
    def clear_error(self) -> None:
        """Hide the banner if it shows an error (a later success made it stale); a notice stays."""
        if self.level == "error":
            self.hide()
