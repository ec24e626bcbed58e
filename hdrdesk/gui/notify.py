"""A notification area above the image: readable messages instead of tracebacks."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from hdrdesk.gui import style

LEVEL_COLOURS = {"error": style.ERROR, "warning": style.WARNING, "info": style.INFO, "success": style.SUCCESS}
LEVEL_ICONS = {"error": "✖", "warning": "⚠", "info": "ℹ", "success": "✔"}
MAX_MESSAGES = 4
INFO_TIMEOUT_MS = 8000


class Notification(QFrame):
    closed = Signal(object)

    def __init__(self, level: str, text: str, details: str = "", action: tuple[str, object] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = level
        self.text = text
        colour = LEVEL_COLOURS.get(level, style.INFO)
        self.setObjectName("notification")
        self.setStyleSheet(
            f"QFrame#notification {{ background: {colour}; border-radius: 4px; }}"
            f" QLabel {{ color: white; background: transparent; }}"
            f" QToolButton {{ color: white; border: none; font-weight: bold; padding: 0 6px; }}"
            f" QToolButton:hover {{ background: rgba(255,255,255,40); }}"
            f" QPushButton {{ background: rgba(0,0,0,40); color: white; border: 1px solid rgba(255,255,255,90); padding: 2px 10px; }}"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 5, 4, 5)
        icon = QLabel(LEVEL_ICONS.get(level, ""))
        icon.setFixedWidth(16)
        lay.addWidget(icon)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if details:
            self.label.setToolTip(details)
        lay.addWidget(self.label, 1)
        if action is not None:
            b = QPushButton(action[0])
            b.clicked.connect(action[1])
            lay.addWidget(b)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(lambda: self.closed.emit(self))
        lay.addWidget(close)


class NotificationArea(QWidget):
    """Stack of messages; errors stay until dismissed, information fades after a while."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(8, 6, 8, 0)
        self._lay.setSpacing(4)
        self.hide()

    def notify(self, text: str, level: str = "error", details: str = "", action: tuple[str, object] | None = None) -> Notification:
        # the same message twice: keep one
        for n in self.notifications():
            if n.text == text:
                n.setParent(None)
                n.deleteLater()
        n = Notification(level, text, details, action, self)
        n.closed.connect(self._close)
        self._lay.addWidget(n)
        while len(self.notifications()) > MAX_MESSAGES:
            old = self.notifications()[0]
            old.setParent(None)
            old.deleteLater()
        if level in ("info", "success"):
            QTimer.singleShot(INFO_TIMEOUT_MS, lambda n=n: self._close(n))
        self.show()
        self.changed.emit()
        return n

    def notifications(self) -> list[Notification]:
        return [self._lay.itemAt(i).widget() for i in range(self._lay.count()) if isinstance(self._lay.itemAt(i).widget(), Notification)]

    def messages(self) -> list[tuple[str, str]]:
        """(level, text) of every message shown."""
        return [(n.level, n.text) for n in self.notifications()]

    def clear(self) -> None:
        for n in self.notifications():
            n.setParent(None)
            n.deleteLater()
        self.hide()
        self.changed.emit()

    def _close(self, n: Notification) -> None:
        try:
            if n.parent() is not self:
                return
        except RuntimeError:  # already deleted
            return
        n.setParent(None)
        n.deleteLater()
        if not self.notifications():
            self.hide()
        self.changed.emit()
