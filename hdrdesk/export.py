"""Writing a fusion result: the image and, optionally, every exposure's weight, gamma and motion map.

One module for the command line (``hdrdesk fuse --save-weights/--save-gamma``) and the
app's Export, so both name the files the same way and obey the same rules:

* map files are named after the output image and numbered by exposure, so two inputs
  with the same name (from different folders) get two maps:
  ``{image stem}_weight_{i}_{frame stem}.png`` and
  ``{image stem}_gamma-{variant}_{i}_{frame stem}.png`` and (deghosted results)
  ``{image stem}_motion_{i}_{frame stem}.png`` (``i`` from 1, darkest first);
* no target may be an input, the output image or another target (never, even with
  ``overwrite``), and none may exist unless ``overwrite``;
* every file goes through the atomic writer; a run that fails removes what it wrote,
  so a failed export leaves nothing behind;
* the image is converted from sRGB to ``output_profile`` and embeds that ICC profile
  (:mod:`hdrdesk.core.color_profiles`); maps are data, written without one.

Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from hdrdesk.core.io import Frame, check_output_path, probe_writable, write_image
from hdrdesk.errors import OutputError
from hdrdesk.tasks import TaskState, null_task

if TYPE_CHECKING:  # the gamma maps need torch and kornia: imported only when they are written
    from hdrdesk.core.gamma import GammaParams


@dataclass
class ExportOptions:
    """What to write. ``weights_dir``/``gamma_dir``/``masks_dir``: where the maps go (default: beside
    the image); ``gamma_params`` None: the defaults (:class:`hdrdesk.core.gamma.GammaParams`);
    ``masks``: the motion masks of a deghosted result; ``output_profile``: srgb, adobe-rgb,
    prophoto or input (:data:`hdrdesk.core.color_profiles.OUTPUT_PROFILES`)."""

    path: Path
    bits: int = 8
    quality: int = 95
    weights: bool = False
    gamma: bool = False
    gamma_params: "GammaParams | None" = None
    overwrite: bool = False
    weights_dir: Path | None = None
    gamma_dir: Path | None = None
    masks: bool = False
    masks_dir: Path | None = None
    output_profile: str = "srgb"


def weight_map_name(image: Path, index: int, frame: Path) -> str:
    """File name of exposure ``index``'s (0-based) weight map for output ``image``."""
    return f"{Path(image).stem}_weight_{index + 1}_{Path(frame).stem}.png"


def gamma_map_name(image: Path, index: int, frame: Path, variant: str) -> str:
    """File name of exposure ``index``'s (0-based) gamma map for output ``image``."""
    return f"{Path(image).stem}_gamma-{variant}_{index + 1}_{Path(frame).stem}.png"


def motion_mask_name(image: Path, index: int, frame: Path) -> str:
    """File name of exposure ``index``'s (0-based) motion mask for output ``image``."""
    return f"{Path(image).stem}_motion_{index + 1}_{Path(frame).stem}.png"


def resolved_gamma_params(options: ExportOptions) -> "GammaParams":
    from hdrdesk.core.gamma import GammaParams

    return options.gamma_params if options.gamma_params is not None else GammaParams()


def map_targets(options: ExportOptions, frame_paths: Sequence[Path], has_weights: bool = True) -> tuple[list[Path], list[Path]]:
    """(weight map files, gamma map files) the export writes, in exposure order."""
    image = Path(options.path)
    weights: list[Path] = []
    gammas: list[Path] = []
    if options.weights and has_weights:
        folder = Path(options.weights_dir) if options.weights_dir is not None else image.parent
        weights = [folder / weight_map_name(image, i, f) for i, f in enumerate(frame_paths)]
    if options.gamma:
        folder = Path(options.gamma_dir) if options.gamma_dir is not None else image.parent
        v = resolved_gamma_params(options).variant
        gammas = [folder / gamma_map_name(image, i, f, v) for i, f in enumerate(frame_paths)]
    return weights, gammas


def mask_targets(options: ExportOptions, frame_paths: Sequence[Path], has_masks: bool = True) -> list[Path]:
    """Motion mask files the export writes, in exposure order (none unless asked and deghosted)."""
    if not (options.masks and has_masks):
        return []
    folder = Path(options.masks_dir) if options.masks_dir is not None else Path(options.path).parent
    return [folder / motion_mask_name(options.path, i, f) for i, f in enumerate(frame_paths)]


def export_targets(options: ExportOptions, result) -> list[Path]:
    """Every file an export of ``result`` (a FusionResult) writes, the image first."""
    paths = [f.path for f in result.frames]
    weights, gammas = map_targets(options, paths, result.weights is not None)
    masks = mask_targets(options, paths, getattr(result, "motion_masks", None) is not None)
    return [Path(options.path), *weights, *gammas, *masks]


