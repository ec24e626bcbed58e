"""Display images, made on worker threads and handed ready-made to the UI.

Everything here may run off the UI thread (QImage is reentrant). The UI thread
never converts or scales a big array: it receives a :class:`DisplayImage`
holding a preview (long side :data:`PREVIEW_LONG`) for zoomed-out views and,
where useful, a full-resolution QImage that shares memory with a uint8 array.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap

from hdrdesk.core.io import to_uint

PREVIEW_LONG = 2048  # long side of the image shown while zoomed out
THUMB_LONG = 160  # filmstrip thumbnails

COLORMAPS: dict[str, int | None] = {
    "Viridis": cv2.COLORMAP_VIRIDIS,
    "Magma": cv2.COLORMAP_MAGMA,
    "Inferno": cv2.COLORMAP_INFERNO,
    "Turbo": cv2.COLORMAP_TURBO,
    "Grey": None,
}
DEFAULT_COLORMAP = "Viridis"


@dataclass
class DisplayImage:
    """A picture for the viewer: full-resolution size, a preview and maybe the full image.

    ``width``/``height`` are the size in scene (full-resolution image) pixels;
    the preview and the full QImage are drawn stretched to that rectangle, so a
    map computed at a lower resolution lines up with the image it belongs to.
    """

    width: int
    height: int
    preview: QImage
    full: QImage | None = None
    keep: list = field(default_factory=list, repr=False)  # arrays backing the QImages

    @property
    def preview_scale(self) -> float:
        """Preview pixels per scene pixel."""
        return self.preview.width() / max(1, self.width)


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """uint8 of float [0,1], uint16 or uint8 data (gray or RGB): the engine's one quantiser."""
    return to_uint(arr, 8)


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    s = long_side / max(width, height)
    if s >= 1.0:
        return width, height
    return max(1, round(width * s)), max(1, round(height * s))


def downscale(arr: np.ndarray, long_side: int) -> np.ndarray:
    """``arr`` reduced to ``long_side`` (never enlarged).

    Halved by Gaussian pyramid steps while at least twice the target, then area-averaged:
    half the time of one area step from a 24 MP frame (thumbnails, previews and the preview
    fusion all start here), and as free of aliasing.
    """
    h, w = arr.shape[:2]
    nw, nh = fit_size(w, h, long_side)
    if (nw, nh) == (w, h):
        return arr
    src = arr
    while src.shape[1] >= 2 * nw and src.shape[0] >= 2 * nh and src.dtype != np.bool_:
        src = cv2.pyrDown(src)
    return cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)


def qimage_from_array(arr: np.ndarray) -> tuple[QImage, np.ndarray]:
    """A QImage sharing memory with a uint8 HxW or HxWx3 array; keep the array alive."""
    a = np.ascontiguousarray(to_uint8(arr))
    h, w = a.shape[:2]
    if a.ndim == 2:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8)
    elif a.shape[2] == 3:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888)
    elif a.shape[2] == 4:
        img = QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGBA8888)
    else:
        raise ValueError(f"cannot display an array of shape {a.shape}")
    return img, a


def qimage_copy(arr: np.ndarray) -> QImage:
    """A QImage owning its pixels (for small images: thumbnails, legends)."""
    img, _a = qimage_from_array(arr)
    return img.copy()


