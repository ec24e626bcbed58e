"""Overlays and the pixel inspector: weight, gamma and motion maps of the current exposure over the image.

Owns the two runners that colour maps and compute gamma maps, the cache of coloured
overlays, and the gamma policy: while a slider moves the maps are computed at
GAMMA_DRAG_SIZE; any other change gets a quick map at that size first, then one at
GAMMA_SETTLED_SIZE. The view state (which overlay, which exposure) lives in the session.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF

from hdrdesk.gui.imaging import DisplayImage
from hdrdesk.gui.jobs import GAMMA_DRAG_SIZE, GAMMA_SETTLED_SIZE, FusionOutput, GammaOutput, LumaCache, gamma_job, mask_overlay_job, overlay_job
from hdrdesk.gui.overlays import overlay_kind
from hdrdesk.gui.workers import JobRunner

if TYPE_CHECKING:
    from hdrdesk.gui.main_window import MainWindow

log = logging.getLogger("hdrdesk.gui")
CACHE_ENTRIES = 4  # full-resolution colourings are big


class OverlayController(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        self.gamma = JobRunner("gamma", window.job_pool, parent=self, torch_threads=1, max_stale=1)
        self.runner = JobRunner("overlay", window.job_pool, parent=self, torch_threads=1)
        self._cache: dict[tuple, DisplayImage] = {}
        self._key: tuple | None = None
        self._gamma: GammaOutput | None = None
        self._luma: LumaCache | None = None
        self._refine = None  # GammaParams awaiting their settled-size maps
        self.last_kind = "weights"  # what the overlay toggle brings back
        self._hover: tuple[int, int] | None = None
        self.gamma.result.connect(self._on_gamma)
        self.gamma.error.connect(lambda _r, e: window.job_error("Gamma maps", e))
        self.runner.result.connect(self._on_overlay_image)
        self.runner.error.connect(lambda _r, e: window.job_error("Overlay", e))

    # ------------------------------------------------------------ state
    def gamma_output(self) -> GammaOutput | None:
        return self._gamma

    def runners(self) -> tuple[JobRunner, ...]:
        return (self.gamma, self.runner)

    def new_result(self, out: FusionOutput) -> None:
        self._cache.clear()
        self._key = None
        self._gamma = None
        self._luma = out.luma or LumaCache(out.result.frames)

    def clear(self) -> None:
        for r in self.runners():
            r.cancel()
        self._gamma = None
        self._luma = None
        self._cache.clear()
        self._key = None

    # ------------------------------------------------------------ user actions
    def toggle(self) -> None:
        op = self.w.overlay_panel
        if op.kind_value() == "none":
            kind = self.last_kind
            res = self.w.result()
            if overlay_kind(kind).needs_weights and (res is None or res.weights is None):
                kind = "gamma"
            if overlay_kind(kind).needs_masks and (res is None or res.motion_masks is None):
                kind = "gamma"
            op.set_kind(kind)
        else:
            self.last_kind = op.kind_value()
            op.set_kind("none")

    def gamma_params_changed(self, dragging: bool) -> None:
        if self.w.fusion_output() is None:
            return
        if self.w.overlay_panel.kind_value() == "gamma" or self._gamma is not None:
            self.request_gamma(dragging=dragging)

    # ------------------------------------------------------------ overlay
    def refresh(self) -> None:
        """Show the overlay the panel asks for (from the cache, or computed on a worker)."""
        kind = self.w.overlay_panel.kind_value()
        self.w.session.set_view(overlay=kind)
        out = self.w.fusion_output()
        self.w.refresh_main_image()
        if kind == "none" or out is None:
            self._key = None
            self.w.viewer.set_overlay(None)
            if kind == "none":
                self.w.overlayShown.emit("none")
            return
        self.last_kind = kind
        cmap = self.w.overlay_panel.colormap_name()
        k = self.w.session.view.current
        res = out.result
        w, h = res.image.shape[1], res.image.shape[0]
        if kind not in ("weights", "motion"):
            self.request_gamma(dragging=False, recolour_only=True)
            return
        maps, job = (res.weights, overlay_job) if kind == "weights" else (res.motion_masks, mask_overlay_job)
        if maps is None:
            self.w.viewer.set_overlay(None)
            return
        key = (kind, id(out), k, cmap)
        self._key = key
        if kind == "motion" and res.reference == k:
            self.w.show_status(f"Exposure {k + 1} is the deghosting reference: nothing of it is replaced")
        if key in self._cache:
            self._show(key)
        else:
            self.runner.submit(job, maps[k], cmap, (w, h), label="Overlay")

    def _show(self, key: tuple) -> None:
        self.w.viewer.set_overlay(self._cache.get(key), self.w.overlay_panel.opacity_value())
        self.w.overlayShown.emit(key[0])

    def _on_overlay_image(self, _rid: int, image: DisplayImage) -> None:
        key = self._key
        if key is None:
            return
        while len(self._cache) >= CACHE_ENTRIES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = image
        self._show(key)

    # ------------------------------------------------------------ gamma maps
    def request_gamma(self, dragging: bool, recolour_only: bool = False) -> int:
        """Compute the gamma maps (latest wins) or, if current, just recolour the overlay."""
        out, luma = self.w.fusion_output(), self._luma
        if out is None or luma is None:
            return 0
        op = self.w.overlay_panel
        params = op.gamma_params()
        cmap = op.colormap_name()
        k = self.w.session.view.current
        quick, settled = luma.resolution(GAMMA_DRAG_SIZE), luma.resolution(GAMMA_SETTLED_SIZE)
        g = self._gamma
        same = g is not None and g.params == params
        if recolour_only and same:
            key = ("gamma", id(g), k, cmap)
            self._key = key
            if g.overlay is not None and g.index == k and g.colormap == cmap:
                self._cache[key] = g.overlay
            if key in self._cache:
                self._show(key)
            else:
                self.runner.submit(overlay_job, g.maps[k], cmap, g.full_size, label="Overlay")
            return 0
        if dragging:
            self._refine = None
            return self.gamma.submit(gamma_job, luma, params, GAMMA_DRAG_SIZE, k, cmap, label="Gamma maps")
        if quick == settled or (same and g.long_side >= quick):
            self._refine = None
            return self.gamma.submit(gamma_job, luma, params, GAMMA_SETTLED_SIZE, k, cmap, label="Gamma maps")
        self._refine = params  # quick now, the settled maps when it lands
        return self.gamma.submit(gamma_job, luma, params, GAMMA_DRAG_SIZE, k, cmap, label="Gamma maps")

    def _on_gamma(self, _rid: int, g: GammaOutput) -> None:
        if self._luma is None or self.w.fusion_output() is None or g.full_size != (self._luma.width, self._luma.height):
            return
        self._gamma = g
        op = self.w.overlay_panel
        current = self.w.session.view.current
        if self._refine is not None and g.params == self._refine:
            self._refine = None
            if g.long_side < self._luma.resolution(GAMMA_SETTLED_SIZE):
                self.gamma.submit(gamma_job, self._luma, g.params, GAMMA_SETTLED_SIZE, current, op.colormap_name(), label="Gamma maps")
        w, h = g.full_size
        gh, gw = g.maps.shape[1:]
        if (gw, gh) == (w, h):
            note = f"Gamma maps at full resolution ({w} × {h})"
        else:
            note = f"Gamma maps computed at {gw} × {gh} px (a preview of {w} × {h}; export computes them at full resolution)"
        op.resolution_label.setText(note)
        op.variant.setToolTip(f"How the gamma detail maps measure each exposure's local detail.\n{note}")
        if op.kind_value() == "gamma":
            key = ("gamma", id(g), current, op.colormap_name())
            self._key = key
            if g.overlay is not None and g.index == current and g.colormap == op.colormap_name():
                self._cache[key] = g.overlay
                self._show(key)
            else:
                self.runner.submit(overlay_job, g.maps[current], key[3], g.full_size, label="Overlay")
        self.refresh_inspector()

    # ------------------------------------------------------------ inspector
    def hovered(self, pos: QPointF) -> None:
        self.set_hover((int(math.floor(pos.x())), int(math.floor(pos.y()))))

    def set_hover(self, xy: tuple[int, int] | None) -> None:
        self._hover = xy
        self.refresh_inspector()

    def refresh_inspector(self) -> None:
        self.w.inspector.show_values(None if self._hover is None else self.pixel_values(*self._hover))

    def pixel_values(self, x: int, y: int) -> dict | None:
        """What the inspector shows at image pixel (x, y): read straight from the engine's arrays."""
        out = self.w.fusion_output()
        if out is None:
            return None
        res = out.result
        h, w = res.image.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            return None
        g = self._gamma
        gamma_note = ""
        gx = gy = 0
        if g is not None:
            gh, gw = g.maps.shape[1:]
            gx, gy = min(gw - 1, x * gw // w), min(gh - 1, y * gh // h)
            if (gw, gh) != (w, h):
                gamma_note = f"gamma at {gw}×{gh}"
        bracket = self.w.session.bracket
        evs = bracket.ev_labels()
        ev_by_path = {e.frame.path: evs.get(e.uid, "") for e in bracket.entries}
        current = self.w.session.view.current
        rows = []
        for k, f in enumerate(res.frames):
            ev = ev_by_path.get(f.path, "")
            rows.append(
                {
                    "name": f.path.name,
                    "label": ev if ev and ev != "EV n/a" else f.path.name,
                    "value": f.data[y, x].copy(),
                    "weight": None if res.weights is None else float(res.weights[k, y, x]),
                    "gamma": None if g is None else float(g.maps[k, gy, gx]),
                    "motion": None if res.motion_masks is None else float(res.motion_masks[k][y, x]),
                    "reference": k == res.reference,
                    "highlight": k == current,
                }
            )
        fr, fg, fb = (float(v) for v in res.image[y, x])
        return {"x": x, "y": y, "fused": (fr, fg, fb), "exposures": rows, "gamma_note": gamma_note}
