"""Alignment of hand-held brackets.

A translation from OpenCV's median-threshold-bitmap aligner (exposure
invariant), refined by ECC (euclidean, or homography when it fits clearly
better) on a reduced copy. A guard keeps the unaligned frame when the aligned
one matches the reference worse than it did before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from hdrdesk.core.io import Frame

ECC_SIZE = 1024  # long side of the copy ECC runs on


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


def _normalise(gray: np.ndarray) -> np.ndarray:
    """Exposure-invariant view for ECC: gradient magnitude of an equalised image."""
    eq = cv2.equalizeHist(gray).astype(np.float32) / 255.0
    gx = cv2.Sobel(eq, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(eq, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 1.0)


def _score(ref: np.ndarray, img: np.ndarray) -> float:
    """Correlation of the two normalised views over the central region (higher is better)."""
    h, w = ref.shape
    m = max(4, min(h, w) // 20)
    a = ref[m:-m, m:-m].ravel() - ref[m:-m, m:-m].mean()
    b = img[m:-m, m:-m].ravel() - img[m:-m, m:-m].mean()
    den = float(np.linalg.norm(a) * np.linalg.norm(b)) + 1e-12
    return float(a @ b) / den


def _warp(data: np.ndarray, matrix: np.ndarray, homography: bool) -> np.ndarray:
    h, w = data.shape[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    if homography:
        return cv2.warpPerspective(data, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)
    return cv2.warpAffine(data, matrix, (w, h), flags=flags, borderMode=cv2.BORDER_REFLECT)


def align_frames(frames: list[Frame], reference: int | None = None, progress=None) -> tuple[list[Frame], list[AlignInfo]]:
    """Align every frame to the reference (default: the middle exposure)."""
    n = len(frames)
    ref_idx = n // 2 if reference is None else reference
    grays = [_gray8(f) for f in frames]
    h, w = grays[0].shape
    scale = min(1.0, ECC_SIZE / max(h, w))
    small = [cv2.resize(g, (max(8, int(w * scale)), max(8, int(h * scale))), interpolation=cv2.INTER_AREA) for g in grays]
    views = [_normalise(s) for s in small]
    mtb = cv2.createAlignMTB(max_bits=5, exclude_range=4, cut=True)
    out: list[Frame] = []
    infos: list[AlignInfo] = []
    for i, frame in enumerate(frames):
        if progress is not None:
            progress(i / n)
        info = AlignInfo(name=frame.path.name)
        if i == ref_idx:
            info.note = "reference"
            out.append(frame)
            infos.append(info)
            continue
        try:
            shift = mtb.calculateShift(small[ref_idx], small[i])  # moves image i onto the reference
            warp = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]]], np.float32)
            criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
            _, warp = cv2.findTransformECC(views[ref_idx], views[i], warp, cv2.MOTION_EUCLIDEAN, criteria, None, 5)
            model, matrix = "euclidean", warp
            before = _score(views[ref_idx], views[i])
            after = _score(views[ref_idx], _warp(views[i], warp, False))
            try:
                hom = np.vstack([warp, [0, 0, 1]]).astype(np.float32)
                _, hom = cv2.findTransformECC(views[ref_idx], views[i], hom, cv2.MOTION_HOMOGRAPHY, criteria, None, 5)
                after_h = _score(views[ref_idx], _warp(views[i], hom, True))
                if after_h > after + 0.01:  # only when it clearly helps: homographies overfit easily
                    model, matrix, after = "homography", hom, after_h
            except cv2.error:
                pass
        except cv2.error as exc:
            info.note = f"alignment failed: {str(exc).splitlines()[-1][:80]}"
            out.append(frame)
            infos.append(info)
            continue
        dx, dy = float(matrix[0, 2]) / scale, float(matrix[1, 2]) / scale
        rot = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
        moved = abs(dx) > 0.25 or abs(dy) > 0.25 or abs(rot) > 0.01 or model == "homography"
        if not moved:
            info.note = "already aligned"
            out.append(frame)
        elif after <= before:
            info.note = "alignment made it worse; kept as shot"
            out.append(frame)
        else:
            full = matrix.copy()
            if model == "homography":
                s = np.diag([scale, scale, 1.0]).astype(np.float32)
                full = np.linalg.inv(s) @ full @ s
            else:
                full[:, 2] /= scale
            data = _warp(frame.data, full.astype(np.float32), model == "homography")
            out.append(Frame(path=frame.path, data=data, exposure=frame.exposure, exif_bytes=frame.exif_bytes))
            info = AlignInfo(name=frame.path.name, applied=True, model=model, dx=dx, dy=dy, rotation_deg=rot)
        infos.append(info)
    if progress is not None:
        progress(1.0)
    return out, infos
