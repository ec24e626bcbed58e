"""Alignment of hand-held brackets.

Every frame is registered to the reference (the middle exposure) on a reduced copy
(long side ``ECC_SIZE``): an initial translation from OpenCV's median-threshold-bitmap
aligner (exposure invariant), then ECC (euclidean: shift and rotation) coarse to fine
over ``ECC_LEVELS`` pyramid levels; a homography is tried from that solution and kept
only when it matches clearly better. ECC compares histogram-equalised luma: equalising
maps differently exposed frames onto one tone scale, and ECC's correlation absorbs what
remains (gradient-magnitude views, used before, lose their structure where a frame is
clipped and pulled over-exposed frames off by pixels). A guard keeps the unaligned
frame when the aligned one matches the reference worse than it did before.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import cv2
import numpy as np

from hdrdesk.core.io import Frame

ECC_SIZE = 1024  # long side of the copy ECC runs on
ECC_LEVELS = 3  # coarse-to-fine pyramid levels of that copy
ALIGN_WORKERS = 2  # frames registered at a time
MIN_ALIGN_SIDE = 32  # frames with a shorter short side are not aligned
MOVE_THRESHOLD_PX = 0.25  # below this (full-resolution pixels, at any corner) a frame counts as aligned
HOMOGRAPHY_GAIN = 0.02  # a homography must raise the match score by this much to be used
# A homography is only tried when the frame moved at least this much (full-resolution px):
# perspective change comes from turning the camera, which also shifts the image.
HOMOGRAPHY_MIN_MOTION_PX = 2.0
FEATURES = 3000  # features per view for the hand-held start (SIFT/ORB)
MIN_FEATURE_MATCHES = 12
# the feature start is tried when it disagrees with MTB's by more than this (ECC-copy pixels)
FEATURE_DISAGREEMENT_PX = 2.0
MTB_REACH_PX = 24  # an MTB shift this large (ECC-copy pixels) may be cut off by its +-31 px range
FEATURE_SCORE_BELOW = 0.6  # an ECC match scoring below this (detail correlation) may be a wrong optimum
CLIP_LOW, CLIP_HIGH = 3, 252  # 8-bit luma at or beyond these is clipped: no structure to align on
_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
# The finest level only refines what the coarser ones found: a well-posed pair converges
# in a few iterations; an ill-posed one (sky, water) would wander for all 50 at the
# largest size (0.8 s on a 12 MP pair) without getting better.
_CRITERIA_FINEST = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 8, 1e-4)


@dataclass
class AlignInfo:
    """What was done to one frame."""

    name: str
    applied: bool = False
    model: str = "none"  # none | translation | euclidean | homography
    dx: float = 0.0
    dy: float = 0.0
    rotation_deg: float = 0.0
    note: str = ""
    # the applied warp at full resolution (2x3 affine or 3x3 homography; maps reference
    # pixel coordinates to the frame's, as cv2.WARP_INVERSE_MAP uses it); None if not moved
    matrix: np.ndarray | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        if not self.applied:
            return f"{self.name}: not moved" + (f" ({self.note})" if self.note else "")
        text = f"{self.name}: {self.model} dx={self.dx:+.1f}px dy={self.dy:+.1f}px"
        if abs(self.rotation_deg) > 0.005:
            text += f" rot={self.rotation_deg:+.2f}deg"
        return text


def _gray8(frame: Frame) -> np.ndarray:
    d = frame.data
    if d.dtype == np.uint16:
        d = (d >> 8).astype(np.uint8)
    return cv2.cvtColor(d, cv2.COLOR_RGB2GRAY) if d.ndim == 3 else d


def _small_gray(frame: Frame, sw: int, sh: int) -> np.ndarray:
    """8-bit grey copy of ``frame`` resized to ``sw`` x ``sh`` (area averaging)."""
    g = _gray8(frame)
    return g if g.shape[::-1] == (sw, sh) else cv2.resize(g, (sw, sh), interpolation=cv2.INTER_AREA)


def _normalise(gray: np.ndarray) -> np.ndarray:
    """Exposure-invariant view for ECC: the histogram-equalised luma, lightly smoothed."""
    eq = cv2.equalizeHist(gray).astype(np.float32)
    eq *= np.float32(1.0 / 255.0)
    return cv2.GaussianBlur(eq, (0, 0), 1.0)


def _score(ref: np.ndarray, img: np.ndarray) -> float:
    """Correlation of the two views' fine detail over the central region (higher is better).

    Band-pass (the view minus a blurred copy): a misalignment of a pixel barely changes the
    correlation of whole images, dominated by their smooth gradients, but ruins that of detail.
    """
    h, w = ref.shape
    m = max(1, min(h, w) // 20)
    if (h - 2 * m) * (w - 2 * m) < 16:
        return 0.0
    a = cv2.subtract(ref, cv2.GaussianBlur(ref, (0, 0), 4.0))[m : h - m, m : w - m]
    b = cv2.subtract(img, cv2.GaussianBlur(img, (0, 0), 4.0))[m : h - m, m : w - m]
    a = np.ascontiguousarray(a).ravel()
    b = np.ascontiguousarray(b).ravel()
    a -= a.mean(dtype=np.float64)
    b -= b.mean(dtype=np.float64)
    den = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b))) + 1e-12
    return float(np.dot(a, b)) / den


def _warp(data: np.ndarray, matrix: np.ndarray, homography: bool) -> np.ndarray:
    h, w = data.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if homography:
        return cv2.warpPerspective(data, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    return cv2.warpAffine(data, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)


def _pyramid(view: np.ndarray, levels: int) -> list[np.ndarray]:
    """[finest, ..., coarsest]; stops before a level's short side falls under 16 px."""
    pyr = [view]
    for _ in range(levels - 1):
        h, w = pyr[-1].shape
        if min(h, w) < 32:
            break
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def _scale_matrix(m: np.ndarray, s: float) -> np.ndarray:
    """The same motion on an image scaled by ``s`` (pixel centres at integer coordinates)."""
    if m.shape[0] == 2:
        out = m.copy()
        out[:, 2] *= s
        return out
    d = np.diag([s, s, 1.0]).astype(np.float64)
    return (d @ m.astype(np.float64) @ np.linalg.inv(d)).astype(np.float32)


