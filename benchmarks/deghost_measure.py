"""Measure deghosting: MEF-SSIMd on real scenes with motion, ghost error on brackets with a pasted object.

Not part of the app: MEF-SSIMd (shared/tools/mefssimd.py, research licence) is only used to measure.

    python benchmarks/deghost_measure.py real SCENE... [--method mertens] [--align]
    python benchmarks/deghost_measure.py pasted SCENE... [--method mertens]

``real``: MEF-SSIMd (dynamic-scene MEF-SSIM) of the fusion of each scene's frames at every
deghosting level. ``pasted``: a static scene gets a textured object pasted at a different
place in every frame (scaled to each frame's exposure through the frames' estimated
exposure ratios); the fusion of the bracket without the object is the target. Reports the
ghost error (mean absolute difference to the target, 8-bit levels, over the places where
the object was in frames other than the reference), the error elsewhere, and MEF-SSIMd.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
BRACKETS = SHARED / "data" / "brackets"

from hdrdesk.core.deghost import best_exposed_index  # noqa: E402
from hdrdesk.core.fusion import FusionOptions, fuse_frames  # noqa: E402
from hdrdesk.core.io import Frame, harmonise, list_images, order_frames, read_frame  # noqa: E402

LEVELS = ("off", "low", "medium", "high")


def _mefssimd():
    spec = importlib.util.spec_from_file_location("mefssimd", SHARED / "tools" / "mefssimd.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _to8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def score_d(mod, frames: list[np.ndarray], fused: np.ndarray) -> float:
    """MEF-SSIMd of a fused RGB image against RGB frames (gray as the tool's score_files does)."""
    seq = np.stack([mod.rgb2gray(_to8(f)) for f in frames], axis=2)
    return float(mod.mef_ssim_d(seq, mod.rgb2gray(_to8(fused))))


def load(scene: str) -> list[Frame]:
    files = list_images(BRACKETS / scene)
    return order_frames(harmonise([read_frame(f, colour_manage=False) for f in files]))


def fuse(frames, method: str, level: str):
    return fuse_frames(frames, FusionOptions(method=method, align=False, deghost=level, keep_weights=False))


def real(scenes, method: str, align: bool) -> list[dict]:
    mod = _mefssimd()
    rows = []
    for scene in scenes:
        frames = load(scene)
        if align:  # aligned once; every level fuses and is scored on the same aligned frames
            from hdrdesk.core.align import align_frames

            frames = align_frames(frames)[0]
        row = {"scene": scene, "frames": len(frames)}
        for level in LEVELS:
            t0 = time.perf_counter()
            res = fuse(frames, method, level)
            row[level] = round(score_d(mod, [f.data for f in frames], res.image), 4)
            if res.motion_masks is not None:
                row[f"{level}_masked"] = round(float(np.mean([m.mean() for m in res.motion_masks])), 4)
            row[f"{level}_s"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _object(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured, coloured disc in linear light (radiance at the reference exposure) and its soft alpha."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(yy - size / 2, xx - size / 2) / (size / 2)
    alpha = np.clip((1.0 - r) * 8, 0, 1)
    base = rng.uniform(0.05, 0.6, 3).astype(np.float32)
    stripes = 0.6 + 0.4 * np.sin(xx / 3.0 + rng.uniform(0, 6)) * np.cos(yy / 5.0)
    return base[None, None, :] * stripes[:, :, None], alpha


def _linear(img8: np.ndarray) -> np.ndarray:
    return (img8.astype(np.float32) / 255.0) ** 2.2


def _exposure_ratios(frames: list[np.ndarray], ref: int) -> list[float]:
    """Each frame's exposure relative to the reference: median linear ratio over pixels well exposed in both."""
    lin_ref = _linear(frames[ref]).mean(axis=2)
    out = []
    for f in frames:
        lin = _linear(f).mean(axis=2)
        ok = (lin_ref > 0.01) & (lin_ref < 0.7) & (lin > 0.01) & (lin < 0.7)
        out.append(float(np.median(lin[ok] / lin_ref[ok])) if ok.sum() > 100 else 1.0)
    return out


def paste_bracket(frames8: list[np.ndarray], ref: int, seed: int = 0) -> tuple[list[np.ndarray], list[tuple[int, int, int]]]:
    """The frames with an object pasted at a different place in each (x, y, size per frame)."""
    h, w = frames8[0].shape[:2]
    size = max(16, min(h, w) // 5)
    obj, alpha = _object(size, seed)
    ratios = _exposure_ratios(frames8, ref)
    n = len(frames8)
    out, places = [], []
    y = (h - size) // 2
    for k, (f, ratio) in enumerate(zip(frames8, ratios)):
        x = int(round((w - size) * (0.1 + 0.8 * k / max(n - 1, 1))))
        lin = _linear(f)
        patch = lin[y : y + size, x : x + size]
        a = alpha[:, :, None]
        lin[y : y + size, x : x + size] = patch * (1 - a) + np.clip(obj * ratio, 0, 1) * a
        out.append((np.clip(lin, 0, 1) ** (1 / 2.2) * 255 + 0.5).astype(np.uint8))
        places.append((x, y, size))
    return out, places


def pasted(scenes, method: str) -> list[dict]:
    mod = _mefssimd()
    rows = []
    for i, scene in enumerate(scenes):
        clean = load(scene)
        clean8 = [_to8(f.data) for f in clean]
        ref = best_exposed_index(clean)
        target = _to8(fuse(clean, method, "off").image).astype(np.float64)
        moved8, places = paste_bracket(clean8, ref, seed=i)
        frames = [Frame(path=f.path, data=d) for f, d in zip(clean, moved8)]
        h, w = target.shape[:2]
        ghost = np.zeros((h, w), bool)
        for k, (x, y, s) in enumerate(places):
            if k != ref:
                ghost[y : y + s, x : x + s] = True
        near = np.zeros((h, w), bool)
        for x, y, s in places:
            m = s // 4
            near[max(0, y - m) : y + s + m, max(0, x - m) : x + s + m] = True
        x, y, s = places[ref]
        ghost[y : y + s, x : x + s] = False
        row = {"scene": scene, "frames": len(frames)}
        for level in LEVELS:
            res = fuse(frames, method, level)
            img = _to8(res.image).astype(np.float64)
            err = np.abs(img - target).mean(axis=2)
            row[f"{level}_ghost"] = round(float(err[ghost].mean()), 2)
            row[f"{level}_elsewhere"] = round(float(err[~near].mean()), 3)
            row[f"{level}_mefssimd"] = round(score_d(mod, moved8, res.image), 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("real", "pasted"))
    ap.add_argument("scenes", nargs="+")
    ap.add_argument("--method", default="mertens", choices=("mertens", "cnn"))
    ap.add_argument("--align", action="store_true")
    args = ap.parse_args()
    scenes = args.scenes
    if len(scenes) == 1 and Path(scenes[0]).is_file():
        scenes = [s.strip() for s in Path(scenes[0]).read_text().splitlines() if s.strip()]
    rows = real(scenes, args.method, args.align) if args.mode == "real" else pasted(scenes, args.method)
    keys = [k for k in rows[0] if k not in ("scene", "frames")]
    print("mean " + json.dumps({k: round(float(np.mean([r[k] for r in rows])), 4) for k in keys}))


if __name__ == "__main__":
    main()
