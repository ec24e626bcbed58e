"""Helpers for the GUI tests (synthetic brackets, waiting for a fusion)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def synthetic_bracket(h: int, w: int, evs=(-2.0, 0.0, 2.0), seed: int = 0) -> list[np.ndarray]:
    """8-bit RGB exposures of one synthetic scene (a radiance ramp over 8 stops with texture).

    Multi-megapixel frames are rendered at half size and enlarged (quicker; the test data only
    has to be big, not detailed).
    """
    if h * w > 1_500_000:
        small = synthetic_bracket((h + 1) // 2, (w + 1) // 2, evs, seed)
        return [cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR) for a in small]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.exp2(8.0 * xx / max(w - 1, 1) - 4.0)
    texture = 1.0 + 0.35 * np.sin(xx / 3.0) * np.cos(yy / 4.0) + 0.05 * rng.standard_normal((h, w)).astype(np.float32)
    rad = base * np.clip(texture, 0.2, None)
    tint = np.stack([np.ones_like(rad), 0.8 + 0.2 * yy / h, 0.6 + 0.4 * (1 - yy / h)], axis=2)
    rad = rad[:, :, None] * tint
    out = []
    for ev in evs:
        v = np.clip(rad * np.exp2(ev) * 0.18, 0, 1) ** (1 / 2.2)
        out.append((v * 255 + 0.5).astype(np.uint8))
    return out


def write_bracket(folder: Path, h: int = 48, w: int = 72, names=("b_mid.png", "a_bright.png", "c_dark.png"), evs=(0.0, 2.0, -2.0)) -> list[Path]:
    """Write exposures (names deliberately not in brightness order); returns the paths in written order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, img in zip(names, synthetic_bracket(h, w, evs)):
        p = folder / name
        params = [cv2.IMWRITE_TIFF_COMPRESSION, 1] if name.endswith(".tif") else []
        assert cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)
        paths.append(p)
    return paths


def load_and_fuse(qtbot, window, paths, timeout=60000):
    """Open ``paths`` and wait for the fused result."""
    with qtbot.waitSignal(window.resultReady, timeout=timeout) as blocker:
        window.open_paths(paths)
    return blocker.args[0]
