"""The fusion queue: fuse a list of brackets into files, one after the other (Qt-free).

:func:`run_queue` is what ``hdrdesk batch`` runs, made for the GUI's 'Fuse all' too. It reports
per-bracket and overall progress through ``on_event`` (and the overall fraction through
the :class:`~hdrdesk.tasks.TaskState`), honours cancel and pause through the task at safe
points, goes on past a failed bracket, and returns a :class:`QueueSummary`.

Memory: with ``prefetch=0`` one bracket is in flight (load, fuse, write, then the next).
With ``prefetch=1`` (the CLI) the next bracket is decoded, aligned and colour-converted on
a second thread while the network runs on the current one, and the encoded write runs
there too: both cores stay busy, at the cost of one prepared bracket and one image more.

Outputs are written atomically (temp file + rename), so cancelling, a crash or Ctrl-C
never leaves a half-written file; a restarted run with ``skip_existing`` skips what
was written.
"""

from __future__ import annotations

import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from hdrdesk.errors import Cancelled, HDRDeskError, InputError, ModelError, OutputError
from hdrdesk.tasks import SubTask, TaskState, null_task

# share of a bracket's progress bar per stage
_LOAD, _FUSE = 0.35, 0.9


@dataclass
class QueueJob:
    """One output to make: a bracket's files (or a folder of them) and where the result goes."""

    name: str  # what messages call it: the first frame's name or the folder's
    source: list[Path] | Path  # the frames, or a bracket folder (listed when loaded)
    output: Path


@dataclass
class OutputSettings:
    bits: int = 8  # PNG/TIFF: 8 or 16 (JPEG is always 8)
    quality: int = 95  # JPEG
    overwrite: bool = False  # replace existing outputs
    skip_existing: bool = False  # an existing output counts as done (a restarted run), not as a failure
    profile: str = "srgb"  # output colour space (--output-profile), embedded as ICC


@dataclass
class QueueEvent:
    """Progress of the queue. ``kind``: 'start', 'progress', 'fused', 'skipped', 'failed'."""

    kind: str
    index: int  # 0-based position of the job
    total: int
    job: QueueJob
    bracket_fraction: float  # progress of this bracket, 0..1
    overall_fraction: float  # progress of the queue, 0..1
    message: str = ""
    seconds: float = 0.0  # for 'fused': time the bracket took


@dataclass
class QueueSummary:
    """What a run did. ``singles``: files that were listed but not fused (no exposure spread)."""

    total: int
    fused: list[QueueJob] = field(default_factory=list)
    skipped_existing: list[QueueJob] = field(default_factory=list)
    failed: list[tuple[QueueJob, str]] = field(default_factory=list)
    singles: list[Path] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def not_done(self) -> int:
        """Jobs neither fused, skipped nor failed (left by a cancel)."""
        return self.total - len(self.fused) - len(self.skipped_existing) - len(self.failed)


EventCallback = Callable[[QueueEvent], None]


@dataclass
class _Loaded:
    job: QueueJob
    prep: object | None = None  # PreparedBracket
    exif: bytes | None = None
    icc: bytes | None = None  # the output's ICC profile
    frames: int = 0
    error: str | None = None
    skipped: bool = False


class _BracketTask:
    """Maps a stage's 0..1 progress into [start, end] of one bracket and emits events; honours
    cancel/pause. With an ``emit`` that does nothing, it suits work on the loader thread (events
    come from one thread)."""

    def __init__(self, emit: Callable[[float, str], None], task: TaskState, start: float, end: float) -> None:
        self._emit, self._task, self.start, self.end = emit, task, start, end

    @property
    def cancelled(self) -> bool:
        return self._task.cancelled

    def check(self) -> None:
        self._task.check()

    def report(self, fraction: float, message: str = "") -> None:
        self._emit(self.start + (self.end - self.start) * min(max(fraction, 0.0), 1.0), message)
        self._task.check()

    def sub(self, start: float, end: float) -> SubTask:
        return SubTask(self, start, end)  # type: ignore[arg-type]


