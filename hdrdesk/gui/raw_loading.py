"""The RAW side of the app's load job (runs on the loader's worker thread).

A RAW develop takes seconds per frame, so the load job first reads every RAW's embedded
preview (milliseconds, :func:`hdrdesk.core.raw.raw_thumbnail`) and publishes them
(:class:`RawPreviews`, shown as pending filmstrip cards), then develops the files one by one
with progress; the previews become the thumbnails. Cancelling stops between two files
(LibRaw's develop itself cannot be interrupted).

As for the command line: where a RAW and a JPEG/PNG/TIFF of the same shot are both given the
RAW is used (:func:`hdrdesk.core.raw.prefer_raw`), and every RAW of the load is developed with
one white balance, the middle exposure's (:func:`hdrdesk.core.raw.reference_white_balance`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PySide6.QtGui import QImage

from hdrdesk.core.raw import is_raw, prefer_raw, raw_thumbnail, reference_white_balance
from hdrdesk.errors import HDRDeskError
from hdrdesk.gui.imaging import THUMB_LONG, downscale, qimage_copy
from hdrdesk.tasks import TaskState


@dataclass
class RawPreviews:
    """What a load job publishes about its RAW files: names, embedded previews (None: none)
    and how far the develop is (``done`` files developed; the next one is developing)."""

    names: list[str]
    thumbs: list[QImage | None]
    done: int

    def state(self, i: int) -> str:
        return "developed" if i < self.done else "developing" if i == self.done else "waiting"


class RawBatch:
    """The RAW files among a load's files: which to read, their previews and white balance."""

    def __init__(self, files: Sequence[Path], task: TaskState, errors: list[str]) -> None:
        kept, _notes = prefer_raw([Path(f) for f in files])
        kept_set = set(kept)
        self.files: list[Path] = kept
        self.dropped: list[Path] = [Path(f) for f in files if Path(f) not in kept_set]
        self.raws: list[Path] = [p for p in kept if is_raw(p)]
        self.white_balance: list[float] | None = None
        self._task = task
        self._thumbs: dict[Path, QImage | None] = {}
        self._done = 0
        if not self.raws:
            return
        readable = []
        for i, path in enumerate(self.raws):
            task.report(0.0, f"Reading the preview of {path.name}")
            try:
                thumb = raw_thumbnail(path)
            except HDRDeskError:
                thumb = None  # an unreadable file: its develop below says why, in one line
            else:
                readable.append(path)
            self._thumbs[path] = qimage_copy(downscale(thumb, THUMB_LONG)) if thumb is not None else None
        self._publish()
        try:
            self.white_balance = reference_white_balance(readable)
        except HDRDeskError as exc:
            errors.append(str(exc))

    def _publish(self) -> None:
        self._task.publish(RawPreviews([p.name for p in self.raws], [self._thumbs[p] for p in self.raws], self._done))

    def step_message(self, path: Path, index: int, total: int) -> str:
        """The progress message while ``path`` (the ``index``-th of ``total`` files) is read."""
        if is_raw(path):
            k = self.raws.index(path) + 1 if path in self.raws else index + 1
            return f"Developing {Path(path).name} ({k} of {len(self.raws)} RAW files)"
        return f"Loading {Path(path).name}"

    def developed(self, path: Path) -> None:
        """``path`` is read (or failed): the pending cards move on."""
        if is_raw(path) and path in self._thumbs:
            self._done += 1
            self._publish()

    def thumb(self, path: Path) -> QImage | None:
        """The filmstrip thumbnail from the camera's embedded preview (None: none, or not a RAW)."""
        return self._thumbs.get(Path(path))
