"""The image viewer: zoom/pan, preview vs full resolution, overlays, compare.

Scene coordinates are full-resolution image pixels. An :class:`ImageItem`
draws a :class:`~hdrdesk.gui.imaging.DisplayImage`: the preview while one
screen pixel covers more than one preview pixel, the full-resolution QImage
when zoomed in (only the exposed part is drawn, so a 24-megapixel image pans
as fast as a small one).
"""

from __future__ import annotations


from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSplitter,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.gui import style
from hdrdesk.gui.imaging import DisplayImage

MIN_SCALE = 0.01
MAX_SCALE = 64.0
ZOOM_STEP = 1.25


class ImageItem(QGraphicsItem):
    """Draws a DisplayImage over the scene rectangle (0, 0, width, height)."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._image: DisplayImage | None = None
        self._rect = QRectF()
        self._clip: QRectF | None = None
        self.smooth_upscale = False  # interpolate when magnifying (maps computed at a lower resolution)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def display(self) -> DisplayImage | None:
        return self._image

    def set_image(self, image: DisplayImage | None) -> None:
        rect = QRectF(0, 0, image.width, image.height) if image is not None else QRectF()
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self._image = image
        self.update()

    def set_clip(self, rect: QRectF | None) -> None:
        """Draw only inside ``rect`` (scene coordinates); None: everywhere."""
        self._clip = rect
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        img = self._image
        if img is None:
            return
        rect = option.exposedRect.intersected(self._rect)
        if self._clip is not None:
            rect = rect.intersected(self._clip)
        if rect.isEmpty():
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        painter.save()
        painter.setClipRect(rect)
        if img.full is not None and lod > img.preview_scale * 1.05:
            # Zoomed in past the preview: full resolution, nearest neighbour from 100 % up.
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, lod < 1.0)
            painter.drawImage(self._rect, img.full)
        else:
            magnified = lod / max(img.preview_scale, 1e-9) >= 1.0
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not magnified or self.smooth_upscale)
            painter.drawImage(self._rect, img.preview)
        painter.restore()


class ImageView(QGraphicsView):
    """Zoomable, pannable view of one scene (wheel zooms around the cursor, drag pans)."""

    hovered = Signal(QPointF)  # scene position under the cursor
    left = Signal()  # the cursor left the view
    zoomChanged = Signal(float)  # scale in screen pixels per image pixel (100 % = 1.0)
    viewChanged = Signal()  # zoom or scroll changed (for synchronised views)
    splitMoved = Signal(float)  # split position as a fraction of the width, dragged by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.base = ImageItem()
        self.split_item = ImageItem()
        self.split_item.setZValue(1)
        self.overlay = ImageItem()
        self.overlay.setZValue(2)
        self.overlay.smooth_upscale = True
        self.overlay.setVisible(False)
        for item in (self.base, self.split_item, self.overlay):
            self.scene().addItem(item)
        self.setBackgroundBrush(QColor(style.BG_DARKEST))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, False)
        self.viewport().setMouseTracking(True)
        self.setMouseTracking(True)
        self._fit_mode = True
        self._split: float | None = None  # fraction of the image width; None: no split
        self._dragging_split = False
        self.captions: tuple[str, str] = ("", "")
        self.placeholder = ""

    # ------------------------------------------------------------- images
    def set_base(self, image: DisplayImage | None) -> None:
        old = self.base.boundingRect()
        self.base.set_image(image)
        new = self.base.boundingRect()
        self.setSceneRect(new)
        if new.size() != old.size() and not new.isEmpty():
            self._fit_mode = True
        if self._fit_mode:
            self.fit()
        self.viewport().update()

    def image_size(self) -> tuple[int, int]:
        r = self.base.boundingRect()
        return int(r.width()), int(r.height())

    def set_split_image(self, image: DisplayImage | None) -> None:
        self.split_item.set_image(image)
        self._update_split_clip()

    def set_split(self, fraction: float | None) -> None:
        """Show the split image right of ``fraction`` of the width (None: no split)."""
        self._split = None if fraction is None else min(1.0, max(0.0, float(fraction)))
        self.split_item.setVisible(self._split is not None)
        self._update_split_clip()
        self.viewport().update()

    def split(self) -> float | None:
        return self._split

    def _split_x(self) -> float:
        return (self._split or 0.0) * self.sceneRect().width()

    def _update_split_clip(self) -> None:
        r = self.sceneRect()
        if self._split is not None:
            x = self._split_x()
            self.split_item.set_clip(QRectF(x, r.top(), max(0.0, r.right() - x), r.height()))

    def set_overlay(self, image: DisplayImage | None, opacity: float | None = None) -> None:
        self.overlay.set_image(image)
        self.overlay.setVisible(image is not None)
        if opacity is not None:
            self.overlay.setOpacity(opacity)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.setOpacity(opacity)

    # --------------------------------------------------------------- zoom
    def device_ratio(self) -> float:
        return max(1.0, self.devicePixelRatioF())

    def scale_factor(self) -> float:
        """Screen (device) pixels per image pixel: 1.0 is 100 %."""
        return self.transform().m11() * self.device_ratio()

    def fit(self) -> None:
        self._fit_mode = True
        r = self.sceneRect()
        if r.isEmpty() or self.viewport().width() < 2:
            return
        vw, vh = self.viewport().width() - 8, self.viewport().height() - 8
        s = min(vw / r.width(), vh / r.height())
        self._apply_scale(s)
        self.centerOn(r.center())
        self._emit_zoom()

    def zoom_to(self, factor: float, anchor: QPointF | None = None) -> None:
        """Set the zoom (1.0 = 100 %: one image pixel per screen pixel)."""
        self._fit_mode = False
        s = min(MAX_SCALE, max(MIN_SCALE, factor)) / self.device_ratio()
        center = anchor if anchor is not None else self.mapToScene(self.viewport().rect().center())
        self._apply_scale(s)
        self.centerOn(center)
        self._emit_zoom()

    def zoom_by(self, step: float) -> None:
        old = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._zoom_relative(step)
        self.setTransformationAnchor(old)

    def _zoom_relative(self, step: float) -> None:
        cur = self.transform().m11()
        target = min(MAX_SCALE / self.device_ratio(), max(MIN_SCALE / self.device_ratio(), cur * step))
        if abs(target - cur) < 1e-12:
            return
        self._fit_mode = False
        self.scale(target / cur, target / cur)
        self._emit_zoom()

    def _apply_scale(self, s: float) -> None:
        self.setTransform(QTransform.fromScale(s, s))

    def _emit_zoom(self) -> None:
        self.zoomChanged.emit(self.scale_factor())
        self.viewChanged.emit()

    def is_fit(self) -> bool:
        return self._fit_mode

    def sync_from(self, other: "ImageView") -> None:
        """Show the same part of the image at the same zoom as ``other``."""
        self._fit_mode = other._fit_mode
        self.setTransform(other.transform())
        self.centerOn(other.mapToScene(other.viewport().rect().center()))

    # ------------------------------------------------------------- events
    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta == 0:
            return
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self._zoom_relative(ZOOM_STEP ** (delta / 120.0))
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        super().scrollContentsBy(dx, dy)
        self.viewChanged.emit()

    def _near_split(self, pos) -> bool:
        if self._split is None:
            return False
        x = self.mapFromScene(QPointF(self._split_x(), 0)).x()
        return abs(pos.x() - x) <= 6

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(event.position()):
            self._dragging_split = True
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self._dragging_split:
            x = self.mapToScene(pos.toPoint()).x()
            w = max(1.0, self.sceneRect().width())
            self.set_split(x / w)
            self.splitMoved.emit(self._split or 0.0)
            event.accept()
            return
        if self._split is not None:
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor if self._near_split(pos) else Qt.CursorShape.OpenHandCursor)
        super().mouseMoveEvent(event)
        scene_pos = self.mapToScene(pos.toPoint())
        if self.sceneRect().contains(scene_pos):
            self.hovered.emit(scene_pos)
        else:
            self.left.emit()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._dragging_split:
            self._dragging_split = False
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        super().leaveEvent(event)
        self.left.emit()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        painter.save()
        painter.resetTransform()
        vp = self.viewport().rect()
        if self.base.display() is None and self.placeholder:
            painter.setPen(QColor(style.TEXT_DIM))
            f = QFont(self.font())
            f.setPointSizeF(f.pointSizeF() * 1.2)
            painter.setFont(f)
            painter.drawText(vp, Qt.AlignmentFlag.AlignCenter, self.placeholder)
        if self._split is not None and self.base.display() is not None:
            x = self.mapFromScene(QPointF(self._split_x(), 0)).x()
            top = max(0.0, float(self.mapFromScene(QPointF(0, 0)).y()))
            bottom = min(float(vp.height()), float(self.mapFromScene(QPointF(0, self.sceneRect().height())).y()))
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1.5))
            painter.drawLine(QPointF(x, top), QPointF(x, bottom))
            painter.setBrush(QColor(40, 40, 40, 220))
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            cy = (top + bottom) / 2
            painter.drawEllipse(QPointF(x, cy), 11, 11)
            painter.setPen(QPen(QColor(230, 230, 230), 1.5))
            for sgn in (-1, 1):
                painter.drawLine(QPointF(x + sgn * 3, cy - 4), QPointF(x + sgn * 7, cy))
                painter.drawLine(QPointF(x + sgn * 7, cy), QPointF(x + sgn * 3, cy + 4))
        left, right = self.captions
        if self.base.display() is not None:
            if left:
                self._caption(painter, left, vp, Qt.AlignmentFlag.AlignLeft)
            if right:
                self._caption(painter, right, vp, Qt.AlignmentFlag.AlignRight)
        painter.restore()

    def _caption(self, painter: QPainter, text: str, vp, align) -> None:
        fm = painter.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 16, fm.height() + 8
        x = 10 if align == Qt.AlignmentFlag.AlignLeft else vp.width() - w - 10
        r = QRectF(x, 10, w, h)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(20, 20, 20, 190))
        painter.drawRoundedRect(r, 4, 4)
        painter.setPen(QColor(style.TEXT))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def set_captions(self, left: str = "", right: str = "") -> None:
        self.captions = (left, right)
        self.viewport().update()


class ViewerArea(QWidget):
    """The main view and a compare view: single, side by side (synchronised) or split."""

    MODES = ("single", "side", "split")

    zoomChanged = Signal(float)
    hovered = Signal(QPointF)
    left = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main = ImageView()
        self.second = ImageView()
        self.main.placeholder = "Fusing…"
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setHandleWidth(3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.main)
        self.splitter.addWidget(self.second)
        self.second.hide()
        self.split_slider = QSlider(Qt.Orientation.Horizontal)
        self.split_slider.setRange(0, 1000)
        self.split_slider.setValue(500)
        self.split_slider.setToolTip("Position of the before/after split (or drag the line in the image)")
        self.split_row = QWidget()
        row = QHBoxLayout(self.split_row)
        row.setContentsMargins(10, 4, 10, 4)
        self.split_left_label = QLabel("Fused")
        self.split_right_label = QLabel("Compare")
        for lab in (self.split_left_label, self.split_right_label):
            lab.setProperty("dim", True)
        row.addWidget(self.split_left_label)
        row.addWidget(self.split_slider, 1)
        row.addWidget(self.split_right_label)
        self.split_row.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.split_row)
        self._mode = "single"
        self._syncing = False
        self._compare: DisplayImage | None = None
        self._labels = ("", "")
        self.main.viewChanged.connect(lambda: self._sync(self.main, self.second))
        self.second.viewChanged.connect(lambda: self._sync(self.second, self.main))
        self.main.zoomChanged.connect(self.zoomChanged)
        for v in (self.main, self.second):
            v.hovered.connect(self.hovered)
            v.left.connect(self.left)
        self.split_slider.valueChanged.connect(lambda v: self.main.set_split(v / 1000.0) if self._mode == "split" else None)
        self.main.splitMoved.connect(self._split_dragged)

    # ---------------------------------------------------------------- API
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in self.MODES:
            raise ValueError(mode)
        self._mode = mode
        self.second.setVisible(mode == "side")
        self.split_row.setVisible(mode == "split")
        self.main.set_split(self.split_slider.value() / 1000.0 if mode == "split" else None)
        if mode == "side":
            total = max(2, self.splitter.width())
            self.splitter.setSizes([total // 2, total - total // 2])
            self.second.set_base(self._compare)
            self.second.sync_from(self.main)
        self._update_captions()

    def set_main(self, image: DisplayImage | None, label: str = "") -> None:
        self.main.set_base(image)
        self._labels = (label, self._labels[1])
        self._update_captions()
        if self._mode == "side":
            self.second.sync_from(self.main)

    def set_compare(self, image: DisplayImage | None, label: str = "") -> None:
        self._compare = image
        self._labels = (self._labels[0], label)
        self.second.set_base(image)
        self.main.set_split_image(image)
        if self._mode == "side":
            self.second.sync_from(self.main)
        self._update_captions()

    def compare_image(self) -> DisplayImage | None:
        return self._compare

    def set_overlay(self, image: DisplayImage | None, opacity: float | None = None) -> None:
        self.main.set_overlay(image, opacity)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.main.set_overlay_opacity(opacity)

    def fit(self) -> None:
        self.main.fit()

    def zoom_to(self, factor: float) -> None:
        self.main.zoom_to(factor)

    def zoom_in(self) -> None:
        self.main.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.main.zoom_by(1.0 / ZOOM_STEP)

    def scale_factor(self) -> float:
        return self.main.scale_factor()

    # ------------------------------------------------------------ helpers
    def _split_dragged(self, fraction: float) -> None:
        self.split_slider.blockSignals(True)
        self.split_slider.setValue(round(fraction * 1000))
        self.split_slider.blockSignals(False)

    def _sync(self, src: ImageView, dst: ImageView) -> None:
        if self._syncing or self._mode != "side" or not dst.isVisible():
            return
        self._syncing = True
        try:
            dst.sync_from(src)
        finally:
            self._syncing = False
        if src is self.second:
            self.zoomChanged.emit(self.main.scale_factor())

    def _update_captions(self) -> None:
        left, right = self._labels
        if self._mode == "split":
            self.main.set_captions(left, right)
            self.split_left_label.setText(left or "Result")
            self.split_right_label.setText(right or "Compare")
        else:
            self.main.set_captions(left, "")
        self.second.set_captions(right if self._mode == "side" else "", "")
