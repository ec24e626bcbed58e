"""Quality and comparison: the MEF-SSIM of the result and the Mertens result to compare with.

Runs after each fusion (when the window's analysis is on) on two small runners, one
PyTorch thread each, and fills the Fusion panel's quality readout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from hdrdesk.gui.jobs import MertensOutput, QualityOutput, mertens_job, quality_job
from hdrdesk.gui.workers import JobRunner

if TYPE_CHECKING:
    from hdrdesk.gui.main_window import MainWindow


class AnalysisController(QObject):
    def __init__(self, window: "MainWindow", enabled: bool = True) -> None:
        super().__init__(window)
        self.w = window
        self.enabled = enabled
        self.quality = JobRunner("quality", window.job_pool, parent=self, torch_threads=1)
        self.mertens = JobRunner("mertens", window.job_pool, parent=self, torch_threads=1)
        self._mertens: MertensOutput | None = None
        self.quality.result.connect(self._on_quality)
        self.quality.error.connect(lambda _r, e: window.job_error("MEF-SSIM", e, level="warning"))
        self.mertens.result.connect(self._on_mertens)
        self.mertens.error.connect(lambda _r, e: window.job_error("Mertens comparison", e, level="warning"))

    def runners(self) -> tuple[JobRunner, ...]:
        return (self.quality, self.mertens)

    def mertens_output(self) -> MertensOutput | None:
        return self._mertens

    def new_result(self) -> None:
        """A new result is coming on display: the last one's Mertens result no longer applies."""
        self._mertens = None

    def start_if_enabled(self) -> None:
        if self.enabled:
            self.start()

    def clear(self) -> None:
        for r in self.runners():
            r.cancel()
        self._mertens = None
        self.w.quality_panel.clear()

    def start(self) -> None:
        out = self.w.fusion_output()
        if out is None:
            return
        res = out.result
        self.w.quality_panel.reset(res.method)
        self.quality.submit(quality_job, res.frames, res.image, label="MEF-SSIM")
        if res.method == "mertens":
            self.mertens.submit(mertens_job, res.frames, image=res.image, label="Mertens")
        else:
            self.mertens.submit(mertens_job, res.frames, label="Mertens")

    def ensure_mertens(self) -> None:
        """The compare view needs the Mertens result and the analysis did not compute it: compute it now."""
        out = self.w.fusion_output()
        if out is not None and not self.enabled and self._mertens is None and not self.mertens.is_busy():
            self.mertens.submit(mertens_job, out.result.frames, label="Mertens")

    def _on_quality(self, _rid: int, q: QualityOutput) -> None:
        self.w.quality_panel.set_score("result", q.score, q.long_side, q.error)
        self.w.qualityReady.emit("result", q.score)

    def _on_mertens(self, _rid: int, m: MertensOutput) -> None:
        self._mertens = m
        out = self.w.fusion_output()
        if out is not None and out.result.method != "mertens":
            self.w.quality_panel.set_score("mertens", m.quality.score, m.quality.long_side, m.quality.error)
        self.w.refresh_compare()
        self.w.qualityReady.emit("mertens", m.quality.score)
