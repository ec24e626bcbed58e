"""Guided filtering to lift low-resolution weight maps to full resolution.

The fast guided filter (He & Sun 2015), as MEF-Net uses it: the linear
coefficients (a, b) of the guided filter are computed at the working
resolution, upsampled bilinearly, and applied to the full-resolution guide.
Cost at full resolution is one resize of a and b and a multiply-add.
"""

from __future__ import annotations

import cv2
import numpy as np


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients a, b (box-averaged) such that output = a * guide + b."""
    mean_i = _box(guide, radius)
    mean_p = _box(src, radius)
    cov_ip = _box(guide * src, radius) - mean_i * mean_p
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, radius), _box(b, radius)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int = 4, eps: float = 1e-3) -> np.ndarray:
    """Plain guided filter at one resolution (float32 HxW)."""
    a, b = guided_coefficients(guide, src, radius, eps)
    return a * guide + b


def guided_upsample(
    guide_low: np.ndarray, src_low: np.ndarray, guide_full: np.ndarray, radius: int = 2, eps: float = 1e-3
) -> np.ndarray:
    """Fast guided upsampling: coefficients at low resolution, applied to the full-resolution guide."""
    a, b = guided_coefficients(guide_low, src_low, radius, eps)
    h, w = guide_full.shape[:2]
    if a.shape[:2] != (h, w):
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    out = cv2.multiply(a, guide_full)
    cv2.add(out, b, dst=out)
    return out
