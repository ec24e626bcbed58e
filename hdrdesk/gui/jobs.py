"""The GUI's jobs: plain functions that run on worker threads.

Each takes a ``task`` (:class:`hdrdesk.tasks.TaskState`) for progress and
cancellation, calls the Qt-free core and prepares what the UI thread needs
(display-size QImages, histograms), so the UI thread only swaps pictures.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtGui import QImage

from hdrdesk.core.color import luma
from hdrdesk.core.fusion import FusionOptions, FusionResult, fuse_frames
from hdrdesk.core.gamma import GammaParams, gamma_maps_np
from hdrdesk.core.io import Frame, check_bracket, expand_inputs, harmonise, order_frames, read_frame, to_float_rgb
from hdrdesk.core.safe_read import header_size, read_file_bytes
from hdrdesk.errors import Cancelled, HDRDeskError, InputError
from hdrdesk.export import ExportOptions, export_result
from hdrdesk.gui.imaging import (
    THUMB_LONG,
    DisplayImage,
    Histogram,
    colorize_display,
    colorize_mask_display,
    downscale,
    fit_size,
    histogram,
    make_display,
    qimage_copy,
    to_uint8,
)
from hdrdesk.gui.panels import METHOD_NAMES
from hdrdesk.gui.raw_loading import RawBatch, RawPreviews  # noqa: F401  (RawPreviews: what load_job publishes)
from hdrdesk.tasks import SubTask, TaskState

QUALITY_SIZE = 512  # long side at which MEF-SSIM is computed
GAMMA_DRAG_SIZE = 512  # long side of the gamma maps while a slider moves
GAMMA_SETTLED_SIZE = 1024  # ... and once it rests


# --------------------------------------------------------------------- loading


@dataclass
class LoadedFrame:
    frame: Frame
    thumb: QImage
    mean_luma: float
    reduced: np.ndarray | None = None  # the pixels at preview size (large frames), for the preview fusion


@dataclass
class LoadOutput:
    frames: list[LoadedFrame]
    errors: list[str]
    dropped_for_raw: list[Path] = field(default_factory=list)  # JPEG/PNG/TIFF whose RAW was given too


def load_job(paths: Sequence[str | Path], task: TaskState, preview_options: FusionOptions | None = None) -> LoadOutput:
    """Read image files (folders stand for the images inside); bad files become messages.

    RAW files (hdrdesk.gui.raw_loading): a RAW and a JPEG of the same shot give the RAW; their
    embedded previews are published first (:class:`RawPreviews`) and become the thumbnails; all are
    developed with one white balance; cancelling stops between files. ``preview_options``: a large
    JPEG bracket is first fused at preview size from scaled decodes (:func:`early_preview`) and that
    :class:`FusionOutput` published, before the full frames are decoded."""
    files: list[Path] = []
    errors: list[str] = []
    for item in paths:
        try:
            files.extend(expand_inputs([item]))
        except HDRDeskError as exc:
            errors.append(str(exc))
        except OSError as exc:
            errors.append(f"{item}: {exc.strerror or exc}")
    raws = RawBatch(files, task, errors)
    files = raws.files
    decode_task: TaskState | SubTask = task
    if preview_options is not None and not raws.raws:
        early = early_preview(files, preview_options, task.sub(0.0, 0.4))
        if early is not None:
            task.publish(early)
            decode_task = task.sub(0.4, 1.0)

    def read_one(path) -> LoadedFrame | str:
        task.check()
        try:
            frame = read_frame(path, raws.white_balance)
        except HDRDeskError as exc:
            return str(exc)
        except MemoryError:
            return f"{path}: out of memory while reading"
        except Exception as exc:  # noqa: BLE001 - a decoder hiccup must not lose the other frames
            return f"{path}: could not be read ({type(exc).__name__}: {exc})"
        finally:
            raws.developed(path)
        # The preview fusion's copy is made here, on the loader's threads, and the thumbnail from it
        # (a few milliseconds instead of a second reduction of the full frame).
        reduced = preview_copy(frame.data)
        thumb = raws.thumb(path)  # a RAW's embedded preview, else a copy of the pixels
        if thumb is None:
            thumb = qimage_copy(downscale(to_uint8(frame.data if reduced is None else reduced), THUMB_LONG))
        return LoadedFrame(frame, thumb, frame.mean_luma(), reduced)

    out: list[LoadedFrame] = []
    if raws.raws:
        # RAW develops one at a time: each is memory-hungry, reports its own step and Cancel acts between them
        results = []
        for i, path in enumerate(files):
            task.report(i / max(1, len(files)), raws.step_message(path, i, len(files)))
            results.append(read_one(path))
    else:
        # two files at a time (decoders release the GIL): a bracket is on screen sooner; results in order
        with ThreadPoolExecutor(2, thread_name_prefix="hdrdesk-load") as pool:
            results = []
            for i, item in enumerate(pool.map(read_one, files)):
                decode_task.report((i + 1) / max(1, len(files)), f"Loaded {Path(files[i]).name}")
                results.append(item)
    for item in results:
        if isinstance(item, str):
            errors.append(item)
        else:
            out.append(item)
    task.report(1.0, "Loaded")
    return LoadOutput(out, errors, raws.dropped)


# ---------------------------------------------------------------------- fusion


PREVIEW_LONG = 1024  # long side of the preview fusion shown before the full-resolution result (about the view's size at Fit)
PREVIEW_ALIGN_SIZE = 512  # its alignment registers copies this large (a second less than the full-size rule; within a pixel or two)
PREVIEW_MIN_RATIO = 1.5  # a preview only for brackets at least this much larger than it


def gets_preview(size: tuple[int, ...], preview_long: int | None = None) -> bool:
    """Whether a bracket whose frames are ``size`` (any order of width and height) is first fused at
    ``preview_long`` (None: :data:`PREVIEW_LONG`; 0: never)."""
    preview_long = PREVIEW_LONG if preview_long is None else preview_long
    return bool(preview_long) and max(size) >= PREVIEW_MIN_RATIO * preview_long


@dataclass
class FusionOutput:
    """A fusion result with everything the window shows of it."""

    result: FusionResult
    options: FusionOptions
    fused: DisplayImage
    exposures: list[DisplayImage]
    histogram: Histogram
    seconds: float
    source_paths: list[Path] = field(default_factory=list)
    luma: "LumaCache | None" = None  # luma stacks for the gamma maps, prepared with the result
    fixed_working_size: int | None = None  # the network's own working size (v2 models), which FusionOptions' does not set
    preview: bool = False  # a preview-resolution fusion; the full-resolution result follows


def early_preview(files: Sequence[Path], options: FusionOptions, task: TaskState | SubTask) -> FusionOutput | None:
    """The preview fusion of a large JPEG bracket from scaled decodes (1/2-1/8 of a full decode's time),
    ordered as the bracket will be: a first picture before the full frames are decoded. None when the
    bracket does not qualify (not all JPEG, fewer than two files, too small for a preview) or a file
    does not read (the full load reports it)."""
    if len(files) < 2 or any(Path(f).suffix.lower() not in (".jpg", ".jpeg") for f in files):
        return None
    t0 = time.perf_counter()
    try:
        size = header_size(read_file_bytes(files[0]))
        if size is None or not gets_preview(size):
            return None
        with ThreadPoolExecutor(2, thread_name_prefix="hdrdesk-peek") as pool:
            small = list(pool.map(lambda f: read_frame(f, reduce_to=PREVIEW_LONG), files))
        small = [replace(f, data=downscale(f.data, PREVIEW_LONG)) for f in order_frames(small)]
        check_bracket(small)
    except HDRDeskError:
        return None
    return _preview_output(small, options, task, t0, [f.path for f in small])


def _preview_output(small: Sequence[Frame], options: FusionOptions, task, t0: float, source_paths: list[Path]) -> FusionOutput:
    """Fuse preview-size frames (aligned at :data:`PREVIEW_ALIGN_SIZE`) into a preview :class:`FusionOutput`."""
    preview = fuse_frames(harmonise(small), replace(options, align_size=min(options.align_size, PREVIEW_ALIGN_SIZE)), task)
    return _fusion_output(preview, options, t0, source_paths, task, preview=True)


def preview_copy(data: np.ndarray, preview_long: int | None = None) -> np.ndarray | None:
    """``data`` reduced to the preview fusion's size, or None when the frame is too small to get a preview."""
    if not gets_preview(data.shape[:2], preview_long):
        return None
    return downscale(data, PREVIEW_LONG if preview_long is None else preview_long)


def fusion_job(
    frames: Sequence[Frame], options: FusionOptions, task: TaskState, preview_long: int | None = None, reduced: Sequence[np.ndarray] | None = None
) -> FusionOutput:
    """Fuse at full resolution. A large bracket is first fused at ``preview_long`` (frames reduced,
    aligned at that size) and that output published (``task.publish``, a :class:`FusionOutput`
    with ``preview=True``), so the window has a picture, its MEF-SSIM and overlays within a
    fraction of the full fusion's time. ``preview_long``: None for :data:`PREVIEW_LONG`, 0 for no preview.
    ``reduced``: the frames' copies at that size made while loading (:func:`preview_copy`), used instead of
    reducing them again."""
    preview_long = PREVIEW_LONG if preview_long is None else preview_long
    t0 = time.perf_counter()
    source_paths = [f.path for f in frames]
    h, w = frames[0].data.shape[:2]
    start = 0.0
    if gets_preview((h, w), preview_long):
        expected = fit_size(w, h, preview_long)[::-1]
        if reduced is not None and len(reduced) == len(frames) and all(r is not None and r.shape[:2] == expected for r in reduced):
            small = [replace(f, data=r) for f, r in zip(frames, reduced)]
        else:
            with ThreadPoolExecutor(2, thread_name_prefix="hdrdesk-preview") as pool:  # OpenCV's resize releases the GIL
                small = list(pool.map(lambda f: replace(f, data=downscale(f.data, preview_long)), frames))
        task.publish(_preview_output(small, options, task.sub(0.0, 0.1), t0, source_paths))
        start = 0.15
    result = fuse_frames(harmonise(frames), options, task.sub(start, 0.9))
    task.report(0.9, "Preparing the display")
    out = _fusion_output(result, options, t0, source_paths, task)
    task.report(1.0, "Done")
    return out


def _fusion_output(result: FusionResult, options: FusionOptions, t0: float, source_paths: list[Path], task, preview: bool = False) -> FusionOutput:
    """The display images, histogram and luma stacks of a result."""
    fused8 = to_uint8(result.image)
    fused = make_display(fused8)
    task.check()
    exposures = [make_display(f.data) for f in result.frames]
    hist = histogram(fused8)
    luma = LumaCache(result.frames)
    for size in (GAMMA_DRAG_SIZE, GAMMA_SETTLED_SIZE):  # ready before the first slider move
        luma.get(size)
    fixed = network_working_size(options) if result.method == "cnn" else None
    return FusionOutput(result, options, fused, exposures, hist, time.perf_counter() - t0, source_paths, luma, fixed, preview)


def network_working_size(options: FusionOptions) -> int | None:
    """The working size a v2 network fixes for itself (None: a v1 network, which uses ``options.working_size``)."""
    from hdrdesk.core.fusion import get_model, is_spd_model

    model = options.model if options.model is not None else get_model(options.model_path, options.device)[0]  # cached: loaded by the fusion
    return (getattr(model.config, "working_size", 0) or 256) if is_spd_model(model) else None


# ------------------------------------------------------------------ gamma maps


class LumaCache:
    """The luma stack of a result's frames at a few resolutions (thread-safe, lazy)."""

    def __init__(self, frames: Sequence[Frame]) -> None:
        self.frames = list(frames)
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()
        h, w = self.frames[0].data.shape[:2]
        self.width, self.height = w, h

    def resolution(self, long_side: int | None) -> int:
        """The long side actually used (never above full resolution)."""
        full = max(self.width, self.height)
        return full if long_side is None else min(full, int(long_side))

    def get(self, long_side: int | None) -> np.ndarray:
        n = self.resolution(long_side)
        with self._lock:
            cached = self._cache.get(n)
        if cached is not None:
            return cached
        lumas = []
        full = n == max(self.width, self.height)
        for f in self.frames:
            if full:  # exactly the engine's luma
                lumas.append(luma(f.rgb_float()))
            else:  # reduce the native pixels first (cheap), then convert: a preview within 1/255 of exact
                lumas.append(luma(to_float_rgb(downscale(f.data, n))))
        stack = np.stack(lumas).astype(np.float32)
        with self._lock:
            self._cache[n] = stack
        return stack


@dataclass
class GammaOutput:
    maps: np.ndarray  # (K, h, w) float32 at the resolution below
    params: GammaParams
    long_side: int  # long side of the maps
    full_size: tuple[int, int]  # (width, height) of the images they belong to
    index: int  # the exposure whose overlay was prepared
    colormap: str
    overlay: DisplayImage | None


def gamma_job(source: LumaCache, params: GammaParams, long_side: int | None, index: int, colormap: str, task: TaskState) -> GammaOutput:
    task.report(0.05, f"Gamma maps ({params.variant})")
    stack = source.get(long_side)
    task.check()
    maps = gamma_maps_np(stack, params)
    task.check()
    overlay = None
    if 0 <= index < len(maps):
        overlay = colorize_display(maps[index], colormap, (source.width, source.height), with_full=False)
    task.report(1.0, "Gamma maps ready")
    return GammaOutput(maps, params, source.resolution(long_side), (source.width, source.height), index, colormap, overlay)


def overlay_job(values: np.ndarray, colormap: str, size: tuple[int, int], task: TaskState) -> DisplayImage:
    """Colour one weight/gamma map (full resolution when the map is)."""
    task.report(0.1, "Colouring the overlay")
    return colorize_display(values, colormap, size, with_full=True)


def mask_overlay_job(mask: np.ndarray, colormap: str, size: tuple[int, int], task: TaskState) -> DisplayImage:
    """Colour one motion mask, transparent where nothing moved."""
    task.report(0.1, "Colouring the motion mask")
    return colorize_mask_display(mask, colormap, size, with_full=True)


# ------------------------------------------------------------------- quality


def _small_rgb8(arr: np.ndarray, long_side: int = QUALITY_SIZE) -> np.ndarray:
    a = to_uint8(arr)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return downscale(a, long_side)


def mef_ssim_at(frames: Sequence[Frame], image: np.ndarray, long_side: int = QUALITY_SIZE) -> float:
    """MEF-SSIM of ``image`` against ``frames``, both reduced to ``long_side``."""
    from hdrdesk.core.mefssim import mef_ssim_rgb

    inputs = [_small_rgb8(f.data, long_side) for f in frames]
    fused = _small_rgb8(image, long_side)
    score = float(mef_ssim_rgb(inputs, fused))
    if not math.isfinite(score):
        raise InputError("MEF-SSIM is undefined for this image")
    return score


@dataclass
class QualityOutput:
    score: float | None
    long_side: int
    error: str = ""


def quality_job(frames: Sequence[Frame], image: np.ndarray, task: TaskState) -> QualityOutput:
    task.report(0.1, "MEF-SSIM")
    h, w = image.shape[:2]
    n = min(QUALITY_SIZE, max(h, w))
    try:
        return QualityOutput(mef_ssim_at(frames, image, n), n)
    except Cancelled:
        raise
    except (HDRDeskError, ValueError, RuntimeError) as exc:
        return QualityOutput(None, n, str(exc))


#: The classic methods the result is compared with (compare view, quality readout).
ANCHORS = ("mertens", "fmmef")


@dataclass
class AnchorOutput:
    """A classic method's fusion of the result's (aligned) frames, for comparison, with its score."""

    method: str  # one of ANCHORS
    image: np.ndarray
    display: DisplayImage
    quality: QualityOutput


def anchor_job(method: str, frames: Sequence[Frame], task: TaskState, image: np.ndarray | None = None) -> AnchorOutput:
    """Fuse the same (aligned) frames with the classic ``method`` (the engine's own path) and score it."""
    if method not in ANCHORS:
        raise ValueError(f"unknown comparison method {method!r}")
    name = METHOD_NAMES[method]
    if image is None:
        task.report(0.05, f"{name} fusion for comparison")
        opts = FusionOptions(method=method, align=False, keep_weights=False)  # the frames are aligned already
        image = fuse_frames(frames, opts, task.sub(0.0, 0.5)).image
    task.check()
    display = make_display(image)
    task.report(0.6, f"MEF-SSIM of {name}")
    quality = quality_job(frames, image, task.sub(0.6, 1.0))
    return AnchorOutput(method, image, display, quality)


# ---------------------------------------------------------------------- info


MODEL_READY = "model-ready"  # what info_job publishes once the fusion model is loaded


def load_model_for_app(model_path: Path | None = None):
    """Load the model into :func:`get_model`'s cache (the first fusion finds it; on a CPU without
    torch) and warm its runtime up; returns what get_model returns."""
    from hdrdesk.core.fusion import get_model, warm_up

    loaded = get_model(model_path)
    try:
        warm_up(loaded[0])
    except Exception:  # noqa: BLE001 - only a head start: the first fusion reports a real problem itself
        import logging

        logging.getLogger("hdrdesk.gui").warning("network warm-up failed", exc_info=True)
    return loaded


def info_job(task: TaskState | None = None, model_path: Path | None = None) -> dict:
    """Load the fusion model (published as :data:`MODEL_READY`), then versions, device and model
    (``hdrdesk info``), logged; runs on a worker after the window's first paint (it may import torch)."""
    import logging

    from hdrdesk.info import collect_info

    try:
        load_model_for_app(model_path)
    except HDRDeskError as exc:
        logging.getLogger("hdrdesk.gui").warning("model not loaded at start: %s", exc)
    if task is not None:
        task.publish(MODEL_READY)
    info = collect_info()
    for k, v in info.items():
        logging.getLogger("hdrdesk.gui").info("info %s: %s", k, v)
    return info


# -------------------------------------------------------------------- export


def export_job(result: FusionResult, options: ExportOptions, task: TaskState, inputs: Sequence[Path] = ()) -> list[Path]:
    """Write the full-resolution result (the preview's own array) and optional maps (see hdrdesk.export)."""
    return export_result(result, options, task, inputs)
