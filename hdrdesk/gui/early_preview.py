"""A new bracket's first picture while it still decodes (the window's side of :func:`jobs.early_preview`).

``open_paths`` asks the loader for an early preview of a bracket that replaces the current one; the
loader publishes it (a preview :class:`FusionOutput`) before decoding the full frames. This shows it
as a fusion's preview, keeps it up when the load brings exactly those files, and tells the first
fusion of them that its own preview is not needed. A failed or cancelled load takes it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import QObject

from hdrdesk.core.io import Frame
from hdrdesk.gui.jobs import FusionOutput

if TYPE_CHECKING:  # pragma: no cover
    from hdrdesk.gui.main_window import MainWindow


class EarlyPreviews(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        self._shown: tuple[int, FusionOutput] | None = None  # (load id, its preview) on display while it decodes
        self._covers: list[Path] | None = None  # the next fusion of exactly these frames needs no preview
        window.loader.partial.connect(self._on_partial)
        window.loader.error.connect(lambda rid, _e: self._drop(rid))
        window.loader.cancelled.connect(self._drop)

    def _on_partial(self, rid: int, value) -> None:
        if isinstance(value, FusionOutput) and self.w.load_replaces(rid):
            self.w.clear_result()
            self._shown = (rid, value)
            self.w.show_welcome(False)  # a first bracket: the picture replaces the welcome page at once
            self.w.show_fusion_output(rid, value)

    def _drop(self, rid: int) -> None:
        if self._shown is not None and self._shown[0] == rid:
            self._shown = None
            self.w.clear_result()
            self.w.show_welcome(len(self.w.bracket) == 0)
            self.w.viewer.main.placeholder = ""
            self.w.viewer.main.viewport().update()

    def take(self, rid: int) -> FusionOutput | None:
        """The preview load ``rid`` put up (None: none); the window then adds the loaded frames."""
        shown, self._shown = self._shown, None
        return shown[1] if shown is not None and shown[0] == rid else None

    def settle(self, preview: FusionOutput) -> None:
        """After the load's frames joined the session: keep ``preview`` if it shows exactly them."""
        frames = self.w.frames()
        if sorted(map(str, preview.source_paths)) == sorted(str(f.path) for f in frames):
            self.w.session.set_result(preview.result)  # adding the frames cleared it
            self._covers = [f.path for f in frames]
        else:  # a file failed or was refused: the preview showed another bracket
            self.w.clear_result()

    def preview_long(self, frames: Sequence[Frame]) -> int | None:
        """For the fusion about to start: 0 (no preview) when the early preview already shows these frames."""
        covers, self._covers = self._covers, None
        return 0 if covers == [f.path for f in frames] else None
