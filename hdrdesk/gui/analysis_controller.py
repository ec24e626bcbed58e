"""Quality and comparison: the MEF-SSIM of the result and the classic anchors (Mertens, FMMEF)
to compare it with.

After each fusion (when the window's analysis is on) the result is scored, and each anchor
fuses the same aligned frames and is scored too, on small runners (one PyTorch thread each,
latest request wins); the Fusion panel's quality readout shows the three figures. The compare
view asks for an anchor on demand when the analysis is off. Anchors are cached for the
bracket and the settings they depend on (frames, order, alignment, deghosting), so changing
the network's model or switching the method back and forth does not compute them again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from hdrdesk.gui.jobs import ANCHORS, AnchorOutput, QualityOutput, anchor_job, quality_job
from hdrdesk.gui.panels import METHOD_NAMES
from hdrdesk.gui.workers import JobRunner

if TYPE_CHECKING:
    from hdrdesk.gui.jobs import FusionOutput
    from hdrdesk.gui.main_window import MainWindow


def anchor_key(out: "FusionOutput") -> tuple:
    """What an anchor's fusion depends on: the source frames (in order, with their sizes) and
    the settings that change the frames the methods see (alignment, deghosting)."""
    frames = tuple((str(p), f.data.shape, f.data.dtype.str) for p, f in zip(out.source_paths, out.result.frames))
    o = out.options
    return frames, bool(o.align), getattr(o, "deghost", "off"), getattr(o, "reference", None)


class AnalysisController(QObject):
    def __init__(self, window: "MainWindow", enabled: bool = True) -> None:
        super().__init__(window)
        self.w = window
        self.enabled = enabled
        self.quality = JobRunner("quality", window.job_pool, parent=self, torch_threads=1)
        self.anchor_runners = {m: JobRunner(m, window.job_pool, parent=self, torch_threads=1) for m in ANCHORS}
        self._anchors: dict[str, AnchorOutput] = {}  # for self._key
        self._key: tuple | None = None
        self._pending: dict[str, tuple[int, tuple]] = {}  # method -> (request id, key)
        self._quality_for: tuple[int, str, tuple] | None = None  # (request id, method, key) of the result's score
        self.quality.result.connect(self._on_quality)
        self.quality.error.connect(lambda _r, e: window.job_error("MEF-SSIM", e, level="warning"))
        for m, r in self.anchor_runners.items():
            r.result.connect(lambda rid, a, m=m: self._on_anchor(m, rid, a))
            r.error.connect(lambda _r, e, m=m: window.job_error(f"{METHOD_NAMES[m]} comparison", e, level="warning"))

    @property
    def mertens(self) -> JobRunner:
        return self.anchor_runners["mertens"]

    def runners(self) -> tuple[JobRunner, ...]:
        return (self.quality, *self.anchor_runners.values())

    def anchor_output(self, method: str) -> AnchorOutput | None:
        """The anchor ``method``'s fusion of the bracket on display, if computed."""
        return self._anchors.get(method)

    def mertens_output(self) -> AnchorOutput | None:
        return self.anchor_output("mertens")

    def new_result(self) -> None:
        """A new result is on display: anchors of another bracket (or other settings) no longer apply."""
        out = self.w.fusion_output()
        key = anchor_key(out) if out is not None else None
        if key != self._key:
            self._key = key
            self._anchors = {}
            for m, r in self.anchor_runners.items():
                r.cancel()
            self._pending.clear()

    def start_if_enabled(self) -> None:
        if self.enabled:
            self.start()

    def clear(self) -> None:
        for r in self.runners():
            r.cancel()
        self._anchors, self._key, self._quality_for = {}, None, None
        self._pending.clear()
        self.w.quality_panel.clear()

    def start(self) -> None:
        """Score the result and make sure every anchor is (or is being) computed for its bracket."""
        out = self.w.fusion_output()
        if out is None:
            return
        res = out.result
        self.w.quality_panel.reset(res.method)
        rid = self.quality.submit(quality_job, res.frames, res.image, label="MEF-SSIM")
        self._quality_for = (rid, res.method, self._key)
        if out.preview:  # the anchors wait for the full result: fused for the preview too, they would be
            return  # fused twice and take the cores the full-resolution fusion is using
        for m in ANCHORS:
            if m == res.method:
                continue  # the result is this anchor: its score is the result's
            cached = self._anchors.get(m)
            if cached is not None:
                q = cached.quality
                self.w.quality_panel.set_score(m, q.score, q.long_side, q.error)
            else:
                self.ensure_anchor(m)

    def ensure_anchor(self, method: str) -> None:
        """Compute ``method``'s fusion of the bracket on display unless it is cached or on its way."""
        out = self.w.fusion_output()
        if out is None or method in self._anchors:
            return
        if out.result.method == method:  # the result is that anchor: no second fusion, only its score
            pending = self._pending.get(method)
            if pending is None or pending[1] != self._key:
                rid = self.anchor_runners[method].submit(anchor_job, method, out.result.frames, image=out.result.image, label=METHOD_NAMES[method])
                self._pending[method] = (rid, self._key)
            return
        pending = self._pending.get(method)
        if pending is not None and pending[1] == self._key and self.anchor_runners[method].is_busy():
            return
        rid = self.anchor_runners[method].submit(anchor_job, method, out.result.frames, label=METHOD_NAMES[method])
        self._pending[method] = (rid, self._key)

    def ensure_mertens(self) -> None:
        self.ensure_anchor("mertens")

    def _on_quality(self, rid: int, q: QualityOutput) -> None:
        self.w.quality_panel.set_score("result", q.score, q.long_side, q.error)
        out = self.w.fusion_output()
        if self._quality_for is not None and self._quality_for[0] == rid and out is not None:
            _, method, key = self._quality_for
            if method in ANCHORS and key == self._key and method not in self._anchors:
                # the result is this anchor: remember it with its score for later comparisons
                self._anchors[method] = AnchorOutput(method, out.result.image, out.fused, q)
        self.w.qualityReady.emit("result", q.score)

    def _on_anchor(self, method: str, rid: int, a: AnchorOutput) -> None:
        pending = self._pending.get(method)
        if pending is None or pending[0] != rid or pending[1] != self._key:
            return  # for a bracket no longer on display
        del self._pending[method]
        self._anchors[method] = a
        out = self.w.fusion_output()
        if out is not None and out.result.method != method:
            self.w.quality_panel.set_score(method, a.quality.score, a.quality.long_side, a.quality.error)
        self.w.refresh_compare()
        self.w.qualityReady.emit(method, a.quality.score)