def _valid_mask(ref_gray: np.ndarray, img_gray: np.ndarray) -> np.ndarray | None:
    """Pixels that are clipped in neither frame (eroded a little for small motions); None if too few.

    Clipped areas are flat in one frame and textured in the other; left in, they pull ECC
    off by a fraction of a pixel (an aligned +2 EV frame came out 0.25 px off).
    """
    ok = (ref_gray > CLIP_LOW) & (ref_gray < CLIP_HIGH) & (img_gray > CLIP_LOW) & (img_gray < CLIP_HIGH)
    mask = cv2.erode(ok.astype(np.uint8), np.ones((5, 5), np.uint8))
    if cv2.countNonZero(mask) < 0.05 * mask.size:
        return None
    return mask


def _ecc(
    ref_pyr: list[np.ndarray], img_pyr: list[np.ndarray], warp: np.ndarray, motion: int, levels: int | None = None,
    mask: np.ndarray | None = None, refine: bool = False,
) -> np.ndarray:
    """Coarse-to-fine ECC; ``warp`` is in finest-level pixels. Raises cv2.error if it fails to converge.

    ``refine``: ``warp`` is already close (few iterations suffice even on one level)."""
    n = min(len(ref_pyr), len(img_pyr)) if levels is None else levels
    w = warp.astype(np.float32)
    for lvl in range(n - 1, -1, -1):
        s = 0.5**lvl
        wl = _scale_matrix(w, s)
        ml = None
        if mask is not None:
            lh, lw = img_pyr[lvl].shape
            ml = mask if mask.shape == (lh, lw) else cv2.resize(mask, (lw, lh), interpolation=cv2.INTER_NEAREST)
        criteria = _CRITERIA_FINEST if lvl == 0 and (n > 1 or refine) else _CRITERIA
        _, wl = cv2.findTransformECC(ref_pyr[lvl], img_pyr[lvl], wl, motion, criteria, ml, 5)
        w = _scale_matrix(wl, 1.0 / s)
    return w


def _try_homography(
    ref_pyr: list[np.ndarray], img_pyr: list[np.ndarray], euclid: np.ndarray, mask: np.ndarray | None
) -> np.ndarray | None:
    """A homography from the euclidean solution, if it looks worth it on the half-size level
    (4x cheaper to find); refined at full size. None when the euclidean warp fits as well."""
    hom = np.vstack([euclid, [0, 0, 1]]).astype(np.float32)
    if len(ref_pyr) > 1:
        s = 0.5
        ref1, img1 = ref_pyr[1], img_pyr[1]
        h1 = _ecc(ref_pyr[1:], img_pyr[1:], _scale_matrix(hom, s), cv2.MOTION_HOMOGRAPHY, levels=1, mask=mask, refine=True)
        if _score(ref1, _warp(img1, h1, True)) <= _score(ref1, _warp(img1, _scale_matrix(euclid, s), False)) + HOMOGRAPHY_GAIN:
            return None
        hom = _scale_matrix(h1, 1.0 / s)
    return _ecc(ref_pyr, img_pyr, hom, cv2.MOTION_HOMOGRAPHY, levels=1, mask=mask, refine=True)


