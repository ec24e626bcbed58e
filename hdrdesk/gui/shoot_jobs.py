"""The shoot view's jobs: plain functions run on worker threads by a :class:`~hdrdesk.gui.workers.JobRunner`.

``group_job`` finds the brackets (headers only), ``thumbs_job`` reads the frames' previews
and hands them over in small batches as it goes, ``fuse_all_job`` runs the fusion queue
(:func:`hdrdesk.shoot.queue.run_queue`, one bracket in flight) and hands over its events,
each finished bracket with a thumbnail of its output (all the view keeps of it).
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PySide6.QtGui import QImage

from hdrdesk.gui.imaging import qimage_copy
from hdrdesk.shoot.grouping import PIXEL_SUFFIXES, RAW_SUFFIXES, group_files, scan_folder
from hdrdesk.shoot.plan import ShootPlan
from hdrdesk.shoot.queue import OutputSettings, QueueEvent, QueueJob, QueueSummary, run_queue
from hdrdesk.shoot.thumbs import THUMB_LONG_SIDE, read_thumbnail
from hdrdesk.tasks import TaskState

THUMB_BATCH = 8  # previews handed to the UI thread at once
PROGRESS_EVERY_S = 0.1  # at most this often a bracket's progress goes to the UI thread


def shoot_files(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The camera files of a drop: the image and RAW files directly inside dropped folders, and dropped files."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(scan_folder(p))
        elif p.suffix.lower() in PIXEL_SUFFIXES or p.suffix.lower() in RAW_SUFFIXES:
            files.append(p)
    return files


def shoot_folder(paths: Sequence[str | os.PathLike]) -> Path | None:
    """The folder a drop stands for: the one dropped folder, else the files' common folder."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    parents = {p.parent for p in paths}
    return parents.pop() if len(parents) == 1 else None


def group_job(files: Sequence[Path], folder: Path | None, task: TaskState) -> ShootPlan:
    """Group ``files`` into brackets and singles (reads headers; decodes only files without EXIF)."""
    task.report(0.0, "Finding brackets")
    grouping = group_files(files)
    task.report(1.0, "Found brackets")
    return ShootPlan.from_grouping(grouping, folder)


def thumbs_job(paths: Sequence[Path], task: TaskState, long_side: int = THUMB_LONG_SIDE) -> int:
    """Publish ``[(path, QImage | None), ...]`` batches of previews; returns how many were read."""
    batch: list[tuple[Path, QImage | None]] = []
    for i, path in enumerate(paths):
        task.check()
        thumb = read_thumbnail(path, long_side)
        batch.append((path, None if thumb is None else qimage_copy(thumb)))
        if len(batch) >= THUMB_BATCH or i == len(paths) - 1:
            task.publish(batch)
            batch = []
    return len(paths)


@dataclass
class QueueUpdate:
    """One queue event as the view needs it (``thumb``: the output's preview, for 'fused')."""

    kind: str  # 'start', 'progress', 'fused', 'skipped', 'failed'
    index: int
    bracket_fraction: float
    overall_fraction: float
    message: str = ""
    seconds: float = 0.0
    output: Path | None = None
    thumb: QImage | None = None


def fuse_all_job(jobs: Sequence[QueueJob], options, settings: OutputSettings, singles: Sequence[Path],
                 control: TaskState, task: TaskState) -> QueueSummary:
    """Run the queue with ``control`` (the view's pause/cancel; a cancel still returns the summary).

    ``options``: the main window's FusionOptions; weight maps are not kept (memory).
    """
    options = dataclasses.replace(options, keep_weights=False)
    last = [0.0, ""]  # when the last progress went out, and its message

    def on_event(ev: QueueEvent) -> None:
        if task.cancelled:  # the runner itself was cancelled (the window closes)
            control.cancel()
        if ev.kind == "progress":
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY_S and ev.message == last[1]:
                return  # a new stage ('fusing', 'writing') always goes out
            last[0], last[1] = now, ev.message
        thumb = None
        if ev.kind == "fused":
            small = read_thumbnail(ev.job.output)
            thumb = None if small is None else qimage_copy(small)
        task.publish(QueueUpdate(ev.kind, ev.index, ev.bracket_fraction, ev.overall_fraction, ev.message, ev.seconds, ev.job.output, thumb))

    return run_queue(jobs, options, settings, control, on_event, prefetch=0, singles=singles)
