"""A frame of a bracket: its pixels, exposure settings and EXIF (Qt-free, no decoding here).

Shared by the image readers (:mod:`hdrdesk.core.io`) and the RAW reader (:mod:`hdrdesk.core.raw`), so
neither imports the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_EXIF_IFD = 0x8769
_TAG_ORIENTATION = 0x0112
_TAG_EXPOSURE_TIME = 0x829A
_TAG_FNUMBER = 0x829D
_TAG_ISO = 0x8827
_TAG_BIAS = 0x9204


def relative_exposure(exposure_time: float | None, iso: float | None, f_number: float | None) -> float | None:
    """Light gathered, t * (ISO / 100) / N^2 (ISO 100 and f/1 when unknown; None without a shutter time)."""
    if not exposure_time or exposure_time <= 0:
        return None
    n = f_number or 1.0
    return exposure_time * (iso or 100.0) / 100.0 / (n * n)


@dataclass
class ExposureInfo:
    """Exposure settings from EXIF (None where absent)."""

    exposure_time: float | None = None
    f_number: float | None = None
    iso: float | None = None
    bias_ev: float | None = None

    @property
    def relative_exposure(self) -> float | None:
        """Light gathered, proportional to t * ISO / N^2 (None without a shutter time)."""
        return relative_exposure(self.exposure_time, self.iso, self.f_number)

    @property
    def ev(self) -> float | None:
        """log2 of the relative exposure: +1 is one stop brighter."""
        rel = self.relative_exposure
        return math.log2(rel) if rel else None

    def label(self, sep: str = ", ", with_bias: bool = True) -> str:
        """Shutter, aperture, ISO (and exposure bias), e.g. '1/250 s, f/8, ISO 100, -2.0 EV'."""
        parts = []
        if self.exposure_time:
            t = self.exposure_time
            parts.append(f"1/{round(1 / t)} s" if t < 0.5 else f"{t:g} s")
        if self.f_number:
            parts.append(f"f/{self.f_number:g}")
        if self.iso:
            parts.append(f"ISO {self.iso:g}")
        if with_bias and self.bias_ev is not None:
            parts.append(f"{self.bias_ev:+.1f} EV")
        return sep.join(parts)


@dataclass
class Frame:
    """One exposure: native pixels (uint8/uint16, RGB or gray), EXIF and where it came from."""

    path: Path
    data: np.ndarray
    exposure: ExposureInfo = field(default_factory=ExposureInfo)
    exif_bytes: bytes | None = None
    # the ICC profile the file was tagged with (None: untagged); ``data`` is already sRGB
    icc_profile: bytes | None = field(default=None, repr=False)

    @property
    def bit_depth(self) -> int:
        return 16 if self.data.dtype == np.uint16 else 8

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.data.shape[1], self.data.shape[0]

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == 2 else self.data.shape[2]

    def rgb_float(self) -> np.ndarray:
        """RGB float32 in [0, 1], HxWx3 (gray is repeated)."""
        return to_float_rgb(self.data)

    def mean_luma(self) -> float:
        small = self.data
        step = max(1, int(math.sqrt(small.shape[0] * small.shape[1] / 65536)))
        small = to_float_rgb(small[::step, ::step])
        return float((small @ np.array([0.299, 0.587, 0.114], np.float32)).mean())


def to_float_rgb(data: np.ndarray) -> np.ndarray:
    scale = 65535.0 if data.dtype == np.uint16 else 255.0
    arr = data.astype(np.float32) * np.float32(1.0 / scale)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    return arr


# --------------------------------------------------------------------- reading


def _rational(value) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            return float(value[0]) / float(value[1]) if value[1] else None
        v = float(value)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def read_exif(path: Path) -> tuple[int, ExposureInfo, bytes | None]:
    """Orientation (1-8), exposure info and raw EXIF bytes; defaults when absent or unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
            raw = exif.tobytes() if len(exif) else None
            orientation = int(exif.get(_TAG_ORIENTATION, 1) or 1)
            sub = exif.get_ifd(_EXIF_IFD)
            info = ExposureInfo(
                exposure_time=_rational(sub.get(_TAG_EXPOSURE_TIME)),
                f_number=_rational(sub.get(_TAG_FNUMBER)),
                iso=_rational(sub.get(_TAG_ISO) if not isinstance(sub.get(_TAG_ISO), tuple) else sub.get(_TAG_ISO)[0]),
                bias_ev=_rational(sub.get(_TAG_BIAS)),
            )
            return (orientation if 1 <= orientation <= 8 else 1), info, raw
    except Exception:  # EXIF is optional: a broken block must not stop loading
        return 1, ExposureInfo(), None


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip so the image displays upright (EXIF orientation 1-8)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1, :],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1, :],
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(img)) if op else img