def _feature_detector():
    """SIFT (exposure-robust on equalised views) where OpenCV has it, else ORB."""
    if hasattr(cv2, "SIFT_create"):
        return cv2.SIFT_create(nfeatures=FEATURES), cv2.NORM_L2
    return cv2.ORB_create(nfeatures=FEATURES), cv2.NORM_HAMMING


def _features(detector, gray: np.ndarray):
    return detector.detectAndCompute(cv2.equalizeHist(gray), None)


def _feature_warp(ref_feats, img_feats, norm: int) -> np.ndarray | None:
    """Rotation + shift (2x3, reference -> frame coordinates) from matched features, RANSAC; None if unsure.

    Hand-held frames can move by more than MTB's search range (about 3 % of the width
    here) and turn by degrees, which MTB does not model: features give ECC a start it
    converges from."""
    (kp1, d1), (kp2, d2) = ref_feats, img_feats
    if d1 is None or d2 is None or len(kp1) < MIN_FEATURE_MATCHES or len(kp2) < MIN_FEATURE_MATCHES:
        return None
    pairs = cv2.BFMatcher(norm).knnMatch(d1, d2, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < MIN_FEATURE_MATCHES:
        return None
    src = np.float32([kp1[m.queryIdx].pt for m in good])
    dst = np.float32([kp2[m.trainIdx].pt for m in good])
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=2.0, maxIters=4000)
    if m is None or inliers is None or int(inliers.sum()) < MIN_FEATURE_MATCHES:
        return None
    scale = math.hypot(m[0, 0], m[1, 0])
    if not 0.9 < scale < 1.1:  # a bracket does not zoom: a wrong model
        return None
    m[:, :2] /= scale  # rotation only (ECC's euclidean model)
    return m.astype(np.float32)


def _as3(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return m if m.shape[0] == 3 else np.vstack([m, [0, 0, 1]])


def _max_displacement(matrix: np.ndarray, w: int, h: int) -> float:
    """Largest movement of the image corners under ``matrix`` (same pixels as w, h)."""
    pts = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64).T
    m = matrix.astype(np.float64)
    moved = m @ pts
    if m.shape[0] == 3:
        moved = moved[:2] / moved[2:]
    return float(np.abs(moved - pts[:2]).max())