def error_message(exc: BaseException) -> str:
    """One line for a failed bracket."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, HDRDeskError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _skip_existing(job: QueueJob, settings: OutputSettings) -> bool:
    return settings.skip_existing and not settings.overwrite and job.output.exists()


def _load(job: QueueJob, options, settings: OutputSettings, task) -> _Loaded:
    """Read, order, align and colour-convert one bracket; errors become ``item.error`` (Cancelled is raised)."""
    from hdrdesk.core.color_profiles import output_icc
    from hdrdesk.core.fusion import prepare_fusion
    from hdrdesk.core.io import list_images, load_bracket

    item = _Loaded(job)
    try:
        if _skip_existing(job, settings):
            item.skipped = True
            return item
        if job.output.exists() and not settings.overwrite:
            raise OutputError(f"{job.output}: exists (use --overwrite to replace it)")
        if isinstance(job.source, Path):
            files = list_images(job.source)
            if not files:
                raise InputError(f"{job.source}: holds no JPEG, PNG or TIFF images")
        else:
            files = list(job.source)
        task.check()
        frames = load_bracket(files)
        item.frames = len(frames)
        item.exif = frames[len(frames) // 2].exif_bytes
        item.icc = output_icc(settings.profile, frames)
        task.check()
        # keep_frames=False empties ``frames``: an original replaced by its aligned copy goes at once
        item.prep = prepare_fusion(frames, options, task, keep_frames=options.method == "mertens")
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - one bracket's problem must not stop the queue
        item.error = error_message(exc)
    return item


def _write(item: _Loaded, image, settings: OutputSettings) -> None:
    from hdrdesk.core.color_profiles import convert_from_srgb
    from hdrdesk.core.io import write_image

    bits = 8 if item.job.output.suffix.lower() in (".jpg", ".jpeg") else settings.bits
    image = convert_from_srgb(image, item.icc) if item.icc else image  # the fused image is sRGB
    write_image(item.job.output, image, bits=bits, quality=settings.quality, exif=item.exif, overwrite=settings.overwrite, consume=True, icc=item.icc)


def run_queue(
    jobs: Sequence[QueueJob],
    options,
    settings: OutputSettings | None = None,
    task: TaskState | None = None,
    on_event: EventCallback | None = None,
    *,
    prefetch: int = 0,
    singles: Sequence[Path] = (),
    preload=None,
) -> QueueSummary:
    """Fuse ``jobs`` in order with ``options`` (a FusionOptions) and write each result.

    A failing bracket is recorded with its reason and the queue goes on; a model that
    cannot be loaded (:class:`ModelError`) stops it, as every bracket would fail the same
    way. Cancel (``task.cancel()``) stops at the next safe point: finished files stay,
    nothing is half-written, and the summary says ``cancelled`` (Ctrl-C counts as a cancel). ``preload``: a
    ModelPreloader started by the caller (so the model loads while the first bracket decodes).
    ``on_event`` is always called from the thread that runs this function (a GUI worker
    re-emits it as a signal), never from the loader thread.
    """
    import numpy as np

    from hdrdesk.core.fusion import finish_fusion

    settings = settings or OutputSettings()
    task = task or null_task()
    n = len(jobs)
    summary = QueueSummary(total=n, singles=list(singles))
    t0 = time.perf_counter()
    finished = 0  # jobs fused, skipped or failed (for the overall fraction)
    in_flight: dict[int, float] = {}  # progress of started, unfinished jobs (two while a write is pending)

    def emit(kind: str, i: int, fraction: float, message: str = "", seconds: float = 0.0) -> None:
        if kind in ("start", "progress"):
            in_flight[i] = fraction
        else:
            in_flight.pop(i, None)
        overall = (finished + sum(in_flight.values())) / n if n else 1.0
        if on_event is not None:
            on_event(QueueEvent(kind, i, n, jobs[i], fraction, overall, message, seconds))
        if kind in ("start", "progress"):
            task.report(overall, f"{jobs[i].name}: {message}")  # a safe point: raises Cancelled, waits while paused
        else:
            task.progress = overall

    def done(kind: str, i: int, message: str = "", seconds: float = 0.0) -> None:
        nonlocal finished
        finished += 1
        if kind == "fused":
            summary.fused.append(jobs[i])
        elif kind == "skipped":
            summary.skipped_existing.append(jobs[i])
        else:
            summary.failed.append((jobs[i], message))
        emit(kind, i, 1.0, message, seconds)

    out_dtype = {8: np.uint8, 16: np.uint16}
    loader = ThreadPoolExecutor(1, thread_name_prefix="hdrdesk-load") if prefetch > 0 else None
    futures: dict[int, Future] = {}
    pending: list[tuple[int, float, Future]] = []  # writes queued on the loader thread

    def submit(k: int) -> None:
        if loader is not None and k < n and k not in futures:
            futures[k] = loader.submit(_load, jobs[k], options, settings, _BracketTask(lambda _f, _m: None, task, 0.0, 1.0))

    def record_write(k: int, started: float, write: Callable[[], object]) -> None:
        try:
            write()
        except CancelledError:  # a queued write cancelled before it started: nothing written, the job is not done
            return
        except OutputError as exc:
            if settings.skip_existing and jobs[k].output.exists():
                done("skipped", k, "written meanwhile")  # another run wrote it (the write never replaces)
            else:
                done("failed", k, error_message(exc))
        except Exception as exc:  # noqa: BLE001 - one bracket's problem must not stop the queue
            done("failed", k, error_message(exc))
        else:
            done("fused", k, seconds=time.perf_counter() - started)

    def collect_writes(wait: bool) -> None:
        while pending and (wait or pending[0][2].done()):
            k, started, fut = pending.pop(0)
            record_write(k, started, fut.result)

    try:
        submit(0)
        submit(1)  # while torch imports, the loader goes on to the second bracket
        for i, job in enumerate(jobs):
            task.check()
            started = time.perf_counter()
            emit("start", i, 0.0, "loading")
            if loader is not None:
                item: _Loaded = futures.pop(i).result()
                submit(i + 1)
            else:
                item = _load(job, options, settings, _BracketTask(lambda f, m: emit("progress", i, f, m or "loading"), task, 0.0, _LOAD))
            collect_writes(wait=False)
            if item.skipped:
                done("skipped", i, "exists")
                continue
            if item.error is not None:
                done("failed", i, item.error)
                continue
            emit("progress", i, _LOAD, "fusing")
            try:
                if preload is not None:
                    preload.result()  # ModelError: fatal
                    preload = None
                bits = 8 if job.output.suffix.lower() in (".jpg", ".jpeg") else settings.bits
                progress = _BracketTask(lambda f, m: emit("progress", i, f, m or "fusing"), task, _LOAD, _FUSE)
                result = finish_fusion(item.prep, progress, out_dtype=out_dtype[bits])  # type: ignore[arg-type]
                image = result.image
                del result
            except (ModelError, Cancelled):
                raise
            except Exception as exc:  # noqa: BLE001 - one bracket's problem must not stop the queue
                done("failed", i, error_message(exc))
                continue
            finally:
                item.prep = None
            emit("progress", i, _FUSE, "writing")
            if loader is not None:
                collect_writes(wait=True)  # at most one finished image waits for its write
                pending.append((i, started, loader.submit(_write, item, image, settings)))
            else:
                record_write(i, started, partial(_write, item, image, settings))
            del image
        collect_writes(wait=True)
    except (Cancelled, KeyboardInterrupt):  # Ctrl-C in the CLI is a cancel too: the summary still comes back
        summary.cancelled = True
    finally:
        if loader is not None:
            # a finished bracket still waiting for its write is written (a load queued before it
            # stops at its next check); then the loader goes, dropping loads not started
            collect_writes(wait=True)
            loader.shutdown(wait=True, cancel_futures=True)
        summary.seconds = time.perf_counter() - t0
    return summary
