"""Camera RAW frames (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2 ... whatever LibRaw reads), via rawpy.

Every frame of a bracket is developed the same way, so the exposures stay comparable
(docs/raw.md says why each setting):

- white balance: the reference (middle) exposure's as-shot multipliers, for all frames;
- no auto-brightening (each frame keeps its exposure), exposure shift none;
- highlights clipped (recovery would tint them differently in every frame);
- 16 bits per channel, sRGB primaries and the sRGB tone curve, camera orientation applied;
- AHD demosaicing (LibRaw's default).

Exposure time, f-number and ISO come from LibRaw; exposure bias from the file's EXIF
where Pillow can read it (TIFF-based RAWs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from hdrdesk.errors import InputError

RAW_SUFFIXES = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2", ".rwl",
    ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mrw", ".mos",
)
SRGB_GAMMA = (2.4, 12.92)  # LibRaw's (power, toe slope) for the sRGB curve


def is_raw(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in RAW_SUFFIXES


def _open(path: Path):
    import rawpy

    try:
        return rawpy.imread(str(path))
    except rawpy.LibRawFileUnsupportedError:
        raise InputError(f"{path}: not a RAW file LibRaw can read (unsupported or corrupt)") from None
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise InputError(f"{path}: RAW file cannot be read ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:100]


def read_raw_exposure(path: str | os.PathLike):
    """Exposure settings of a RAW file without developing it (fast)."""
    from hdrdesk.core.frame import ExposureInfo, read_exif

    path = Path(path)
    with _open(path) as raw:
        other = raw.other
        info = ExposureInfo(
            exposure_time=float(other.shutter_speed) or None,
            f_number=float(other.aperture) or None,
            iso=float(other.iso_speed) or None,
        )
    info.bias_ev = read_exif(path)[1].bias_ev  # TIFF-based RAWs; None otherwise
    return info


def as_shot_white_balance(path: str | os.PathLike) -> list[float] | None:
    """The camera's as-shot white balance multipliers (R, G, B, G2), None if the file has none."""
    path = Path(path)
    with _open(path) as raw:
        wb = [float(v) for v in raw.camera_whitebalance]
    return wb if any(v > 0 for v in wb[:3]) else None


def reference_white_balance(paths: Sequence[str | os.PathLike]) -> list[float] | None:
    """As-shot white balance of the middle exposure among the RAW files (None without RAWs).

    Exposures are ordered as the bracket will be (by exposure, else by name), so the
    choice does not depend on the order the files were given in.
    """
    raws = [Path(p) for p in paths if is_raw(p)]
    if not raws:
        return None
    keyed = []
    for p in raws:
        rel = read_raw_exposure(p).relative_exposure
        keyed.append((rel if rel is not None else 0.0, p.name, p))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return as_shot_white_balance(keyed[len(keyed) // 2][2])


def develop(path: str | os.PathLike, white_balance: Sequence[float] | None = None) -> np.ndarray:
    """Develop a RAW file to uint16 sRGB (HxWx3), upright. ``white_balance``: multipliers to use
    instead of the file's own as-shot ones (a bracket uses its reference frame's)."""
    import rawpy

    path = Path(path)
    with _open(path) as raw:
        try:
            rgb = raw.postprocess(
                use_camera_wb=white_balance is None,
                user_wb=list(white_balance) if white_balance is not None else None,
                no_auto_bright=True,
                output_bps=16,
                output_color=rawpy.ColorSpace.sRGB,
                gamma=SRGB_GAMMA,
                highlight_mode=rawpy.HighlightMode.Clip,
                user_flip=None,  # LibRaw applies the camera orientation
            )
        except (rawpy.LibRawError, ValueError) as exc:
            raise InputError(f"{path}: RAW data cannot be decoded ({_short(exc)})") from None
        except MemoryError:
            raise
    if rgb.ndim != 3 or rgb.size == 0:
        raise InputError(f"{path}: RAW file holds no image")
    return np.ascontiguousarray(rgb)


def read_raw_frame(path: str | os.PathLike, white_balance: Sequence[float] | None = None):
    """A developed RAW as a :class:`~hdrdesk.core.io.Frame` (sRGB, 16-bit, with its exposure)."""
    from hdrdesk.core.frame import Frame

    path = Path(path)
    info = read_raw_exposure(path)
    data = develop(path, white_balance)
    return Frame(path=path, data=data, exposure=info, exif_bytes=None)


def raw_thumbnail(path: str | os.PathLike) -> np.ndarray | None:
    """The embedded preview of a RAW file as RGB uint8, upright (fast: no develop); None if it has none."""
    import cv2
    import rawpy

    from hdrdesk.core.frame import apply_orientation

    path = Path(path)
    with _open(path) as raw:
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError, rawpy.LibRawError):
            return None
        flip = raw.sizes.flip
    if thumb.format == rawpy.ThumbFormat.JPEG:
        img = cv2.imdecode(np.frombuffer(thumb.data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            return None
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        img = np.asarray(thumb.data)
        if img.dtype != np.uint8:
            img = (img >> 8).astype(np.uint8)
    # LibRaw's flip codes: 3 = 180, 5 = 90 CCW, 6 = 90 CW -> EXIF orientations 3, 8, 6
    return apply_orientation(img, {3: 3, 5: 8, 6: 6}.get(int(flip), 1))


def prefer_raw(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Where a RAW and a JPEG/PNG/TIFF of the same shot (same folder and name) are both given,
    keep the RAW. Returns the files and one note per file dropped."""
    raw_stems = {(p.parent, p.stem.lower()) for p in paths if is_raw(p)}
    kept, notes = [], []
    for p in paths:
        if not is_raw(p) and (p.parent, p.stem.lower()) in raw_stems:
            notes.append(f"{p.name}: the RAW file of the same shot is used instead")
            continue
        kept.append(p)
    return kept, notes
