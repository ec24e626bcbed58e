"""Guided filtering to lift low-resolution weight maps to full resolution.

The fast guided filter (He & Sun 2015), as MEF-Net uses it: the linear
coefficients (a, b) of the guided filter are computed at the working
resolution, upsampled bilinearly, and applied to the full-resolution guide.
Cost at full resolution is one resize of a and b and a multiply-add
(:func:`hdrdesk.core.fusion.lift_weights` applies the coefficients).

Borders: OpenCV's BORDER_REFLECT (``fedcba|abcdef``) here, while the gamma maps use
kornia's reflect-101 (``fedcb|abcdef``). Both are intended and independent: the guided
coefficients only lift weights and never meet the loss's gamma maps; the two modes
differ within ``radius`` pixels of the border only.
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
