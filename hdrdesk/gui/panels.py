"""Side panels: fusion settings (with the quality readout) and overlay controls.

Each panel exposes ``state()``/``set_state(dict)`` for the window's settings (gui/settings.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.core.deghost import DEGHOST_LEVELS
from hdrdesk.core.fusion import METHODS
from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GAMMA_VARIANTS, GammaParams, sigma_for_window
from hdrdesk.gui import style
from hdrdesk.gui.imaging import COLORMAPS, DEFAULT_COLORMAP, colormap_lut
from hdrdesk.gui.overlays import OVERLAYS, overlay_kind

#: How the fusion methods of :data:`hdrdesk.core.fusion.METHODS` are named in the window.
METHOD_LABELS = {"cnn": "Network (CNN)", "mertens": "Mertens (classic)", "fmmef": "FMMEF (classic)"}
#: ... and in running text ("Fused · network", "MEF-SSIM 0.97 (network)").
METHOD_NAMES = {"cnn": "network", "mertens": "Mertens", "fmmef": "FMMEF"}
#: Methods that use the network's model and working size (the others ignore them).
NETWORK_METHODS = ("cnn",)

DEGHOST_LABELS = {"off": "Off", "low": "Low", "medium": "Medium", "high": "High"}
DEGHOST_TIP = ("Deghosting: where something moved between the exposures (people, cars, leaves, water),\n"
               "take it from one reference frame so it appears once, not as a transparent double.\n"
               "Off: no masks. Low: only clear motion. Medium and High: more, at the risk of masking\n"
               "what did not move. The reference is starred in the filmstrip (click a star to choose).")

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


def _select_data(combo, data) -> None:
    """Select the item of ``combo`` that carries ``data`` (none does: the selection stays)."""
    i = combo.findData(data)
    if i >= 0:
        combo.setCurrentIndex(i)


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
        for key in METHODS:  # the core's list: a new method appears here and in the Image menu
            self.method.addItem(METHOD_LABELS.get(key, key), key)
        self.method.setToolTip("Network: the CNN predicts per-pixel weights for each exposure.\nMertens: OpenCV's classic exposure fusion.\n"
                               "FMMEF: fast multi-scale structural patch decomposition (Li et al., TIP 2020).")
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
        self.working.setToolTip(self.WORKING_TIP)
        self._fixed_working: int | None = None
        self.deghost = QComboBox()
        for level in DEGHOST_LEVELS:
            self.deghost.addItem(DEGHOST_LABELS.get(level, level), level)
        self.deghost.setToolTip(DEGHOST_TIP)
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
        form.addRow("Deghost", self.deghost)
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
        self.deghost.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.fuse.clicked.connect(self.fuseRequested)
        self.browse.clicked.connect(self.browseRequested)
        self.set_models([("Default (shipped)", None)])

    def _method_changed(self) -> None:
        self._sync_enabled()
        self.changed.emit()

    WORKING_TIP = "Short side of the copy the network sees; weights are lifted to full resolution.\nLarger is slower and may keep more fine detail."

    def set_fixed_working_size(self, size: int | None) -> None:
        """The model in use works at a size of its own (v2 models: ``size``), or None (v1: this control's)."""
        self._fixed_working = size
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        network = self.method_value() in NETWORK_METHODS
        fixed = getattr(self, "_fixed_working", None)
        for w in (self.model, self.browse):
            w.setEnabled(network)
        self.working.setEnabled(network and fixed is None)
        self.working.setToolTip(
            self.WORKING_TIP if fixed is None else
            f"This model sees every bracket at a short side of {fixed} px, fixed in the model (a v2 network: "
            "its weights drive a full-resolution decomposition); the working size applies to v1 models only."
        )

    def state(self) -> dict:
        """method, working_size, align, model (a path or ""), deghost (off|low|medium|high)."""
        return {"method": self.method_value(), "working_size": self.working.value(), "align": self.align.isChecked(),
                "model": str(self.model_path() or ""), "deghost": self.deghost_value()}

    def set_state(self, state: dict, models: list[tuple[str, Path | None]] | None = None) -> None:
        """Restore :meth:`state` (no ``changed`` signal); ``models`` refills the model list first."""
        self.blockSignals(True)
        if "method" in state:
            self.set_method(state["method"])
        if "working_size" in state:
            self.working.setValue(int(state["working_size"]))
            self._last_working = self.working.value()
        if "align" in state:
            self.align.setChecked(bool(state["align"]))
        if "deghost" in state:
            self.set_deghost(state["deghost"])
        model = state.get("model") or ""
        current = Path(model) if model and Path(model).is_file() else None
        if models is not None:
            self.set_models(models, current)
        elif "model" in state:
            self.select_model(current)
        self.blockSignals(False)
        self._sync_enabled()

    def _working_done(self) -> None:
        if self.working.value() != self._last_working:
            self._last_working = self.working.value()
            self.changed.emit()

    def method_value(self) -> str:
        return self.method.currentData()

    def set_method(self, method: str) -> None:
        _select_data(self.method, method)

    def deghost_value(self) -> str:
        return self.deghost.currentData()

    def set_deghost(self, level: str) -> None:
        """Select a deghosting level (an unknown one keeps the current level)."""
        _select_data(self.deghost, level)

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

    KINDS = tuple((o.label, o.key) for o in OVERLAYS)

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
        _select_data(self.kind, kind)

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
        _select_data(self.variant, params.variant)
        self.window.setValue((params.window - 1) // 2)
        self.alpha.setValue(round(params.alpha * 100))

    def set_weights_available(self, ok: bool, why: str = "") -> None:
        self.set_kind_available("weights", ok, why)

    def set_kind_available(self, kind: str, ok: bool, why: str = "") -> None:
        """Enable or disable one overlay kind (``why``: its tooltip while off); showing it falls back to none."""
        model = self.kind.model()
        item = model.item(self.kind.findData(kind))
        if item is not None:
            item.setEnabled(ok)
            item.setToolTip("" if ok else why)
        if not ok and self.kind_value() == kind:
            self.set_kind("none")

    def kind_available(self, kind: str) -> bool:
        item = self.kind.model().item(self.kind.findData(kind))
        return item is not None and item.isEnabled()

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
        overlay = overlay_kind(kind)
        self.legend.set_caption(overlay.legend_caption)
        self.legend_label.setText(overlay.legend_label)

    def state(self) -> dict:
        """overlay, overlay_opacity (0-100), colormap, overlay_over, gamma_variant, gamma_window, gamma_alpha."""
        p = self.gamma_params()
        return {"overlay": self.kind_value(), "overlay_opacity": self.opacity.value(), "colormap": self.colormap_name(),
                "overlay_over": self.over_value(), "gamma_variant": p.variant, "gamma_window": p.window, "gamma_alpha": p.alpha}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`state` without emitting change signals; bad values keep the current ones."""
        self.blockSignals(True)
        if "overlay" in state:
            self.set_kind(state["overlay"])
        if "overlay_opacity" in state:
            self.opacity.setValue(int(state["overlay_opacity"]))
        if "colormap" in state:
            self.colormap.setCurrentText(state["colormap"])
        if "overlay_over" in state:
            self.over.setCurrentIndex(max(0, self.over.findData(state["overlay_over"])))
        current = self.gamma_params()
        try:
            self.set_gamma_params(GammaParams.for_window(
                state.get("gamma_variant", current.variant), int(state.get("gamma_window", current.window)),
                float(state.get("gamma_alpha", current.alpha))))
        except ValueError:
            pass
        self.blockSignals(False)
        self._sync_enabled()
        self._update_labels()
        self.legend.set_colormap(self.colormap_name())
        self._opacity_changed(self.opacity.value())


class QualityPanel(QWidget):
    """MEF-SSIM of the result and of the classic anchors (Mertens, FMMEF), computed at a reduced
    size in the background."""

    ANCHOR_TIPS = {
        "mertens": "The same figure for OpenCV's Mertens fusion of the same (aligned) exposures",
        "fmmef": "The same figure for FMMEF (Li et al., TIP 2020) on the same (aligned) exposures",
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result_label = QLabel("")
        self.result_label.setToolTip("MEF-SSIM (Ma et al. 2015) of the current result against its exposures, "
                                     "computed in the background on copies reduced to the size shown; higher is better")
        self.anchor_labels: dict[str, QLabel] = {}
        for m, tip in self.ANCHOR_TIPS.items():
            lab = QLabel("")
            lab.setToolTip(tip)
            self.anchor_labels[m] = lab
        self.mertens_label = self.anchor_labels["mertens"]
        self.fmmef_label = self.anchor_labels["fmmef"]
        self.note = QLabel("")
        self.note.setProperty("dim", True)
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.result_label)
        for lab in self.anchor_labels.values():
            lay.addWidget(lab)
        lay.addWidget(self.note)
        self.scores: dict[str, float | None] = {}
        self._method = "cnn"
        self.clear()

    def _empty_scores(self) -> dict[str, float | None]:
        return {"result": None, **{m: None for m in self.anchor_labels}}

    def clear(self) -> None:
        self.scores = self._empty_scores()
        self.result_label.setText("MEF-SSIM —")
        for lab in self.anchor_labels.values():
            lab.setText("")
        self.note.setText("")

    def reset(self, method: str = "cnn") -> None:
        """A new result by ``method`` is being scored; the anchors other than ``method`` are computing."""
        self._method = method
        self.scores = self._empty_scores()
        dim = style.TEXT_DIM
        self.result_label.setText(f"MEF-SSIM … <span style='color:{dim}'>(computing)</span>")
        for m, lab in self.anchor_labels.items():
            lab.setText("" if m == method else f"{METHOD_NAMES[m]} … <span style='color:{dim}'>(computing)</span>")
        self.note.setText("")

    def set_score(self, which: str, score: float | None, long_side: int, error: str = "") -> None:
        """``which``: "result" or an anchor ("mertens", "fmmef")."""
        self.scores[which] = score
        text = "n/a" if score is None else f"{score:.3f}"
        dim = style.TEXT_DIM
        if which == "result":
            name = METHOD_NAMES.get(self._method, self._method)
            self.result_label.setText(f"<b>MEF-SSIM {text}</b> <span style='color:{dim}'>({name}, at {long_side} px)</span>")
            if error:
                self.result_label.setToolTip(error)
        elif which in self.anchor_labels and which != self._method:
            self.anchor_labels[which].setText(f"{METHOD_NAMES[which]} {text} <span style='color:{dim}'>(at {long_side} px)</span>")
        self.note.setText(self._verdict())

    def _verdict(self) -> str:
        """One line: how the result stands against the best anchor (once every score is in)."""
        a = self.scores.get("result")
        others = {m: self.scores.get(m) for m in self.anchor_labels if m != self._method}
        if a is None or any(v is None for v in others.values()) or not others:
            return ""
        best = max(others, key=lambda m: others[m])
        b = others[best]
        ours = "The network" if self._method == "cnn" else METHOD_NAMES.get(self._method, self._method)
        if abs(a - b) < 5e-4:
            return f"{ours} and {METHOD_NAMES[best]} score the same on this scene"
        if a > b:
            what = "every classic method" if len(others) > 1 else METHOD_NAMES[best]
            return f"{ours} scores higher than {what} on this scene (by {a - b:.3f} over {METHOD_NAMES[best]})"
        return f"{METHOD_NAMES[best]} scores higher on this scene (by {b - a:.3f})"
