"""The shoot view's table: one row per group of the :class:`~hdrdesk.shoot.plan.ShootPlan`.

Columns: the frames' previews with their EVs (and, once fused, the result's preview),
the frame names, the capture time, the output file and the status (a progress bar while
the bracket is fused). Previews live in one dict of small QImages keyed by path; nothing
else of a fused bracket is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar, QStyleOptionViewItem

from hdrdesk.gui import style
from hdrdesk.gui.imaging import draw_letterboxed
from hdrdesk.shoot.plan import Group, ShootPlan

COLUMNS = ("#", "Frames", "Bracket", "Captured", "Output", "Status")
COL_INDEX, COL_FRAMES, COL_NAMES, COL_TIME, COL_OUTPUT, COL_STATUS = range(len(COLUMNS))
TILE_H = 56  # preview height in the table
TILE_W = 84  # widest preview (3:2)
EV_H = 16  # the EV label under a preview
ROW_H = TILE_H + EV_H + 10


@dataclass
class RowState:
    """What the queue did with a group: 'waiting', 'running', 'fused', 'skipped', 'failed' or '' (not run)."""

    status: str = ""
    fraction: float = 0.0
    message: str = ""
    result_thumb: QImage | None = None


class ShootTableModel(QAbstractTableModel):
    """A read-only view of the plan plus the queue's per-group state; call :meth:`reset` after an edit."""

    def __init__(self, plan: ShootPlan, parent=None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.thumbs: dict[Path, QImage | None] = {}
        self.states: dict[int, RowState] = {}  # by group uid
        self.outputs: dict[int, str] = {}  # by group uid: the output file name
        self._bracket_numbers: dict[int, int] = {}
        self._renumber()

    # ------------------------------------------------------------ updates
    def reset(self) -> None:
        self.beginResetModel()
        self._renumber()
        self.endResetModel()

    def _renumber(self) -> None:
        self._bracket_numbers = {g.uid: i + 1 for i, g in enumerate(self.plan.brackets())}

    def group_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def set_thumbs(self, items) -> None:
        """New previews ``[(path, QImage | None)]``: repaint the rows that show them."""
        paths = set()
        for path, img in items:
            self.thumbs[path] = img
            paths.add(path)
        rows = [r for r, g in enumerate(self.plan.groups) if any(s.path in paths for s in g.shots)]
        if rows:
            self.dataChanged.emit(self.index(min(rows), COL_FRAMES), self.index(max(rows), COL_FRAMES))

    def set_state(self, uid: int, state: RowState) -> None:
        self.states[uid] = state
        try:
            row = self.plan.index_of(uid)
        except KeyError:
            return
        self.group_changed(row)

    def group(self, row: int) -> Group:
        return self.plan.groups[row]

    # ------------------------------------------------------------ Qt model
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.plan.groups)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        g = self.plan.groups[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(g, col)
        if role == Qt.ItemDataRole.ForegroundRole and not g.included:
            return QColor(style.TEXT_DIM)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS:
                st = self.states.get(g.uid)
                return st.message if st and st.message else None
            if col in (COL_NAMES, COL_FRAMES):
                return "\n".join(f"{s.name}  {ev}" for s, ev in zip(g.shots, g.ev_labels()))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_INDEX,):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _text(self, g: Group, col: int) -> str:
        if col == COL_INDEX:
            return str(self._bracket_numbers[g.uid]) if g.is_bracket else "–"
        if col == COL_NAMES:
            head = g.shots[0].name if len(g.shots) == 1 else f"{g.shots[0].name} – {g.shots[-1].name}"
            what = f"{len(g.shots)} frames" if g.is_bracket else "single"
            camera = f" · {g.camera}" if g.camera else ""
            return f"{head}\n{what}{camera}"
        if col == COL_TIME:
            return g.time_text()
        if col == COL_OUTPUT:
            if not g.is_bracket:
                return "—"
            return "excluded" if g.excluded else self.outputs.get(g.uid, "")
        if col == COL_STATUS:
            return status_text(g, self.states.get(g.uid))
        return ""


def status_text(g: Group, st: RowState | None) -> str:
    if not g.is_bracket:
        return "skipped: single"
    if g.excluded:
        return "excluded"
    if st is None or not st.status:
        return "ready"
    if st.status == "running":
        return f"{st.message or 'fusing'} {100 * st.fraction:.0f} %"
    if st.status == "fused":
        return f"fused · {st.message}" if st.message else "fused"
    if st.status in ("skipped", "failed"):
        return f"{st.status}: {st.message}" if st.message else st.status
    return st.status


class FramesDelegate(QStyledItemDelegate):
    """Paints a group's frame previews side by side with their EVs, then '→' and the result's preview."""

    def __init__(self, model: ShootTableModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        g = self.model.group(index.row())
        return QSize(8 + (len(g.shots) + 1) * (TILE_W + 6) + 20, ROW_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        QApplication.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        g = self.model.group(index.row())
        painter.save()
        painter.setClipRect(option.rect)
        dim = not g.included
        x = option.rect.x() + 6
        top = option.rect.y() + 4
        font = painter.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        for shot, ev in zip(g.shots, g.ev_labels()):
            self._tile(painter, QRect(x, top, TILE_W, TILE_H), self.model.thumbs.get(shot.path, False), dim)
            painter.setPen(QColor(style.TEXT_DIM))
            painter.drawText(QRect(x, top + TILE_H + 1, TILE_W, EV_H), Qt.AlignmentFlag.AlignCenter, ev)
            x += TILE_W + 6
        st = self.model.states.get(g.uid)
        if st is not None and st.result_thumb is not None:
            painter.setPen(QColor(style.TEXT))
            painter.drawText(QRect(x, top, 16, TILE_H), Qt.AlignmentFlag.AlignCenter, "→")
            x += 18
            self._tile(painter, QRect(x, top, TILE_W, TILE_H), st.result_thumb, False)
            painter.setPen(QColor(style.SUCCESS))
            painter.drawText(QRect(x, top + TILE_H + 1, TILE_W, EV_H), Qt.AlignmentFlag.AlignCenter, "result")
        painter.restore()

    @staticmethod
    def _tile(painter: QPainter, rect: QRect, img, dim: bool) -> None:
        """A preview fitted into ``rect`` (a grey box while it loads, a cross if unreadable)."""
        if not img:
            painter.fillRect(rect, QColor(style.BG_LIGHT))
            if img is None:  # read and found unreadable
                painter.setPen(QPen(QColor(style.TEXT_DIM), 1))
                painter.drawLine(rect.topLeft(), rect.bottomRight())
                painter.drawLine(rect.topRight(), rect.bottomLeft())
            return
        painter.setOpacity(0.45 if dim else 1.0)
        draw_letterboxed(painter, rect, img)
        painter.setOpacity(1.0)


class StatusDelegate(QStyledItemDelegate):
    """The status text, or a progress bar while the bracket is fused."""

    def __init__(self, model: ShootTableModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        g = self.model.group(index.row())
        st = self.model.states.get(g.uid)
        if st is None or st.status != "running":
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            if st is not None and st.status in ("fused", "failed"):
                opt.palette.setColor(opt.palette.ColorRole.Text, QColor(style.SUCCESS if st.status == "fused" else style.ERROR))
                opt.palette.setColor(opt.palette.ColorRole.HighlightedText, QColor("#ffffff"))
            QApplication.style().drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(6, option.rect.height() // 2 - 11, -6, -(option.rect.height() // 2 - 11))
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(1000 * st.fraction)
        bar.text = status_text(g, st)
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