def align_frames(
    frames: list[Frame], reference: int | None = None, progress=None, size: int = ECC_SIZE, *, release: bool = False
) -> tuple[list[Frame], list[AlignInfo]]:
    """Align every frame to the reference (default: the middle exposure), registering copies whose
    long side is ``size`` (smaller: faster and coarser, as for a preview).

    ``release=True``: the caller gives ``frames`` up; each original is replaced in that list by
    its aligned copy as soon as the copy exists, so that at most one original and its copy
    coexist (a 9-frame bracket otherwise holds every original and every copy at once).
    """
    n = len(frames)
    ref_idx = n // 2 if reference is None else reference
    h, w = frames[0].data.shape[:2]
    if min(h, w) < MIN_ALIGN_SIDE:
        infos = [AlignInfo(name=f.path.name, note="reference" if i == ref_idx else f"too small to align ({w}x{h})") for i, f in enumerate(frames)]
        return list(frames), infos
    scale = min(1.0, size / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = [_small_gray(f, sw, sh) for f in frames]
    # actual scale per axis after rounding (full-resolution pixel = small pixel / s)
    sx, sy = sw / w, sh / h
    views = [_normalise(s) for s in small]
    pyrs = [_pyramid(v, ECC_LEVELS) for v in views]
    threshold = MOVE_THRESHOLD_PX
    ref_feats: list = []  # the reference's features, made once, when a frame first needs them
    feats_lock = threading.Lock()

    def reference_features():
        with feats_lock:
            if not ref_feats:
                ref_feats.append(_features(_feature_detector()[0], small[ref_idx]))
            return ref_feats[0]

    def align_one(i: int) -> tuple[Frame, AlignInfo]:
        """Register frame i on the reference and warp it (thread-safe: frames are independent)."""
        frame = frames[i]
        info = AlignInfo(name=frame.path.name)
        if i == ref_idx:
            info.note = "reference"
            return frame, info
        try:
            mtb = cv2.createAlignMTB(max_bits=5, exclude_range=4, cut=True)  # one per call: threads share no OpenCV object
            shift = mtb.calculateShift(small[ref_idx], small[i])  # moves image i onto the reference
            start = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]]], np.float32)
            mask = _valid_mask(small[ref_idx], small[i])
            before = _score(views[ref_idx], views[i])
            warp, after, failure = None, -2.0, None
            try:
                warp = _ecc(pyrs[ref_idx], pyrs[i], start, cv2.MOTION_EUCLIDEAN, mask=mask)
                after = _score(views[ref_idx], _warp(views[i], warp, False))
            except cv2.error as exc:
                failure = exc
            # Hand-held frames can be beyond MTB's reach (about +-31 px here) or turned by
            # degrees: then features give a second start. Only then (SIFT costs CPU time the
            # other threads, the UI's included, would miss on every bracket).
            if warp is None or max(abs(shift[0]), abs(shift[1])) >= MTB_REACH_PX or after < FEATURE_SCORE_BELOW:
                detector, norm = _feature_detector()
                feature_start = _feature_warp(reference_features(), _features(detector, small[i]), norm)
                if feature_start is not None and _max_displacement(_as3(feature_start) @ np.linalg.inv(_as3(start)), sw, sh) > FEATURE_DISAGREEMENT_PX:
                    try:
                        w_try = _ecc(pyrs[ref_idx], pyrs[i], feature_start, cv2.MOTION_EUCLIDEAN, mask=mask)
                        sc = _score(views[ref_idx], _warp(views[i], w_try, False))
                        if sc > after:
                            warp, after = w_try, sc
                    except cv2.error as exc:
                        failure = failure or exc
            if warp is None:
                raise failure if failure is not None else cv2.error("no start converged")
            model, matrix = "euclidean", warp
            if _max_displacement(warp, sw, sh) * (1.0 / min(sx, sy)) > max(threshold, HOMOGRAPHY_MIN_MOTION_PX):
                try:
                    hom = _try_homography(pyrs[ref_idx], pyrs[i], warp, mask)
                    if hom is not None:
                        after_h = _score(views[ref_idx], _warp(views[i], hom, True))
                        if after_h > after + HOMOGRAPHY_GAIN:  # only when it clearly helps: homographies overfit easily
                            model, matrix, after = "homography", hom, after_h
                except cv2.error:
                    pass
        except cv2.error as exc:
            info.note = f"alignment failed: {str(exc).strip().splitlines()[-1][:80]}"
            return frame, info
        # to full resolution
        if model == "homography":
            d = np.diag([sx, sy, 1.0])
            full = (np.linalg.inv(d) @ matrix.astype(np.float64) @ d).astype(np.float32)
        else:
            full = matrix.astype(np.float64).copy()
            full[0, 1] *= sy / sx
            full[1, 0] *= sx / sy
            full[0, 2] /= sx
            full[1, 2] /= sy
            full = full.astype(np.float32)
        dx, dy = float(full[0, 2]), float(full[1, 2])
        rot = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
        moved = _max_displacement(full, w, h) > threshold
        if not moved:
            info.note = "already aligned"
            return frame, info
        if after <= before:
            info.note = "alignment made it worse; kept as shot"
            return frame, info
        aligned = Frame(
            path=frame.path, data=_warp(frame.data, full, model == "homography"), exposure=frame.exposure,
            exif_bytes=frame.exif_bytes, icc_profile=frame.icc_profile,
        )
        if release:
            frames[i] = aligned  # with release, the original goes when this call returns
        return aligned, AlignInfo(name=frame.path.name, applied=True, model=model, dx=dx, dy=dy, rotation_deg=rot, matrix=full)

    # Frames register independently and ECC is single-threaded: two at a time on long brackets.
    out: list[Frame] = [None] * n  # type: ignore[list-item]
    infos: list[AlignInfo] = [None] * n  # type: ignore[list-item]
    if n > 2 and ALIGN_WORKERS > 1:
        with ThreadPoolExecutor(ALIGN_WORKERS, thread_name_prefix="hdrdesk-align") as pool:
            futures = {pool.submit(align_one, i): i for i in range(n)}
            try:
                for done, fut in enumerate(as_completed(futures)):
                    out[futures[fut]], infos[futures[fut]] = fut.result()
                    if progress is not None:
                        progress((done + 1) / n)
            finally:
                for fut in futures:
                    fut.cancel()
    else:
        for i in range(n):
            if progress is not None:
                progress(i / n)
            out[i], infos[i] = align_one(i)
    if progress is not None:
        progress(1.0)
    return out, infos
