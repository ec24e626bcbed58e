"""The filmstrip: the bracket's exposures in order, as cards you can reorder and toggle.

With deghosting on, a star marks the reference frame (click another card's star to choose it);
while RAW files develop, their embedded previews stand in as pending cards (filmstrip_marks).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.gui import style
from hdrdesk.gui.filmstrip_marks import DeghostMarks, PendingCard, paint_marks, paint_pending, star_rect
from hdrdesk.gui.imaging import draw_letterboxed
from hdrdesk.session import FrameEntry

UID_ROLE = Qt.ItemDataRole.UserRole + 1
PENDING_ROLE = Qt.ItemDataRole.UserRole + 2  # a PendingCard: a RAW file still developing
CARD_W, CARD_H = 184, 168
THUMB_H = 84
PAD = 8


def _short_exposure(entry: FrameEntry) -> str:
    """Shutter, aperture and ISO (the EV is on the next line)."""
    return entry.frame.exposure.label(" · ", with_bias=False)


class _CardDelegate(QStyledItemDelegate):
    """Draws one exposure: thumbnail, toggle, name, exposure, EV and brightness, alignment."""

    toggled = Signal(int)
    starred = Signal(int)  # uid whose reference star was clicked

    def __init__(self, strip: "Filmstrip") -> None:
        super().__init__(strip)
        self.strip = strip

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(CARD_W, CARD_H)

    @staticmethod
    def check_rect(card: QRect) -> QRect:
        return QRect(card.left() + PAD + 5, card.top() + PAD + 5, 18, 18)

    @staticmethod
    def thumb_rect(card: QRect) -> QRect:
        return QRect(card.left() + PAD, card.top() + PAD, card.width() - 2 * PAD, THUMB_H)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        pending = index.data(PENDING_ROLE)
        if pending is not None:
            p.save()
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            paint_pending(p, option.rect.adjusted(4, 4, -4, -4), THUMB_H, PAD, pending, self.strip.pending_pixmap(pending))
            p.restore()
            return
        entry: FrameEntry | None = self.strip.entry_for(index)
        if entry is None:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        card = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        bg = QColor(style.BG_LIGHT if selected else (style.BG if hover else style.BG_DARK))
        p.setPen(QPen(QColor(style.ACCENT if selected else style.BORDER), 2 if selected else 1))
        p.setBrush(bg)
        p.drawRoundedRect(card, 6, 6)

        # thumbnail, letterboxed
        area = self.thumb_rect(card)
        p.fillRect(area, QColor(style.BG_DARKEST))
        draw_letterboxed(p, area, self.strip.pixmap_for(entry))
        if not entry.enabled:
            p.fillRect(area, QColor(20, 20, 20, 170))
            p.setPen(QColor(style.TEXT_DIM))
            p.drawText(area, Qt.AlignmentFlag.AlignCenter, "off")
        else:
            paint_marks(p, area, entry.uid, self.strip.marks, hover)

        # toggle
        cr = self.check_rect(card)
        p.setPen(QPen(QColor("#d0d0d0"), 1.2))
        p.setBrush(QColor(style.ACCENT) if entry.enabled else QColor(20, 20, 20, 200))
        p.drawRoundedRect(cr, 3, 3)
        if entry.enabled:
            p.setPen(QPen(QColor("white"), 2))
            p.drawPolyline([QPoint(cr.left() + 4, cr.center().y()), QPoint(cr.left() + 8, cr.bottom() - 4), QPoint(cr.right() - 3, cr.top() + 4)])

        # position badge
        row = index.row() + 1
        badge = QRect(area.right() - 24, area.top() + 5, 20, 18)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 20, 20, 200))
        p.drawRoundedRect(badge, 3, 3)
        p.setPen(QColor(style.TEXT))
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(row))

        # text lines
        fm = p.fontMetrics()
        x = card.left() + PAD
        w = card.width() - 2 * PAD
        y = area.bottom() + 6
        lh = fm.height() + 1
        bold = QFont(p.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(QColor(style.TEXT if entry.enabled else style.TEXT_DIM))
        p.drawText(QRect(x, y, w, lh), Qt.AlignmentFlag.AlignLeft, p.fontMetrics().elidedText(entry.name, Qt.TextElideMode.ElideMiddle, w))
        p.setFont(option.font)
        p.setPen(QColor(style.TEXT_DIM))
        label = _short_exposure(entry) or "no exposure data"
        p.drawText(QRect(x, y + lh, w, lh), Qt.AlignmentFlag.AlignLeft, fm.elidedText(label, Qt.TextElideMode.ElideRight, w))
        ev = self.strip.ev_label(entry.uid)
        line3 = f"{ev} · mean {entry.mean_luma * 100:.0f} %"
        p.drawText(QRect(x, y + 2 * lh, w, lh), Qt.AlignmentFlag.AlignLeft, fm.elidedText(line3, Qt.TextElideMode.ElideRight, w))
        # alignment state with a dot
        text = entry.alignment_text()
        applied = entry.align is not None and entry.align.applied and not entry.align_off
        dot = QColor(style.SUCCESS) if applied else QColor("#7a7a7a")
        cy = y + 3 * lh + lh // 2
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(dot)
        p.drawEllipse(QPoint(x + 4, cy), 4, 4)
        p.setPen(QColor(style.TEXT_DIM))
        p.drawText(QRect(x + 13, y + 3 * lh, w - 13, lh), Qt.AlignmentFlag.AlignLeft, fm.elidedText(text, Qt.TextElideMode.ElideRight, w - 13))
        p.restore()

    def editorEvent(self, event, model, option, index) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            card = option.rect.adjusted(4, 4, -4, -4)
            uid = index.data(UID_ROLE)
            if self.check_rect(card).adjusted(-3, -3, 3, 3).contains(event.position().toPoint()):
                if uid is not None:
                    self.toggled.emit(int(uid))
                return True
            marks = self.strip.marks
            entry = self.strip.entry_for(index)
            if marks.on and entry is not None and entry.enabled and self._star_hit(card, int(uid), event.position().toPoint()):
                self.starred.emit(int(uid))
                return True
        return super().editorEvent(event, model, option, index)

    def _star_hit(self, card: QRect, uid: int, pos) -> bool:
        star = star_rect(self.thumb_rect(card))
        if self.strip.marks.role(uid):  # the wider "★ reference" label
            star.setWidth(self.strip.fontMetrics().horizontalAdvance("★ reference · auto") + 12)
        return star.adjusted(-3, -3, 3, 3).contains(pos)


class Filmstrip(QListWidget):
    """Horizontal list of exposure cards. Drag to reorder; click the box to toggle."""

    orderChanged = Signal(list)  # uids in the new order
    toggled = Signal(int)  # uid
    removeRequested = Signal(list)  # uids
    moveRequested = Signal(int, int)  # uid, offset
    addRequested = Signal()
    sortRequested = Signal()
    currentUidChanged = Signal(int)  # uid, or 0 for none
    filesDropped = Signal(list)  # paths dropped from outside
    referenceRequested = Signal(int)  # uid to deghost against, 0 = automatic (the best-exposed frame)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filmstrip")
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setViewMode(QListWidget.ViewMode.ListMode)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setSpacing(0)
        self.setFixedHeight(CARD_H + 16)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self._delegate = _CardDelegate(self)
        self._delegate.toggled.connect(self.toggled)
        self._delegate.starred.connect(self._star_clicked)
        self.marks = DeghostMarks()
        self._pending_pixmaps: dict[int, QPixmap] = {}
        self.setItemDelegate(self._delegate)
        self._entries: dict[int, FrameEntry] = {}
        self._pixmaps: dict[int, QPixmap] = {}
        self._ev: dict[int, str] = {}
        self._updating = False
        self.model().rowsMoved.connect(self._rows_moved)
        self.currentItemChanged.connect(self._current_changed)
        self.setToolTip("")

    # ------------------------------------------------------------- content
    def set_entries(self, entries: list[FrameEntry], ev_labels: dict[int, str] | None = None) -> None:
        """Show these entries in this order (keeps the current selection where possible)."""
        current = self.current_uid()
        self._updating = True
        try:
            self._entries = {e.uid: e for e in entries}
            self._pixmaps = {uid: pm for uid, pm in self._pixmaps.items() if uid in self._entries}
            self._ev = dict(ev_labels or {})
            self.clear()
            for e in entries:
                item = QListWidgetItem()
                item.setData(UID_ROLE, e.uid)
                item.setSizeHint(QSize(CARD_W, CARD_H))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                item.setToolTip(self._tooltip(e))
                self.addItem(item)
            self._pending_pixmaps = {}
            if current in self._entries:
                self.set_current_uid(current)
        finally:
            self._updating = False
        self.viewport().update()

    def refresh(self) -> None:
        """Repaint (alignment or toggles changed)."""
        for i in range(self.count()):
            item = self.item(i)
            e = self._entries.get(item.data(UID_ROLE))
            if e is not None:
                item.setToolTip(self._tooltip(e))
        self.viewport().update()

    def entry_for(self, index: QModelIndex) -> FrameEntry | None:
        uid = index.data(UID_ROLE)
        return self._entries.get(uid) if uid is not None else None

    def pixmap_for(self, entry: FrameEntry) -> QPixmap:
        pm = self._pixmaps.get(entry.uid)
        if pm is None:
            pm = QPixmap.fromImage(entry.thumb)  # thumbnails are small: fine on the UI thread
            self._pixmaps[entry.uid] = pm
        return pm

    def ev_label(self, uid: int) -> str:
        return self._ev.get(uid, "")

    def uids(self) -> list[int]:
        return [int(u) for u in (self.item(i).data(UID_ROLE) for i in range(self.count())) if u is not None]

    # ------------------------------------------------------- camera brackets
    def set_marks(self, marks: DeghostMarks) -> None:
        """What the cards show about deghosting (the reference star, the replaced shares)."""
        self.marks = marks
        self.refresh()

    def _star_clicked(self, uid: int) -> None:
        # the chosen reference's star goes back to automatic; any other makes that frame the reference
        self.referenceRequested.emit(0 if uid == self.marks.chosen else uid)

    def show_pending(self, cards: list[PendingCard], alone: bool = False) -> None:
        """Cards for RAW files being developed, after the bracket's (``alone``: instead of them)."""
        self._remove_pending()
        for i in range(self.count()):
            self.setRowHidden(i, alone)
        for card in cards:
            item = QListWidgetItem()
            item.setData(PENDING_ROLE, card)
            item.setSizeHint(QSize(CARD_W, CARD_H))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(f"{card.name}: {card.state}; the preview is the one the camera embedded")
            self.addItem(item)
        self.viewport().update()

    def pending_cards(self) -> list[PendingCard]:
        return [self.item(i).data(PENDING_ROLE) for i in range(self.count()) if self.item(i).data(PENDING_ROLE) is not None]

    def clear_pending(self) -> None:
        """Drop the pending cards and show the bracket's again (a load ended, or was cancelled)."""
        self._remove_pending()
        self._pending_pixmaps = {}
        for i in range(self.count()):
            self.setRowHidden(i, False)
        self.viewport().update()

    def _remove_pending(self) -> None:
        self._updating = True
        try:
            for i in reversed(range(self.count())):
                if self.item(i).data(PENDING_ROLE) is not None:
                    self.takeItem(i)
        finally:
            self._updating = False

    def pending_pixmap(self, card: PendingCard) -> QPixmap | None:
        """The card's preview as a pixmap (made once per load: every progress step re-sends the same previews)."""
        if card.thumb is None:
            return None
        pm = self._pending_pixmaps.get(id(card.thumb))
        if pm is None:
            pm = QPixmap.fromImage(card.thumb)
            self._pending_pixmaps[id(card.thumb)] = pm
        return pm

    def current_uid(self) -> int:
        item = self.currentItem()
        return int(item.data(UID_ROLE)) if item is not None else 0

    def set_current_uid(self, uid: int) -> None:
        for i in range(self.count()):
            if self.item(i).data(UID_ROLE) == uid:
                self.setCurrentRow(i)
                return

    def selected_uids(self) -> list[int]:
        return [int(i.data(UID_ROLE)) for i in self.selectedItems()]

    def _tooltip(self, e: FrameEntry) -> str:
        f = e.frame
        lines = [
            str(f.path),
            f"{f.size[0]} × {f.size[1]}, {f.bit_depth}-bit {'RGB' if f.channels == 3 else 'grey'}",
            f.exposure.label() or "no exposure data in EXIF",
            f"mean brightness {e.mean_luma * 100:.1f} %",
            f"alignment: {e.align.describe() if e.align is not None and not e.align_off else e.alignment_text()}",
            "included in the fusion" if e.enabled else "left out of the fusion",
        ]
        if self.marks.on and e.enabled:
            lines.append(self.marks.describe(e.uid))
        return "\n".join(lines)

    # -------------------------------------------------------------- events
    def _rows_moved(self, *args) -> None:
        if not self._updating:
            self.orderChanged.emit(self.uids())
            self.viewport().update()

    def _current_changed(self, cur, prev) -> None:
        if not self._updating:
            self.currentUidChanged.emit(int(cur.data(UID_ROLE)) if cur is not None else 0)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected_uids():
            self.removeRequested.emit(self.selected_uids())
            return
        if event.key() == Qt.Key.Key_Space and self.current_uid():
            self.toggled.emit(self.current_uid())
            return
        super().keyPressEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and event.source() is None:
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and event.source() is None:
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and event.source() is None:
            paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
            event.acceptProposedAction()
            if paths:
                self.filesDropped.emit(paths)
            return
        super().dropEvent(event)

    def _context_menu(self, pos) -> None:
        item = self.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            uid = int(item.data(UID_ROLE))
            e = self._entries.get(uid)
            act = QAction("Include in fusion", menu, checkable=True)
            act.setChecked(bool(e and e.enabled))
            act.triggered.connect(lambda: self.toggled.emit(uid))
            menu.addAction(act)
            ref = QAction("Deghosting reference", menu, checkable=True)
            ref.setChecked(self.marks.chosen == uid)
            ref.setEnabled(bool(e and e.enabled))
            ref.setToolTip("Take what moved from this frame (deghosting must be on to see an effect)")
            ref.triggered.connect(lambda on: self.referenceRequested.emit(uid if on else 0))
            menu.addAction(ref)
            if self.marks.chosen is not None:
                menu.addAction("Automatic reference (best exposed)", lambda: self.referenceRequested.emit(0))
            menu.addAction("Move left", lambda: self.moveRequested.emit(uid, -1))
            menu.addAction("Move right", lambda: self.moveRequested.emit(uid, 1))
            menu.addAction("Remove", lambda: self.removeRequested.emit(self.selected_uids() or [uid]))
            menu.addSeparator()
        menu.addAction("Add exposures…", self.addRequested.emit)
        menu.addAction("Sort darkest to brightest", self.sortRequested.emit)
        menu.exec(self.viewport().mapToGlobal(pos))


class FilmstripPanel(QWidget):
    """The filmstrip with its buttons (add, remove, move, sort)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip = Filmstrip()
        buttons = QVBoxLayout()
        buttons.setContentsMargins(6, 8, 0, 8)
        buttons.setSpacing(2)

        def button(text: str, tip: str, slot) -> QToolButton:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFixedWidth(34)
            b.clicked.connect(slot)
            buttons.addWidget(b)
            return b

        s = self.strip
        self.add_button = button("+", "Add exposures to the bracket…", s.addRequested.emit)
        self.remove_button = button("−", "Remove the selected exposures (Del)", lambda: s.removeRequested.emit(s.selected_uids()) if s.selected_uids() else None)
        self.left_button = button("◀", "Move the selected exposure left", lambda: s.moveRequested.emit(s.current_uid(), -1) if s.current_uid() else None)
        self.right_button = button("▶", "Move the selected exposure right", lambda: s.moveRequested.emit(s.current_uid(), 1) if s.current_uid() else None)
        self.sort_button = button("⇅", "Sort darkest to brightest", s.sortRequested.emit)
        buttons.addStretch(1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(buttons)
        lay.addWidget(self.strip, 1)