def check_targets(targets: Sequence[Path], inputs: Sequence[Path] = (), overwrite: bool = False) -> None:
    """Refuse (OutputError) before any work: a target that is an input, repeats another target,
    exists (unless ``overwrite``), or whose folder is missing or unwritable. The first target
    is the image and gets the image checks (format, folder) too."""
    if not targets:
        return
    check_output_path(Path(targets[0]), inputs, overwrite)
    resolved_inputs = {Path(p).resolve() for p in inputs}
    seen: dict[Path, Path] = {}
    probed: set[Path] = set()
    for t in targets:
        t = Path(t)
        r = t.resolve()
        if r in resolved_inputs:
            raise OutputError(f"{t}: would replace one of the inputs")
        if r in seen:
            raise OutputError(f"{t}: two outputs would have this name ({seen[r]})")
        seen[r] = t
        if t.is_dir():
            raise OutputError(f"{t}: is a folder")
        if t.exists() and not overwrite:
            raise OutputError(f"{t}: exists (use --overwrite to replace it)")
        if r.parent not in probed and r.parent.is_dir():
            probe_writable(r.parent, t)
            probed.add(r.parent)


def prepare_map_folder(folder: Path, option: str) -> None:
    """Create a map folder (with its parents) or say in one line why it cannot be used."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: {option} must be a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the {option} folder ({exc.strerror or exc})") from None
    probe_writable(folder, folder)


def frame_lumas(frames: Sequence[Frame]) -> np.ndarray:
    """(K, H, W) float32 luma of the frames at full resolution (the gamma maps' input)."""
    from hdrdesk.core.color import luma

    return np.stack([luma(f.rgb_float()) for f in frames]).astype(np.float32, copy=False)


class _Writer:
    """Writes files atomically and, if the export fails, removes the ones it created."""

    def __init__(self, overwrite: bool) -> None:
        self.overwrite = overwrite
        self.written: list[Path] = []
        self._created: list[Path] = []

    def write(self, path: Path, image: np.ndarray, **kw) -> Path:
        existed = Path(path).exists()
        out = write_image(path, image, overwrite=self.overwrite, **kw)
        self.written.append(out)
        if not existed:
            self._created.append(out)
        return out

    def undo(self) -> None:
        for p in self._created:
            try:
                p.unlink()
            except OSError:
                pass


def write_maps(
    weights: np.ndarray | None,
    frames: Sequence[Frame],
    options: ExportOptions,
    task: TaskState | None = None,
    writer: _Writer | None = None,
    masks: Sequence[np.ndarray] | None = None,
) -> list[Path]:
    """Write the maps ``options`` asks for (targets already checked); ``masks``: the result's
    motion masks. Returns the files written."""
    task = task or null_task()
    own = writer is None
    writer = writer or _Writer(options.overwrite)
    w_targets, g_targets = map_targets(options, [f.path for f in frames], weights is not None)
    m_targets = mask_targets(options, [f.path for f in frames], masks is not None)
    n = len(w_targets) + (len(g_targets) + 1 if g_targets else 0) + len(m_targets)
    done = 0
    start = len(writer.written)
    try:
        for target, w in zip(w_targets, weights if weights is not None else ()):
            task.report(done / max(1, n), "Writing weight maps")
            writer.write(target, w, bits=16)
            done += 1
        if g_targets:
            from hdrdesk.core.gamma import gamma_maps_tiled

            task.report(done / max(1, n), "Computing gamma maps")
            maps = gamma_maps_tiled(frame_lumas(frames), resolved_gamma_params(options), task.sub(done / n, (done + 1) / n))
            done += 1
            for target, g in zip(g_targets, maps):
                task.report(done / n, "Writing gamma maps")
                writer.write(target, g, bits=16)
                done += 1
        for target, m in zip(m_targets, masks if masks is not None else ()):
            task.report(done / n, "Writing motion masks")
            writer.write(target, m, bits=16)
            done += 1
    except BaseException:
        if own:
            writer.undo()
        raise
    return writer.written[start:]


def export_result(result, options: ExportOptions, task: TaskState | None = None, inputs: Sequence[Path] = ()) -> list[Path]:
    """Write ``result`` (a FusionResult: the full-resolution image the view shows) and its maps.

    Checks every target first; on failure removes the files this export created.
    Returns the files written, the image first.
    """
    from hdrdesk.core.color_profiles import convert_from_srgb, output_icc

    task = task or null_task()
    targets = export_targets(options, result)
    check_targets(targets, inputs, options.overwrite)
    icc = output_icc(options.output_profile, result.frames)  # before any file: an unusable profile stops here
    reference = result.frames[len(result.frames) // 2]
    writer = _Writer(options.overwrite)
    try:
        task.report(0.02, f"Writing {targets[0].name}")
        image = convert_from_srgb(result.image, icc)  # the result is sRGB
        writer.write(targets[0], image, bits=options.bits, quality=options.quality, exif=reference.exif_bytes, icc=icc)
        del image
        if len(targets) > 1:
            write_maps(result.weights, result.frames, options, task.sub(0.3, 1.0), writer, getattr(result, "motion_masks", None))
    except BaseException:
        writer.undo()
        raise
    task.report(1.0, "Exported")
    return writer.written
