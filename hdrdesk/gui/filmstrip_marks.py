"""What the filmstrip draws for camera brackets: the deghosting reference star, the share of each
frame that deghosting replaced, and the cards of RAW files still being developed.

Plain painting helpers and a small state record; :mod:`hdrdesk.gui.filmstrip` owns the widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap

from hdrdesk.gui import style
from hdrdesk.gui.imaging import draw_letterboxed

REFERENCE_COLOUR = "#d4a431"  # gold: apart from the blue of selection and inclusion
MOTION_COLOUR = "#c8503f"


@dataclass
class DeghostMarks:
    """What the cards show about deghosting. ``chosen``: the reference the user picked (None:
    automatic); ``used``: the one the result on display was deghosted against; ``motion``: per
    uid, the share of the frame taken from the reference."""

    on: bool = False
    chosen: int | None = None
    used: int | None = None
    motion: dict[int, float] = field(default_factory=dict)

    def role(self, uid: int) -> str:
        """'chosen', 'auto' (the engine's best-exposed pick) or '' for a frame."""
        if not self.on:
            return ""
        if uid == self.chosen:
            return "chosen"
        if self.chosen is None and uid == self.used:
            return "auto"
        return ""

    def describe(self, uid: int) -> str:
        """The tooltip line."""
        if not self.on:
            return "deghosting off"
        role = self.role(uid)
        if role == "chosen":
            return "deghosting reference (your choice; click the star for automatic)"
        if role == "auto":
            return "deghosting reference (automatic: the best-exposed frame; click the star to keep it)"
        share = self.motion.get(uid)
        moved = f"; {share * 100:.1f} % taken from the reference" if share else ""
        return f"deghosted against the reference{moved} (click the star to make this the reference)"


@dataclass
class PendingCard:
    """A RAW file being developed: its name, the camera's embedded preview (None: none) and state."""

    name: str
    thumb: QImage | None
    state: str  # "waiting" | "developing" | "developed"


def star_rect(thumb_area: QRect) -> QRect:
    """Where the reference star sits: the thumbnail's bottom-left corner."""
    return QRect(thumb_area.left() + 4, thumb_area.bottom() - 21, 22, 18)


def _pill(p: QPainter, rect: QRect, text: str, fill: QColor, pen: QColor, outline: QColor | None = None) -> None:
    p.setPen(QPen(outline, 1) if outline is not None else Qt.PenStyle.NoPen)
    p.setBrush(fill)
    p.drawRoundedRect(rect, 4, 4)
    p.setPen(pen)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def paint_marks(p: QPainter, area: QRect, uid: int, marks: DeghostMarks, hover: bool) -> None:
    """The reference star (and label) and the replaced share on one card's thumbnail."""
    if not marks.on:
        return
    fm = p.fontMetrics()
    role = marks.role(uid)
    star = star_rect(area)
    gold = QColor(REFERENCE_COLOUR)
    if role:
        text = "★ reference" if role == "chosen" else "★ reference · auto"
        star.setWidth(fm.horizontalAdvance(text) + 12)
        if role == "chosen":
            _pill(p, star, text, gold, QColor("#1b1b1b"))
        else:
            _pill(p, star, text, QColor(20, 20, 20, 210), gold, gold)
        return
    if hover:
        _pill(p, star, "☆", QColor(20, 20, 20, 200), QColor(style.TEXT))
    share = marks.motion.get(uid, 0.0)
    if share > 0:
        text = f"moved {share * 100:.1f} %" if share >= 0.001 else "moved < 0.1 %"
        w = fm.horizontalAdvance(text) + 10
        rect = QRect(area.right() - w - 4, area.bottom() - 21, w, 18)
        _pill(p, rect, text, QColor(20, 20, 20, 200), QColor("#f0b0a6"), QColor(MOTION_COLOUR))


def paint_pending(p: QPainter, card: QRect, thumb_h: int, pad: int, pending: PendingCard, pixmap: QPixmap | None) -> None:
    """A card for a RAW file whose develop has not finished: its embedded preview and its state."""
    p.setPen(QPen(QColor(style.BORDER), 1, Qt.PenStyle.DashLine))
    p.setBrush(QColor(style.BG_DARK))
    p.drawRoundedRect(card, 6, 6)
    area = QRect(card.left() + pad, card.top() + pad, card.width() - 2 * pad, thumb_h)
    p.fillRect(area, QColor(style.BG_DARKEST))
    target = draw_letterboxed(p, area, pixmap)
    if target is not None:
        if pending.state != "developed":
            p.fillRect(target, QColor(20, 20, 20, 90))
    else:
        p.setPen(QColor(style.TEXT_DIM))
        p.drawText(area, Qt.AlignmentFlag.AlignCenter, "no preview")
    fm = p.fontMetrics()
    x, w = card.left() + pad, card.width() - 2 * pad
    y = area.bottom() + 6
    lh = fm.height() + 1
    normal = QFont(p.font())
    bold = QFont(normal)
    bold.setBold(True)
    p.setFont(bold)
    p.setPen(QColor(style.TEXT_DIM))
    p.drawText(QRect(x, y, w, lh), Qt.AlignmentFlag.AlignLeft, p.fontMetrics().elidedText(pending.name, Qt.TextElideMode.ElideMiddle, w))
    p.setFont(normal)
    label = {"waiting": "RAW · waiting", "developing": "RAW · developing…", "developed": "RAW · developed"}[pending.state]
    p.setPen(QColor(style.ACCENT if pending.state == "developing" else style.TEXT_DIM))
    p.drawText(QRect(x, y + lh, w, lh), Qt.AlignmentFlag.AlignLeft, fm.elidedText(label, Qt.TextElideMode.ElideRight, w))
    p.setPen(QColor(style.TEXT_DIM))
    note = "the camera's preview" if pixmap is not None and not pixmap.isNull() else ""
    p.drawText(QRect(x, y + 2 * lh, w, lh), Qt.AlignmentFlag.AlignLeft, fm.elidedText(note, Qt.TextElideMode.ElideRight, w))
