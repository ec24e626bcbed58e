"""Synthetic brackets for tests (a module of its own: tests/ and tests/gui/ both have a conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BRACKETS = SHARED / "data" / "brackets"


def make_scene(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """A synthetic linear radiance map with texture in darks and highlights (HxWx3, float32)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.exp2(8.0 * xx / max(w - 1, 1) - 4.0)  # 8 stops left to right
    texture = 1.0 + 0.35 * np.sin(xx / 3.0) * np.cos(yy / 4.0) + 0.1 * rng.standard_normal((h, w)).astype(np.float32)
    rad = base * np.clip(texture, 0.2, None)
    tint = np.stack([np.ones_like(rad), 0.8 + 0.2 * yy / h, 0.6 + 0.4 * (1 - yy / h)], axis=2)
    return (rad[:, :, None] * tint).astype(np.float32)


def expose(radiance: np.ndarray, ev: float) -> np.ndarray:
    """A camera frame: exposure, gamma 1/2.2, clip, 8-bit."""
    v = np.clip(radiance * np.exp2(ev) * 0.18, 0, 1) ** (1 / 2.2)
    return (v * 255 + 0.5).astype(np.uint8)
