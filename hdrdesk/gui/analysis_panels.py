"""The analysis panels: the pixel inspector and the histogram."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.gui import style
from hdrdesk.gui.imaging import Histogram


# ---------------------------------------------------------------- inspector


class InspectorPanel(QWidget):
    """Values under the cursor: per exposure value, weight, gamma and (deghosted) motion mask; the fused value.

    Values are sRGB: frames with another profile are converted when loaded, RAWs developed to sRGB."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.position = QLabel("Hover over the image")
        self.position.setProperty("dim", True)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Exposure", "sRGB", "Weight", "Gamma", "Mask"])
        self.table.setToolTip("Hover over the image: each exposure's pixel value (sRGB, as fused: aligned and, when\n"
                              "deghosting is on, with moved parts taken from the reference), weight and gamma there;\n"
                              "Mask: the share of the pixel deghosting took from the reference (★: the reference)")
        self.table.horizontalHeaderItem(2).setToolTip("Weight of each exposure at the pixel")
        self.table.horizontalHeaderItem(4).setToolTip("Motion mask: 1 = taken from the deghosting reference")
        self.table.setColumnHidden(4, True)
        # five columns in a side panel: tight cells, so the exposure's name keeps some room
        self.table.setStyleSheet("QTableWidget::item { padding: 0 2px; } QHeaderView::section { padding: 2px 3px; }")
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
        for c in (1, 2, 3, 4):
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
        masks = any(e.get("motion") is not None for e in rows)
        self.table.setColumnHidden(4, not masks)
        # with the mask column the names get little room: keep their start (the index, the EV)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight if masks else Qt.TextElideMode.ElideMiddle)
        if masks:
            header.setText(f"{values['x']}, {values['y']}")
        # ... and the weight and gamma headers are shortened (their tooltips say what they are)
        self.table.horizontalHeaderItem(2).setText("Wt" if masks else "Weight")
        self.table.horizontalHeaderItem(3).setText("γ" if masks else "Gamma")
        if self.table.rowCount() != len(rows):
            self.table.setRowCount(len(rows))
            self.table.setMinimumHeight((min(len(rows), 6) + 1) * self._row_h + 8)
            for r in range(len(rows)):
                for c in range(5):
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
                "★" if e.get("reference") and e.get("motion") is not None else "—" if e.get("motion") is None else f"{e['motion']:.2f}",
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

    def state(self) -> dict:
        return {"histogram_rgb": self.rgb.isChecked()}

    def set_state(self, state: dict) -> None:
        self.rgb.setChecked(bool(state.get("histogram_rgb", self.rgb.isChecked())))