def make_display(arr: np.ndarray, with_full: bool = True, preview_long: int = PREVIEW_LONG, size: tuple[int, int] | None = None) -> DisplayImage:
    """Display image of an RGB/gray array (float [0,1], uint8 or uint16).

    ``size`` (width, height) is the scene size when ``arr`` is a reduced map.
    """
    a8 = to_uint8(arr)
    h, w = a8.shape[:2]
    sw, sh = size or (w, h)
    small = downscale(a8, preview_long)
    preview, keep_p = qimage_from_array(small)
    keep = [keep_p]
    full = None
    if with_full and small is not a8:
        full, keep_f = qimage_from_array(a8)
        keep.append(keep_f)
    elif small is a8:
        full = None  # the preview already is the full image
    return DisplayImage(sw, sh, preview, full, keep)


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table."""
    code = COLORMAPS.get(name, COLORMAPS[DEFAULT_COLORMAP])
    ramp = np.arange(256, dtype=np.uint8)
    if code is None:
        return np.repeat(ramp[:, None], 3, axis=1)
    bgr = cv2.applyColorMap(ramp[:, None], code)[:, 0, :]
    return np.ascontiguousarray(bgr[:, ::-1])


def colorize(values: np.ndarray, name: str, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """HxW float -> HxWx3 uint8 through a colour map."""
    scale = 255.0 / max(vmax - vmin, 1e-12)
    idx = np.clip((values - vmin) * scale + 0.5, 0, 255).astype(np.uint8)
    lut = colormap_lut(name)
    out = np.empty(idx.shape + (3,), np.uint8)
    for c in range(3):
        out[..., c] = cv2.LUT(idx, lut[:, c])
    return out


def colorize_display(values: np.ndarray, name: str, size: tuple[int, int], with_full: bool = True) -> DisplayImage:
    """A colour-mapped map (weights or gamma, values in [0, 1]) as a display image.

    Large maps are downscaled first (averaging is fine for a weight in [0, 1]),
    then coloured, so the preview costs little; the full-resolution colouring
    is made only when ``with_full``.
    """
    h, w = values.shape
    small = downscale(values.astype(np.float32, copy=False), PREVIEW_LONG)
    preview, keep_p = qimage_from_array(colorize(small, name))
    keep = [keep_p]
    full = None
    if with_full and small.shape != values.shape:
        full, keep_f = qimage_from_array(colorize(values, name))
        keep.append(keep_f)
    return DisplayImage(size[0], size[1], preview, full, keep)


def colorize_mask_display(mask: np.ndarray, name: str, size: tuple[int, int], with_full: bool = True) -> DisplayImage:
    """A motion mask (values in [0, 1]) as a display image: colour-mapped, with the mask as its
    alpha, so where nothing moved the image shows through untouched."""

    def rgba(values: np.ndarray) -> np.ndarray:
        alpha = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.dstack([colorize(values, name), alpha]))

    small = downscale(mask.astype(np.float32, copy=False), PREVIEW_LONG)
    preview, keep_p = qimage_from_array(rgba(small))
    keep = [keep_p]
    full = None
    if with_full and small.shape != mask.shape:
        full, keep_f = qimage_from_array(rgba(mask))
        keep.append(keep_f)
    return DisplayImage(size[0], size[1], preview, full, keep)


@dataclass
class Histogram:
    """256-bin histograms of an 8-bit rendering: luma, red, green, blue."""

    luma: np.ndarray
    red: np.ndarray
    green: np.ndarray
    blue: np.ndarray
    clipped_low: float = 0.0  # fraction of pixels with luma 0
    clipped_high: float = 0.0  # ... and with any channel 255
    curves: dict = field(default_factory=dict)  # name -> QPainterPath in unit coordinates (see histogram_curves)


def histogram(rgb8: np.ndarray) -> Histogram:
    """Histograms of an HxWx3 uint8 image (cv2.calcHist: fast, releases the GIL)."""
    chans = cv2.split(rgb8)
    hists = [cv2.calcHist([c], [0], None, [256], [0, 256]).reshape(-1) for c in chans]
    y = cv2.cvtColor(rgb8, cv2.COLOR_RGB2GRAY)
    hy = cv2.calcHist([y], [0], None, [256], [0, 256]).reshape(-1)
    n = float(max(1, y.size))
    brightest = cv2.max(cv2.max(chans[0], chans[1]), chans[2])
    high = float(cv2.countNonZero(cv2.inRange(brightest, 255, 255))) / n
    h = Histogram(hy, hists[0], hists[1], hists[2], float(hy[0]) / n, high)
    h.curves = histogram_curves(h)
    return h


def histogram_curves(h: Histogram) -> dict:
    """The curves as QPainterPaths in unit coordinates (x and y in [0, 1], y up), built off the UI thread.

    Heights are scaled by the 99.5th percentile of the inner bins, so the
    spikes at 0 and 255 do not flatten the rest.
    """
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QPainterPath, QPolygonF

    chans = {"luma": h.luma, "red": h.red, "green": h.green, "blue": h.blue}
    ref = max(1.0, float(np.percentile(np.concatenate([c[1:-1] for c in chans.values()]), 99.5)))
    xs = np.linspace(0.0, 1.0, 256)
    out = {}
    for name, values in chans.items():
        ys = np.minimum(values / ref, 1.05)
        pp = QPainterPath()
        pp.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in zip(xs, ys)]))
        out[name] = pp
        if name == "luma":
            fill = QPainterPath()
            fill.addPolygon(QPolygonF([QPointF(0.0, 0.0), *(QPointF(float(x), float(y)) for x, y in zip(xs, ys)), QPointF(1.0, 0.0)]))
            fill.closeSubpath()
            out["fill"] = fill
    return out


def draw_letterboxed(p: QPainter, area: QRect, picture: QPixmap | QImage | None) -> QRect | None:
    """Draw ``picture`` fitted and centred in ``area``; the rectangle it covers (None: nothing to draw)."""
    if picture is None or picture.isNull():
        return None
    s = picture.size().scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRect(0, 0, s.width(), s.height())
    target.moveCenter(area.center())
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    if isinstance(picture, QImage):
        p.drawImage(target, picture)
    else:
        p.drawPixmap(target, picture)
    return target
