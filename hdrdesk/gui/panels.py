"""Side panels: fusion settings, overlay controls, pixel inspector, histogram and quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GAMMA_VARIANTS, GammaParams
from hdrdesk.gui import style
from hdrdesk.gui.imaging import COLORMAPS, DEFAULT_COLORMAP, Histogram, colormap_lut
from hdrdesk.core.gamma import sigma_for_window

VARIANT_LABELS = {
    "variance": "Variance",
    "gradient": "Gradient",
    "exposedness": "Well-exposedness",
    "hybrid": "Hybrid (variance + gradient)",
}


def _heading(text: str) -> QLabel:
    lab = QLabel(text.upper())
    lab.setProperty("heading", True)
    return lab


def _form() -> QFormLayout:
    f = QFormLayout()
    f.setContentsMargins(0, 0, 0, 0)
    f.setHorizontalSpacing(10)
    f.setVerticalSpacing(5)
    f.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return f


# ------------------------------------------------------------------ fusion


class FusionPanel(QWidget):
    """Method, model, working size, alignment; a Fuse button."""

    changed = Signal()  # any option changed: fuse again
    fuseRequested = Signal()
    browseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QComboBox()
        self.method.addItem("Network (CNN)", "cnn")
        self.method.addItem("Mertens (classic)", "mertens")
        self.method.setToolTip("Network: the CNN predicts per-pixel weights for each exposure.\nMertens: OpenCV's classic exposure fusion.")
        self.model = QComboBox()
        self.model.setToolTip("The network model: the shipped default or a model file of your own")
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(10)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Use a model file (.pt) from disk")
        self.working = QSpinBox()
        self.working.setRange(64, 4096)
        self.working.setSingleStep(64)
        self.working.setValue(512)
        self.working.setSuffix(" px")
        self.working.setToolTip("Short side of the copy the network sees; weights are lifted to full resolution.\nLarger is slower and may keep more fine detail.")
        self.align = QCheckBox("Align exposures")
        self.align.setChecked(True)
        self.align.setToolTip("Align hand-held brackets to the middle exposure before fusing")
        self.fuse = QPushButton("Fuse")
        self.fuse.setProperty("primary", True)
        self.fuse.setToolTip("Fuse again (F5)")
        model_row = QHBoxLayout()
        model_row.setSpacing(4)
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.browse)
        form = _form()
        form.addRow("Method", self.method)
        form.addRow("Model", model_row)
        form.addRow("Working size", self.working)
        fuse_row = QHBoxLayout()
        fuse_row.addWidget(self.align, 1)
        fuse_row.addWidget(self.fuse)
        self.fuse.setMinimumWidth(110)
        form.addRow("", fuse_row)
        self.quality = QualityPanel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(8)
        lay.addLayout(form)
        lay.addWidget(self.quality)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.model.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.working.editingFinished.connect(self._working_done)
        self._last_working = self.working.value()
        self.align.toggled.connect(lambda _b: self.changed.emit())
        self.fuse.clicked.connect(self.fuseRequested)
        self.browse.clicked.connect(self.browseRequested)
        self.set_models([("Default (shipped)", None)])

    def _method_changed(self) -> None:
        cnn = self.method_value() == "cnn"
        for w in (self.model, self.browse, self.working):
            w.setEnabled(cnn)
        self.changed.emit()

    def _working_done(self) -> None:
        if self.working.value() != self._last_working:
            self._last_working = self.working.value()
            self.changed.emit()

    def method_value(self) -> str:
        return self.method.currentData()

    def set_method(self, method: str) -> None:
        i = self.method.findData(method)
        if i >= 0:
            self.method.setCurrentIndex(i)

    def model_path(self) -> Path | None:
        data = self.model.currentData()
        return Path(data) if data else None

    def set_models(self, models: list[tuple[str, Path | None]], current: Path | None = None) -> None:
        """Refill the model list: (label, path or None for the shipped model)."""
        self.model.blockSignals(True)
        self.model.clear()
        for label, path in models:
            self.model.addItem(label, str(path) if path else None)
            if path:
                self.model.setItemData(self.model.count() - 1, str(path), Qt.ItemDataRole.ToolTipRole)
        self.model.blockSignals(False)
        self.select_model(current)

    def models(self) -> list[tuple[str, Path | None]]:
        return [(self.model.itemText(i), Path(self.model.itemData(i)) if self.model.itemData(i) else None) for i in range(self.model.count())]

    def select_model(self, path: Path | None) -> None:
        target = str(path) if path else None
        for i in range(self.model.count()):
            data = self.model.itemData(i)
            if (data or None) == target or (data and target and Path(data).resolve() == Path(target).resolve()):
                self.model.setCurrentIndex(i)
                return
        if path is not None:
            self.model.addItem(Path(path).stem, str(path))
            self.model.setItemData(self.model.count() - 1, str(path), Qt.ItemDataRole.ToolTipRole)
            self.model.setCurrentIndex(self.model.count() - 1)


# ------------------------------------------------------------------ overlay


class ColorLegend(QWidget):
    """One-line colour bar: 0 on the left, 1 on the right, a tick at 0.5; what it measures in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colormap = DEFAULT_COLORMAP
        self.caption = ""
        self.setFixedHeight(self.fontMetrics().height() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._img: QImage | None = None

    def set_colormap(self, name: str) -> None:
        self.colormap = name
        lut = np.ascontiguousarray(colormap_lut(name)[None, :, :])
        self._img = QImage(lut.data, 256, 1, 768, QImage.Format.Format_RGB888).copy()
        self.update()

    def set_caption(self, text: str) -> None:
        self.caption = text
        self.setToolTip(f"Colour scale: {text} from 0 (left) to 1 (right)" if text else "")
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        if self._img is None:
            self.set_colormap(self.colormap)
        p = QPainter(self)
        fm = p.fontMetrics()
        left_w, right_w = fm.horizontalAdvance("0") + 6, fm.horizontalAdvance("1") + 6
        bar = QRectF(left_w, 3, self.width() - left_w - right_w, self.height() - 6)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(bar, self._img)
        p.setPen(QColor("#555"))
        p.drawRect(bar)
        p.setPen(QColor(255, 255, 255, 160))
        mid = bar.left() + bar.width() / 2
        p.drawLine(QPointF(mid, bar.top()), QPointF(mid, bar.top() + 3))
        p.drawLine(QPointF(mid, bar.bottom() - 3), QPointF(mid, bar.bottom()))
        p.setPen(QColor(style.TEXT_DIM))
        base = (self.height() + fm.ascent() - fm.descent()) / 2
        p.drawText(QPointF(0, base), "0")
        p.drawText(QPointF(self.width() - right_w + 6, base), "1")
        p.end()

    def sizeHint(self):  # noqa: N802
        from PySide6.QtCore import QSize

        return QSize(200, self.fontMetrics().height() + 4)


class OverlayPanel(QWidget):
    """Which map to overlay (weights or gamma), over what, how; gamma parameters."""

    KINDS = (("None", "none"), ("Weight map", "weights"), ("Gamma map", "gamma"))

    kindChanged = Signal(str)
    exposureChanged = Signal(int)
    overChanged = Signal(str)  # "result" | "exposure"
    opacityChanged = Signal(float)
    colormapChanged = Signal(str)
    gammaChanged = Signal(bool)  # params changed; True while a slider is being dragged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for label, key in self.KINDS:
            self.kind.addItem(label, key)
        self.kind.setToolTip("Overlay a map on the image (O toggles it)")
        self.exposure = QComboBox()
        self.exposure.setToolTip("Whose map to show ([ and ] step through the exposures)")
        self.over = QComboBox()
        self.over.addItem("Fused result", "result")
        self.over.addItem("Its exposure", "exposure")
        self.over.setToolTip("Draw the map over the fused image or over the exposure it belongs to")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setToolTip("Overlay opacity")
        self.opacity_label = QLabel("60 %")
        self.opacity_label.setMinimumWidth(38)
        self.colormap = QComboBox()
        for name in COLORMAPS:
            self.colormap.addItem(name)
        self.colormap.setToolTip("Colour map of the overlay")
        self.legend = ColorLegend()

        self.variant = QComboBox()
        for v in GAMMA_VARIANTS:
            self.variant.addItem(VARIANT_LABELS.get(v, v), v)
        self.variant.setCurrentIndex(GAMMA_VARIANTS.index(DEFAULT_GAMMA_VARIANT))
        self.variant.setToolTip("How the gamma detail maps measure each exposure's local detail")
        self.window = QSlider(Qt.Orientation.Horizontal)
        self.window.setRange(1, 15)  # window = 2 * v + 1: 3 .. 31
        self.window.setValue(5)
        self.window.setToolTip("Gaussian window of the local measures (σ scales with it, 1.5 at 11)")
        self.window_label = QLabel()
        self.window_label.setMinimumWidth(38)
        self.alpha = QSlider(Qt.Orientation.Horizontal)
        self.alpha.setRange(0, 100)
        self.alpha.setValue(50)
        self.alpha.setToolTip("Hybrid: weight of the variance measure (the rest is the gradient measure)")
        self.alpha_label = QLabel()
        self.alpha_label.setMinimumWidth(38)
        self.resolution_label = QLabel("")
        self.resolution_label.setProperty("dim", True)
        self.resolution_label.setWordWrap(True)

        def row(slider: QSlider, label: QLabel) -> QHBoxLayout:
            h = QHBoxLayout()
            h.setSpacing(6)
            h.addWidget(slider, 1)
            h.addWidget(label)
            return h

        form = _form()
        form.addRow("Show", self.kind)
        form.addRow("Exposure", self.exposure)
        form.addRow("Draw over", self.over)
        form.addRow("Opacity", row(self.opacity, self.opacity_label))
        form.addRow("Colours", self.colormap)
        self.legend_label = QLabel("")
        self.legend_label.setProperty("dim", True)
        form.addRow(self.legend_label, self.legend)
        form.addRow("Gamma", self.variant)
        form.addRow("Window", row(self.window, self.window_label))
        form.addRow("Alpha", row(self.alpha, self.alpha_label))
        self._form = form
        self._gamma_rows = (form.rowCount() - 3, form.rowCount() - 2, form.rowCount() - 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        lay.addLayout(form)
        self.resolution_label.hide()  # its text goes into tooltips (space is short in the side panel)
        lay.addStretch(1)

        self.kind.currentIndexChanged.connect(lambda _i: (self._sync_enabled(), self.kindChanged.emit(self.kind_value())))
        self.exposure.currentIndexChanged.connect(lambda i: self.exposureChanged.emit(i) if i >= 0 else None)
        self.over.currentIndexChanged.connect(lambda _i: self.overChanged.emit(self.over.currentData()))
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.colormap.currentTextChanged.connect(self._colormap_changed)
        self.variant.currentIndexChanged.connect(lambda _i: (self._sync_enabled(), self._update_labels(), self.gammaChanged.emit(False)))
        for s in (self.window, self.alpha):
            s.valueChanged.connect(lambda _v, s=s: (self._update_labels(), self.gammaChanged.emit(s.isSliderDown())))
            s.sliderReleased.connect(lambda: self.gammaChanged.emit(False))
        self.colormap.setCurrentText(DEFAULT_COLORMAP)
        self.legend.set_colormap(DEFAULT_COLORMAP)
        self._update_labels()
        self._sync_enabled()

    # ----------------------------------------------------------- values
    def kind_value(self) -> str:
        return self.kind.currentData()

    def set_kind(self, kind: str) -> None:
        i = self.kind.findData(kind)
        if i >= 0:
            self.kind.setCurrentIndex(i)

    def exposure_index(self) -> int:
        return self.exposure.currentIndex()

    def set_exposures(self, names: list[str], current: int = 0) -> None:
        self.exposure.blockSignals(True)
        self.exposure.clear()
        for i, n in enumerate(names):
            self.exposure.addItem(f"{i + 1}: {n}")
        if names:
            self.exposure.setCurrentIndex(min(max(0, current), len(names) - 1))
        self.exposure.blockSignals(False)

    def set_exposure_index(self, i: int) -> None:
        if 0 <= i < self.exposure.count():
            self.exposure.setCurrentIndex(i)

    def over_value(self) -> str:
        return self.over.currentData()

    def opacity_value(self) -> float:
        return self.opacity.value() / 100.0

    def colormap_name(self) -> str:
        return self.colormap.currentText()

    def window_value(self) -> int:
        return 2 * self.window.value() + 1

    def gamma_params(self) -> GammaParams:
        w = self.window_value()
        return GammaParams.for_window(self.variant.currentData(), w, self.alpha.value() / 100.0)

    def set_gamma_params(self, params: GammaParams) -> None:
        i = self.variant.findData(params.variant)
        if i >= 0:
            self.variant.setCurrentIndex(i)
        self.window.setValue((params.window - 1) // 2)
        self.alpha.setValue(round(params.alpha * 100))

    def set_weights_available(self, ok: bool, why: str = "") -> None:
        model = self.kind.model()
        item = model.item(self.kind.findData("weights"))
        if item is not None:
            item.setEnabled(ok)
            item.setToolTip("" if ok else why)
        if not ok and self.kind_value() == "weights":
            self.set_kind("none")

    # ---------------------------------------------------------- helpers
    def _opacity_changed(self, v: int) -> None:
        self.opacity_label.setText(f"{v} %")
        self.opacityChanged.emit(v / 100.0)

    def _colormap_changed(self, name: str) -> None:
        self.legend.set_colormap(name)
        self.colormapChanged.emit(name)

    def _update_labels(self) -> None:
        w = self.window_value()
        self.window_label.setText(f"{w}")
        self.window.setToolTip(f"Gaussian window {w}×{w}, σ = {sigma_for_window(w):g} (σ scales with the window; SSIM uses 11 and 1.5)")
        self.alpha_label.setText(f"{self.alpha.value() / 100:.2f}")

    def _sync_enabled(self) -> None:
        kind = self.kind_value()
        on = kind != "none"
        for w in (self.exposure, self.over, self.opacity, self.colormap, self.legend):
            w.setEnabled(on)
        self._form.setRowVisible(self.legend, on)
        for r in self._gamma_rows:
            self._form.setRowVisible(r, kind == "gamma")
        self.alpha.setEnabled(self.variant.currentData() == "hybrid")
        self.legend.set_caption({"weights": "the exposure's weight", "gamma": "the exposure's gamma"}.get(kind, ""))
        self.legend_label.setText({"weights": "weight", "gamma": "gamma"}.get(kind, ""))


# ---------------------------------------------------------------- inspector


class InspectorPanel(QWidget):
    """Values under the cursor: per exposure value, weight and gamma; the fused value."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = QLabel("Hover over the image")
        self.position.setProperty("dim", True)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Exposure", "RGB", "Weight", "Gamma"])
        self.table.setToolTip("Hover over the image: each exposure's pixel value (as stored), weight and gamma there")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self._row_h = self.fontMetrics().height() + 6
        self.table.setMinimumHeight(4 * self._row_h + 8)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.fused = QLabel("")
        self.fused.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.swatch = QLabel()
        self.swatch.setFixedSize(18, 18)
        row = QHBoxLayout()
        row.addWidget(self.swatch)
        row.addWidget(self.fused, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(6)
        self.position.hide()  # the position is shown in the table's first header
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        self.values: dict | None = None  # the last values shown (tests read them)

    def show_values(self, values: dict | None) -> None:
        """``values``: x, y, fused (r, g, b floats), exposures: [name, value, weight, gamma]."""
        self.values = values
        header = self.table.horizontalHeaderItem(0)
        if values is None:
            self.position.setText("Hover over the image")
            header.setText("Exposure")
            self.table.horizontalHeaderItem(3).setToolTip("")
            self.table.setRowCount(0)
            self.fused.setText("")
            self.swatch.setStyleSheet("")
            return
        note = values.get("gamma_note", "")
        self.position.setText(f"Pixel x {values['x']}, y {values['y']}" + (f"   ·   {note}" if note else ""))
        header.setText(f"x {values['x']}, y {values['y']}")
        self.table.horizontalHeaderItem(3).setToolTip(note or "gamma at full resolution")
        rows = values["exposures"]
        if self.table.rowCount() != len(rows):
            self.table.setRowCount(len(rows))
            self.table.setMinimumHeight((min(len(rows), 6) + 1) * self._row_h + 8)
            for r in range(len(rows)):
                for c in range(4):
                    item = QTableWidgetItem()
                    if c:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.table.setItem(r, c, item)
        for r, e in enumerate(rows):
            vt = " ".join(str(int(c)) for c in np.atleast_1d(e["value"]))
            cells = (
                f"{r + 1}  {e.get('label') or e['name']}",
                vt,
                "—" if e["weight"] is None else f"{e['weight']:.3f}",
                "—" if e["gamma"] is None else f"{e['gamma']:.3f}",
            )
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                item.setText(text)
                if c == 0:
                    item.setToolTip(e["name"])
                item.setBackground(QColor(style.ACCENT_DARK) if e.get("highlight") else QColor(0, 0, 0, 0))
        fr, fg, fb = values["fused"]
        self.fused.setText(f"Fused  {fr:.3f}  {fg:.3f}  {fb:.3f}   ({round(fr * 255)}, {round(fg * 255)}, {round(fb * 255)})")
        c = QColor.fromRgbF(min(max(fr, 0), 1), min(max(fg, 0), 1), min(max(fb, 0), 1))
        self.swatch.setStyleSheet(f"background: {c.name()}; border: 1px solid #666; border-radius: 3px;")


# ---------------------------------------------------------------- histogram


class HistogramWidget(QWidget):
    """Luma (filled) and R/G/B (lines) histograms of the result.

    The curves come ready-made from the worker (unit-square QPainterPaths,
    see :func:`hdrdesk.gui.imaging.histogram_curves`); painting is a handful of
    Qt calls, so the UI thread stays quick even while workers are busy.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hist: Histogram | None = None
        self.show_rgb = True
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Histogram of the fused result (luma filled, red/green/blue lines)")

    def set_histogram(self, hist: Histogram | None) -> None:
        self.hist = hist
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        p.fillRect(r, QColor(style.BG_DARKEST))
        p.setPen(QPen(QColor("#333"), 1))
        p.drawLines([QPointF(r.left() + r.width() * i / 4, y) for i in (1, 2, 3) for y in (r.top(), r.bottom())])
        h = self.hist
        if h is None or not h.curves:
            p.setPen(QColor(style.TEXT_DIM))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "No result yet")
            p.end()
            return
        p.save()
        p.setTransform(QTransform(r.width(), 0, 0, -(r.height() - 4), r.left(), r.bottom()))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(200, 200, 200, 70))
        p.drawPath(h.curves["fill"])
        p.setBrush(Qt.BrushStyle.NoBrush)
        curves = [("red", QColor(230, 80, 70, 200)), ("green", QColor(90, 200, 90, 200)), ("blue", QColor(80, 130, 240, 200))] if self.show_rgb else []
        for name, colour in curves + [("luma", QColor(220, 220, 220, 170))]:
            pen = QPen(colour, 1.2)
            pen.setCosmetic(True)
            p.setPen(pen)
            p.drawPath(h.curves[name])
        p.restore()
        p.setPen(QColor(style.TEXT_DIM))
        fm = p.fontMetrics()
        p.drawText(QPointF(r.left() + 4, r.top() + fm.ascent() + 2), f"◀ {h.clipped_low * 100:.1f} %")
        t = f"{h.clipped_high * 100:.1f} % ▶"
        p.drawText(QPointF(r.right() - fm.horizontalAdvance(t) - 4, r.top() + fm.ascent() + 2), t)
        p.end()


class HistogramPanel(QWidget):
    """The histogram; right-click to hide or show the RGB channels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtGui import QAction

        self.histogram = HistogramWidget()
        self.rgb = QAction("Show RGB channels", self, checkable=True)
        self.rgb.setChecked(True)
        self.rgb.toggled.connect(self._rgb_toggled)
        self.histogram.addAction(self.rgb)
        self.histogram.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.histogram.setToolTip("Histogram of the fused result: luma filled, red/green/blue lines (right-click to hide them).\n"
                                  "◀ share of pixels clipped to black, ▶ share with a channel clipped to white")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addWidget(self.histogram, 1)

    def _rgb_toggled(self, on: bool) -> None:
        self.histogram.show_rgb = on
        self.histogram.update()


class QualityPanel(QWidget):
    """MEF-SSIM of the result and of Mertens, computed at a reduced size in the background."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result_label = QLabel("")
        self.result_label.setToolTip("MEF-SSIM (Ma et al. 2015) of the current result against its exposures, "
                                     "computed in the background on copies reduced to the size shown; higher is better")
        self.mertens_label = QLabel("")
        self.mertens_label.setToolTip("The same figure for OpenCV's Mertens fusion of the same (aligned) exposures")
        self.note = QLabel("")
        self.note.setProperty("dim", True)
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.result_label)
        lay.addWidget(self.mertens_label)
        lay.addWidget(self.note)
        self.scores: dict[str, float | None] = {"result": None, "mertens": None}
        self._method = "cnn"
        self.clear()

    def clear(self) -> None:
        self.scores = {"result": None, "mertens": None}
        self.result_label.setText("MEF-SSIM —")
        self.mertens_label.setText("")
        self.note.setText("")

    def reset(self, method: str = "cnn") -> None:
        self._method = method
        self.scores = {"result": None, "mertens": None}
        self.result_label.setText("MEF-SSIM … <span style='color:%s'>(computing)</span>" % style.TEXT_DIM)
        self.mertens_label.setText("Mertens … <span style='color:%s'>(computing)</span>" % style.TEXT_DIM if method != "mertens" else "")
        self.note.setText("")

    def set_score(self, which: str, score: float | None, long_side: int, error: str = "") -> None:
        self.scores[which] = score
        text = "n/a" if score is None else f"{score:.3f}"
        dim = style.TEXT_DIM
        if which == "result":
            name = "network" if self._method == "cnn" else "Mertens"
            self.result_label.setText(f"<b>MEF-SSIM {text}</b> <span style='color:{dim}'>({name}, at {long_side} px)</span>")
            if error:
                self.result_label.setToolTip(error)
        else:
            self.mertens_label.setText(f"Mertens {text} <span style='color:{dim}'>(at {long_side} px)</span>")
        a, b = self.scores["result"], self.scores["mertens"]
        if self._method == "mertens":
            self.mertens_label.setText("")
            self.note.setText("Switch to the network to compare it with Mertens")
        elif a is not None and b is not None:
            if abs(a - b) < 5e-4:
                self.note.setText("The network and Mertens score the same on this scene")
            else:
                self.note.setText(f"{'The network' if a > b else 'Mertens'} scores higher on this scene (by {abs(a - b):.3f})")
