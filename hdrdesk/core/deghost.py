"""Deghosting: find what moved between the exposures and take it from one reference frame.

For every frame other than the reference, a motion mask is computed against the
reference on a reduced copy (long side ``DETECT_SIZE``):

1. intensity mapping functions (cumulative-histogram matching, per channel) map the
   reference to the frame's exposure and the frame to the reference's;
2. the two are compared locally, per colour channel: intensity (how far a pixel lies
   outside the range the other image has within a few pixels, so residual misalignment
   does not count; in whichever direction starts from an informative pixel, and not where
   the reference is clipped on the side this frame shows detail in) and, on luma,
   structure (SSIM's correlation term, where both have texture);
3. the mask is cleaned morphologically (opening, closing, small blobs dropped), grown
   and feathered. The level (low/medium/high) sets the thresholds.

Masked pixels of a frame are replaced by a pseudo-exposure made from the reference
(the reference mapped to that frame's exposure per channel by histogram matching, on
the pixels that did not move), so every frame shows the reference's content there and
nothing appears twice. Everything acts on the input frames, so it works for every
fusion method alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import cv2
import numpy as np

from hdrdesk.core.io import Frame
from hdrdesk.errors import InputError

DEGHOST_LEVELS = ("off", "low", "medium", "high")
DETECT_SIZE = 1024  # long side of the copies the masks are computed on
CLIP_LOW, CLIP_HIGH = 0.03, 0.97  # luma beyond these is clipped: its mapping says nothing
BINS = 256


@dataclass(frozen=True)
class Thresholds:
    """What counts as motion at one level."""

    intensity: float  # mean mapped luma difference (0-1) above which a pixel moved
    structure: float  # local correlation below which a textured pixel moved
    min_area: float  # blobs smaller than this fraction of the image are dropped
    grow: float  # the mask is grown by this fraction of the long side


# Calibrated on static scenes with a pasted object (benchmarks/deghost_measure.py): the
# intensity term's false positives on static brackets grow fast below ~0.12, the
# structure term's stay near zero up to 0.5 (docs/deghosting.md).
LEVELS = {
    "low": Thresholds(intensity=0.20, structure=0.15, min_area=1e-3, grow=0.006),
    "medium": Thresholds(intensity=0.15, structure=0.30, min_area=5e-4, grow=0.010),
    "high": Thresholds(intensity=0.11, structure=0.50, min_area=2e-4, grow=0.014),
}


@dataclass
class DeghostResult:
    """Frames with moving content replaced, the motion mask of each, and the reference index."""

    frames: list[Frame]
    masks: list[np.ndarray]  # float32 (H, W) in [0, 1] per frame, 1 = taken from the reference; zeros for it
    reference: int  # 0-based, darkest first


def _luma_small(frame: Frame, size: tuple[int, int]) -> np.ndarray:
    d = frame.data
    scale = np.float32(1.0 / (65535.0 if d.dtype == np.uint16 else 255.0))
    small = cv2.resize(d, size, interpolation=cv2.INTER_AREA) if (d.shape[1], d.shape[0]) != size else d
    small = small.astype(np.float32) * scale
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small


def best_exposed_index(frames: Sequence[Frame]) -> int:
    """The frame with the most well-exposed pixels (Mertens' well-exposedness, mean over a small copy)."""
    scores = []
    for f in frames:
        h, w = f.data.shape[:2]
        s = min(1.0, 256.0 / max(h, w))
        y = _luma_small(f, (max(1, round(w * s)), max(1, round(h * s))))
        scores.append(float(np.exp(-((y - 0.5) ** 2) / (2 * 0.2**2)).mean()))
    return int(np.argmax(scores))


def intensity_mapping(src: np.ndarray, dst: np.ndarray, valid: np.ndarray | None = None, bins: int = BINS) -> np.ndarray:
    """The monotone function (``bins`` samples over [0, 1]) mapping ``src``'s values to ``dst``'s
    by matching their cumulative histograms (over ``valid`` pixels only, if given)."""
    if valid is not None and valid.sum() > 0.05 * valid.size:
        src, dst = src[valid], dst[valid]
    hs = np.histogram(src, bins, (0.0, 1.0))[0].astype(np.float64)
    hd = np.histogram(dst, bins, (0.0, 1.0))[0].astype(np.float64)
    cs = np.cumsum(hs) / max(hs.sum(), 1.0)
    cd = np.cumsum(hd) / max(hd.sum(), 1.0)
    centres = (np.arange(bins) + 0.5) / bins
    # the source bin's mid-quantile, looked up in the destination's quantile function
    q = cs - 0.5 * hs / max(hs.sum(), 1.0)
    return np.interp(q, cd - 0.5 * hd / max(hd.sum(), 1.0), centres).astype(np.float32)


def _apply_mapping(values: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    x = (np.arange(mapping.size, dtype=np.float32) + 0.5) / mapping.size
    return np.interp(values, x, mapping).astype(np.float32)


def _local_correlation(a: np.ndarray, b: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """SSIM's structure term (Gaussian window) and the smaller local standard deviation
    (correlation means something only where both have texture)."""
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), sigma)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va = np.maximum(blur(a * a) - ma * ma, 0)
    vb = np.maximum(blur(b * b) - mb * mb, 0)
    cov = blur(a * b) - ma * mb
    sa, sb = np.sqrt(va), np.sqrt(vb)
    c3 = np.float32(0.5 * (0.03**2))
    return (cov + c3) / (sa * sb + c3), np.minimum(sa, sb)


def _range_distance(values: np.ndarray, other: np.ndarray, smooth: float) -> np.ndarray:
    """How far ``values`` lie outside the local min-max range of ``other`` (radius ~ 2 * smooth px)."""
    r = max(1, int(round(2 * smooth)))
    kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    lo = cv2.erode(other, kernel)
    hi = cv2.dilate(other, kernel)
    return np.maximum(np.maximum(values - hi, lo - values), 0.0)


def _mapped_difference(ref: np.ndarray, img: np.ndarray, smooth: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one channel: the local difference after mapping each image to the other's exposure,
    on the reference's scale; also the reference mapped to this exposure and where both are comparable."""
    # Where the reference is clipped towards the side this frame shows more of (highlights
    # for a darker frame, shadows for a brighter one), it cannot be compared: every texture
    # of this frame maps onto the one clipped value, and the reference's content could not
    # replace anything. Nothing is masked there, nor next to it (glare, blur, compression).
    # Clipped the other way, it is comparable: this frame must be clipped there too.
    brighter = float(img.mean()) > float(ref.mean())
    lost = (ref <= CLIP_LOW) if brighter else (ref >= CLIP_HIGH)
    margin = max(3, max(ref.shape) // 100) | 1  # glare spreads from clipped areas
    ref_ok = cv2.dilate(lost.astype(np.uint8), np.ones((margin, margin), np.uint8)) == 0
    img_ok = (img > CLIP_LOW) & (img < CLIP_HIGH) & ref_ok
    fwd_map = intensity_mapping(ref, img)
    fwd = _apply_mapping(ref, fwd_map)  # the reference at this frame's exposure
    bwd = _apply_mapping(img, intensity_mapping(img, ref))  # this frame at the reference's exposure
    # both differences on the reference's scale: a frame darker than the reference
    # compresses its tones, so its differences are divided by the mapping's slope
    slope = np.clip(np.gradient(fwd_map.astype(np.float64)) * fwd_map.size, 0.25, 4.0)
    # distance to the range of the other image's values within a few pixels: a residual
    # misalignment of that much (or a slightly different blur) makes edges differ, not motion
    d_fwd = cv2.GaussianBlur(_range_distance(img, fwd, smooth) / _apply_mapping(ref, slope.astype(np.float32)), (0, 0), smooth)
    d_bwd = cv2.GaussianBlur(_range_distance(bwd, ref, smooth), (0, 0), smooth)
    # each direction counts where its starting image is informative
    return np.maximum(np.where(ref_ok, d_fwd, 0), np.where(img_ok, d_bwd, 0)), fwd, ref_ok & img_ok


def motion_mask(ref: np.ndarray, img: np.ndarray, level: str) -> np.ndarray:
    """Motion mask (float32 in [0, 1], HxW) of ``img`` against ``ref``: float [0, 1] RGB (HxWx3) or gray (HxW).

    Colour channels are compared one by one (an object can differ from the background in
    hue more than in brightness); structure is compared on luma.
    """
    t = LEVELS[level]
    h, w = ref.shape[:2]
    long_side = max(h, w)
    smooth = max(1.0, long_side / 512.0)  # noise would read as motion pixel by pixel
    if ref.ndim == 3:
        diffs = [_mapped_difference(np.ascontiguousarray(ref[:, :, c]), np.ascontiguousarray(img[:, :, c]), smooth)[0] for c in range(3)]
        diff = np.maximum(np.maximum(diffs[0], diffs[1]), diffs[2])
        ref_y, img_y = cv2.cvtColor(ref, cv2.COLOR_RGB2GRAY), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        _, fwd, both_ok = _mapped_difference(ref_y, img_y, smooth)
    else:
        ref_y, img_y = ref, img
        diff, fwd, both_ok = _mapped_difference(ref, img, smooth)
    corr, contrast = _local_correlation(fwd, img_y, 2.0 * smooth)
    structured = (contrast > 0.03) & both_ok
    moved = (diff > t.intensity) | (structured & (corr < t.structure))
    m = moved.astype(np.uint8)
    k3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    m = cv2.morphologyEx(m, cv2.MORPH_OPEN, k3)
    close = max(3, int(long_side * 0.008) | 1)
    m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    min_px = t.min_area * h * w
    keep = np.zeros(n, np.uint8)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_px
    m = keep[labels]
    if not m.any():
        return np.zeros((h, w), np.float32)
    grow = max(1, int(round(t.grow * long_side)))
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    soft = cv2.GaussianBlur(m.astype(np.float32), (0, 0), grow / 2.0)
    # the grown blob's interior stays 1; the feather spans its outer half (no hard seam)
    return (np.clip(soft * 2.0, 0.0, 1.0) * (soft > 0.01)).astype(np.float32)


def _channel_mappings(ref: np.ndarray, img: np.ndarray, still: np.ndarray) -> list[np.ndarray]:
    """Per-channel mapping of the reference to this frame's exposure (small float RGB copies)."""
    if ref.ndim == 2:
        return [intensity_mapping(ref, img, still)]
    return [intensity_mapping(ref[:, :, c], img[:, :, c], still) for c in range(3)]


def _small_float(frame: Frame, size: tuple[int, int]) -> np.ndarray:
    d = frame.data
    small = cv2.resize(d, size, interpolation=cv2.INTER_AREA) if (d.shape[1], d.shape[0]) != size else d
    return small.astype(np.float32) * np.float32(1.0 / (65535.0 if d.dtype == np.uint16 else 255.0))


def _pseudo_exposure_fill(frame: Frame, reference: Frame, mask: np.ndarray, mappings: list[np.ndarray]) -> np.ndarray:
    """``frame``'s pixels with the masked part taken from the reference mapped to its exposure.

    Only rows the mask touches are computed (the mask is usually small)."""
    data = frame.data
    top = 65535.0 if data.dtype == np.uint16 else 255.0
    levels = 65536 if data.dtype == np.uint16 else 256
    x = (np.arange(levels, dtype=np.float32) + 0.5) / levels
    luts = [(np.interp(x, (np.arange(m.size) + 0.5) / m.size, m) * top).astype(np.float32) for m in mappings]
    out = data.copy()
    rows = np.flatnonzero(mask.max(axis=1) > 0)
    if rows.size == 0:
        return out
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(mask[r0:r1].max(axis=0) > 0)
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    ref = reference.data[r0:r1, c0:c1]
    if ref.ndim == 2:
        pseudo = luts[0][ref]
    else:
        pseudo = np.stack([luts[c][ref[:, :, c]] for c in range(3)], axis=2)
    m = mask[r0:r1, c0:c1]
    if data.ndim == 3:
        m = m[:, :, None]
    orig = data[r0:r1, c0:c1].astype(np.float32)
    blended = orig + (pseudo - orig) * m
    out[r0:r1, c0:c1] = np.clip(np.round(blended), 0, top).astype(data.dtype)
    return out


def deghost_frames(frames: Sequence[Frame], level: str, reference: int | None = None) -> DeghostResult:
    """Replace what moved in each frame by the reference's content (at that frame's exposure).

    ``frames``: one size, darkest first (aligned already). ``reference``: 0-based index,
    None for the best-exposed frame. ``level`` 'off' returns the frames untouched.
    """
    if level not in DEGHOST_LEVELS:
        raise InputError(f"unknown deghosting level {level!r} (choose from {', '.join(DEGHOST_LEVELS)})")
    n = len(frames)
    if reference is not None and not 0 <= reference < n:
        raise InputError(f"reference frame {reference + 1} does not exist (the bracket has {n} frames, 1-{n})")
    ref_idx = best_exposed_index(frames) if reference is None else reference
    h, w = frames[0].data.shape[:2]
    if level == "off":
        return DeghostResult(list(frames), [np.zeros((h, w), np.float32) for _ in frames], ref_idx)
    s = min(1.0, DETECT_SIZE / max(h, w))
    size = (max(8, round(w * s)), max(8, round(h * s)))
    ref_frame = frames[ref_idx]
    ref_small = _small_float(ref_frame, size)
    out_frames: list[Frame] = []
    masks: list[np.ndarray] = []
    for i, frame in enumerate(frames):
        if i == ref_idx:
            out_frames.append(frame)
            masks.append(np.zeros((h, w), np.float32))
            continue
        small = _small_float(frame, size)
        mask_small = motion_mask(ref_small, small, level)
        if not mask_small.any():
            out_frames.append(frame)
            masks.append(np.zeros((h, w), np.float32))
            continue
        still = mask_small < 0.01
        mappings = _channel_mappings(ref_small, small, still)
        mask = mask_small if size == (w, h) else cv2.resize(mask_small, (w, h), interpolation=cv2.INTER_LINEAR)
        data = _pseudo_exposure_fill(frame, ref_frame, mask, mappings)
        out_frames.append(replace(frame, data=data))
        masks.append(mask)
    return DeghostResult(out_frames, masks, ref_idx)


def masked_fraction(mask: np.ndarray) -> float:
    """Share of the image a mask replaces (0-1)."""
    return float(mask.mean()) if mask.size else 0.0
