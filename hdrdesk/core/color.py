"""Colour conversions (BT.601 YCbCr on [0, 1], as JPEG and MEF-Net use)."""

from __future__ import annotations

import cv2
import numpy as np

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 RGB [0,1] HxWx3 -> (Y, Cb, Cr), each HxW float32; Cb/Cr centred on 0.5."""
    ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2YCrCb)
    y, cr, cb = cv2.split(ycrcb)
    return y, cb, cr


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(cv2.merge([y, cr, cb]), cv2.COLOR_YCrCb2RGB)
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of float RGB, HxW float32."""
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32), cv2.COLOR_RGB2GRAY)
