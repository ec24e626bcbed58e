"""Small widgets and helpers of the tool windows (Fine-tune, Refine): a picture view, plots,
headings, a UI-thread heartbeat and formatting."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from hdrdesk.gui import style

HEARTBEAT_MS = 20


class Heartbeat(QObject):
    """A QTimer on the UI thread; records the longest gap between its ticks (responsiveness)."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._last = self._t0 = 0.0
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.long_gaps: list[tuple[float, float]] = []  # (seconds since start, gap in ms) above 100 ms

    def start(self) -> None:
        self.max_gap_ms, self.ticks, self.long_gaps = 0.0, 0, []
        self._last = self._t0 = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self.max_gap_ms = max(self.max_gap_ms, gap)
        if gap > 100.0:
            self.long_gaps.append((round(now - self._t0, 3), round(gap, 1)))
        self._last = now
        self.ticks += 1


class ImageView(QWidget):
    """A picture scaled to fit (aspect kept) on a dark ground, with an optional caption."""

    def __init__(self, caption: str = "", placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.caption = caption
        self.placeholder = placeholder
        self.setMinimumSize(80, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None, caption: str | None = None) -> None:
        self._image = image
        if caption is not None:
            self.caption = caption
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 210)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(style.BG_DARKEST))
        r = QRectF(self.rect())
        if self._image is not None and not self._image.isNull():
            iw, ih = self._image.width(), self._image.height()
            s = min(r.width() / iw, r.height() / ih)
            w, h = iw * s, ih * s
            target = QRectF(r.x() + (r.width() - w) / 2, r.y() + (r.height() - h) / 2, w, h)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
        elif self.placeholder:
            p.setPen(QColor(style.TEXT_DIM))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        if self.caption:
            f = QFont(self.font())
            f.setPointSizeF(max(7.0, f.pointSizeF() - 1))
            p.setFont(f)
            tw = p.fontMetrics().horizontalAdvance(self.caption) + 12
            th = p.fontMetrics().height() + 4
            box = QRectF(4, 4, min(tw, r.width() - 8), th)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor("#ffffff"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.caption)
        p.end()


def _heading(text: str) -> QLabel:
    lab = QLabel(text.upper())
    lab.setProperty("heading", True)
    return lab


def _dim(text: str = "", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setProperty("dim", True)
    lab.setWordWrap(wrap)
    return lab


def _plot(title: str, ylabel: str):
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True)
    w = pg.PlotWidget(background=style.BG_DARK)
    w.setMinimumHeight(150)
    item = w.getPlotItem()
    item.setTitle(f"<span style='color:{style.TEXT_DIM};font-size:9pt'>{title}</span>")
    for side in ("left", "bottom"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen(style.BORDER))
        ax.setTextPen(pg.mkPen(style.TEXT_DIM))
        ax.enableAutoSIPrefix(False)
    item.setLabel("bottom", "step", color=style.TEXT_DIM)
    item.setLabel("left", ylabel, color=style.TEXT_DIM)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    w.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    return w


def format_duration(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def unique_model_name(base: str) -> str:
    """A name for a new model that no stored model has yet (hdrdesk.model_store.unique_name)."""
    from hdrdesk.model_store import unique_name

    return unique_name(base)
