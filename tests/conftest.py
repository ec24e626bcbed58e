"""Shared fixtures. Qt runs offscreen; settings and user folders go to temp dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
BRACKETS = SHARED / "data" / "brackets"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's real data/log folders or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    yield


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


@pytest.fixture
def bracket_files(tmp_path) -> list[Path]:
    """Three PNG exposures (-2, 0, +2 EV) of a synthetic scene, written in shuffled name order."""
    import cv2

    rad = make_scene()
    paths = []
    for name, ev in (("b_mid.png", 0.0), ("a_bright.png", 2.0), ("c_dark.png", -2.0)):
        p = tmp_path / name
        cv2.imwrite(str(p), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths
