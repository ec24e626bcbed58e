"""Small previews of a shoot's frames, read cheaply (Qt-free).

A 12 MP JPEG is decoded at 1/8 scale by libjpeg's DCT scaling (Pillow's ``draft``), a RAW
gives its embedded preview (rawpy, no develop); PNG and TIFF, which have no cheaper path,
are decoded and shrunk. Orientation is applied. Used by the shoot view on a worker
thread, and for the thumbnail of a fused result (the only thing the view keeps of it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

THUMB_LONG_SIDE = 120  # pixels; the shoot view shows frames at about this size


def _shrink(img: np.ndarray, long_side: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def _to_rgb8(img: np.ndarray) -> np.ndarray:
    import cv2

    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img.astype(np.float32) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_thumbnail(path: str | os.PathLike, long_side: int = THUMB_LONG_SIDE) -> np.ndarray | None:
    """An upright RGB uint8 preview whose long side is at most ``long_side``; None if the file cannot be read."""
    from hdrdesk.core.raw import RAW_SUFFIXES

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in RAW_SUFFIXES:
            from hdrdesk.core.raw import raw_thumbnail

            img = raw_thumbnail(path)
            return None if img is None else _shrink(img, long_side)
        if suffix in (".jpg", ".jpeg"):
            from PIL import Image, ImageOps

            with Image.open(path) as im:
                im.draft("RGB", (long_side, long_side))  # decode at 1/2 .. 1/8 scale, still >= long_side
                im = ImageOps.exif_transpose(im).convert("RGB")
                return _shrink(np.asarray(im), long_side)
        import cv2

        img = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        if img is None or img.size == 0:
            return None
        return _to_rgb8(_shrink(img, long_side))  # shrink first: cheaper on the small copy
    except Exception:  # noqa: BLE001 - a preview is optional: any decoder problem means 'no preview'
        return None
