"""The start screen: open the bundled sample or your own photos."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hdrdesk.gui import style


def app_icon() -> QIcon:
    """The icon from :func:`hdrdesk.paths.icon_path`, or a drawn stand-in while it is missing."""
    from hdrdesk.paths import icon_path

    path = icon_path()
    if path.is_file():
        icon = QIcon(str(path))
        if not icon.isNull():
            return icon
    return QIcon(fallback_pixmap(128))


def fallback_pixmap(size: int) -> QPixmap:
    """Three overlapping exposures fusing into one."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    s = size / 128.0
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#2b2b2b"))
    p.drawRoundedRect(QRectF(4 * s, 4 * s, 120 * s, 120 * s), 24 * s, 24 * s)
    for i, c in enumerate(("#3a3a3a", "#8a8a8a", "#e6e6e6")):
        p.setBrush(QColor(c))
        p.setOpacity(0.85)
        p.drawEllipse(QRectF((22 + i * 20) * s, (34 + (i % 2) * 4) * s, 56 * s, 56 * s))
    p.setOpacity(1.0)
    p.setPen(QPen(QColor(style.ACCENT), 5 * s))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawEllipse(QRectF(30 * s, 26 * s, 68 * s, 68 * s))
    p.end()
    return pm


class WelcomeView(QWidget):
    openSample = Signal()
    openPhotos = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("HDRDesk")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title.setStyleSheet(f"font-size: 26pt; font-weight: 300; color: {style.TEXT};")
        subtitle = QLabel("Fuse a bracket of exposures into one well-exposed photo")
        subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        subtitle.setStyleSheet(f"font-size: 12pt; color: {style.TEXT_DIM};")
        self.sample_button = QPushButton("Open sample")
        self.sample_button.setProperty("primary", True)
        self.sample_button.setToolTip("Open the bracket that ships with HDRDesk (three exposures of a sunny room)")
        self.open_button = QPushButton("Open photos…")
        self.open_button.setToolTip("Choose two or more exposures of one scene, or a folder of them (Ctrl+O)")
        for b in (self.sample_button, self.open_button):
            b.setMinimumWidth(150)
            b.setMinimumHeight(34)
        self.sample_button.clicked.connect(self.openSample)
        self.open_button.clicked.connect(self.openPhotos)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.sample_button)
        buttons.addSpacing(8)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        how = QLabel(
            "How it works: drop two or more exposures of one scene (or their folder) onto this window. "
            "A small neural network decides, for every pixel, how much each exposure's detail and brightness "
            "should count; HDRDesk blends them and shows you those weight maps next to the result. "
            "Drop a whole shoot's folder to find and fuse all its brackets at once."
        )
        how.setWordWrap(True)
        how.setAlignment(Qt.AlignmentFlag.AlignCenter)
        how.setMaximumWidth(560)
        how.setStyleSheet(f"color: {style.TEXT_DIM}; line-height: 140%;")
        self.how = how
        hint = QLabel("JPEG, PNG, TIFF or camera RAW · 8 or 16 bit · colour profiles honoured · hand-held brackets aligned, moving subjects deghosted")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: #6f6f6f; font-size: 9pt;")
        col = QVBoxLayout()
        col.addStretch(2)
        col.addWidget(icon)
        col.addSpacing(6)
        col.addWidget(title)
        col.addWidget(subtitle)
        col.addSpacing(24)
        col.addLayout(buttons)
        col.addSpacing(24)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(how)
        row.addStretch(1)
        col.addLayout(row)
        col.addSpacing(8)
        col.addWidget(hint)
        col.addStretch(3)
        self.setLayout(col)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(style.BG_DARKEST))
        # a dashed drop zone
        r = QRectF(self.rect()).adjusted(24, 24, -24, -24)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pen = QPen(QColor("#3a3a3a"), 2, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRoundedRect(r, 14, 14)
        p.end()
