"""The window's Edit, View and Help menus (File stays in the window: it opens the window's files).

Edit > Copy puts the table or plot the user clicked on the clipboard (:mod:`evalstudio.gui.clipboard`);
View lists the tabs (Ctrl+1 … Ctrl+9); Help opens "How to read these views", the keyboard shortcuts
and About (:mod:`evalstudio.gui.help`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence

from evalstudio import __version__
from evalstudio.gui import clipboard
from evalstudio.gui.help import HelpDialog, about_html, shortcuts_html, views_html


class WindowMenus(QObject):
    """Builds the Edit, View and Help menus of ``window`` and answers them.

    ``shown`` holds the last help dialog opened (tests read it; it is not modal).
    """

    def __init__(self, window: Any) -> None:  # the MainWindow (not imported: it imports this module)
        super().__init__(window)
        self.window = window
        self.shown: HelpDialog | None = None
        bar = window.menuBar()

        edit = bar.addMenu("&Edit")
        self.copy_action = self._action(edit, "&Copy", self.copy, QKeySequence.StandardKey.Copy,
                                        "Copy the table or plot you clicked (a table's selected cells, or all of it)")
        self.copy_view_action = self._action(edit, "Copy &view as image", self.copy_view, QKeySequence("Ctrl+Shift+C"),
                                             "Copy the whole tab in front as an image")

        self.view_menu = bar.addMenu("&View")
        self.view_menu.aboutToShow.connect(self._fill_view_menu)
        self.tab_actions: list[QAction] = []
        for n in range(1, 10):  # shortcuts work without opening the menu
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{n}"))
            action.setData(n - 1)
            action.triggered.connect(self._show_tab)
            window.addAction(action)
            self.tab_actions.append(action)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "How to &read these views", self.show_views_help, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts)
        help_menu.addSeparator()
        self._action(help_menu, "&About evalstudio", self.show_about)

    def _action(self, menu, text: str, slot, key=None, tip: str = "") -> QAction:  # noqa: ANN001
        action = QAction(text, self.window)
        if key is not None:
            action.setShortcut(key)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- Edit ---------------------------------------------------------------------------------------
    @Slot()
    def copy(self) -> clipboard.Copied | None:
        """Copy the table or plot the user clicked; say what went to the clipboard."""
        done = clipboard.copy_from(clipboard.copy_target())
        self._say(done.what if done is not None else
                  "nothing copied: click a table or a plot first, then Edit > Copy (Ctrl+C); "
                  "Edit > Copy view as image copies the whole tab")
        return done

    @Slot()
    def copy_view(self) -> clipboard.Copied | None:
        view = self.window.current_view()
        if view is None:
            return None
        done = clipboard.copy_image(view, f"the {self.window.tabs.tabText(self.window.tabs.currentIndex())} view")
        self._say(done.what)
        return done

    def _say(self, text: str) -> None:
        # The window's own line (not the controller's): nothing about the app's state changed.
        self.window.status_label.setText(text)

    # -- View ---------------------------------------------------------------------------------------
    @Slot()
    def _fill_view_menu(self) -> None:
        self.view_menu.clear()
        tabs = self.window.tabs
        for i in range(tabs.count()):
            action = self.view_menu.addAction(tabs.tabText(i).replace("&", "&&"))
            action.setData(i)
            if i < 9:
                action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.setCheckable(True)
            action.setChecked(i == tabs.currentIndex())
            action.triggered.connect(self._show_tab)

    @Slot()
    def _show_tab(self) -> None:
        action = self.sender()
        index = action.data() if isinstance(action, QAction) else None
        if isinstance(index, int) and 0 <= index < self.window.tabs.count():
            self.window.tabs.setCurrentIndex(index)

    # -- Help ---------------------------------------------------------------------------------------
    def _show(self, title: str, page: str, size: tuple[int, int] = (720, 620)) -> HelpDialog:
        if self.shown is not None:
            self.shown.close()
        self.shown = HelpDialog(title, page, self.window, size=size)
        self.shown.show()
        return self.shown

    @Slot()
    def show_views_help(self) -> HelpDialog:
        return self._show("How to read these views", views_html())

    @Slot()
    def show_shortcuts(self) -> HelpDialog:
        return self._show("Keyboard shortcuts", shortcuts_html(), (600, 360))

    @Slot()
    def show_about(self) -> HelpDialog:
        devices = self.window.controller.devices
        labels = [label for _, label in devices.devices] if devices is not None else None
        return self._show("About evalstudio", about_html(__version__, labels), (520, 360))
