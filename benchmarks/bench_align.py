"""Alignment time per frame on a synthetic hand-held 24 MP bracket (and on a steady one).

    python benchmarks/bench_align.py [--width 6000 --height 4000] [--repeats 2]

Prints seconds per aligned frame (the reference is not counted), the largest corner error
against the known motion, and the machine load (uptime) so figures can be judged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from hdrdesk.core.align import align_frames  # noqa: E402
from hdrdesk.core.io import Frame  # noqa: E402
from test_align import corner_error, expose, moved  # noqa: E402
from test_align_handheld import handheld_motion  # noqa: E402


def radiance(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Textured linear radiance, cheap to make at 24 MP (float32)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.random((h // 64 + 1, w // 64 + 1)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    mid = cv2.resize(rng.random((h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xx = np.linspace(-3.0, 3.0, w, dtype=np.float32)[None, :]
    rad = np.exp2(xx) * (0.3 + coarse + 0.5 * mid)
    return np.stack([rad, rad * 0.9, rad * 0.7], axis=2)


def run(h: int, w: int, handheld: bool, repeats: int, with_mertens: bool = False) -> tuple[float, float, float | None]:
    rad = radiance(h, w)
    if handheld:
        motions = [handheld_motion(w, h, 0.05 * w, -0.02 * h, 3.0), None, handheld_motion(w, h, -0.04 * w, 0.03 * h, -2.5, tilt=0.006)]
    else:
        small = np.float32([[1, 0, 3.4], [0, 1, -2.2], [0, 0, 1]])
        motions = [small, None, np.linalg.inv(small).astype(np.float32)]
    frames = []
    for ev, m in zip((-2.0, 0.0, 2.0), motions):
        img = expose(rad, ev)
        frames.append(Frame(path=Path(f"{ev:+.0f}.png"), data=img if m is None else moved(img, m, homography=True)))
    del rad
    best = float("inf")
    err = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, infos = align_frames(frames)
        best = min(best, time.perf_counter() - t0)
        err = max(corner_error(infos[k].matrix if infos[k].matrix is not None else np.eye(3), motions[k], w, h) for k in (0, 2))
        for k in (0, 2):
            print("  ", infos[k].describe(), flush=True)
    mertens = None
    if with_mertens:  # the same frames through OpenCV's Mertens, in the same run: a load-independent yardstick
        from hdrdesk.core.fusion import fuse_mertens

        t0 = time.perf_counter()
        fuse_mertens(frames)
        mertens = time.perf_counter() - t0
    return best / (len(frames) - 1), err, mertens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=6000)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print("load before:", os.getloadavg(), "cpus:", os.cpu_count())
    for handheld in (False, True):
        per_frame, err, mertens = run(args.height, args.width, handheld, args.repeats, with_mertens=handheld)
        kind = "hand-held (5% shift, 3 deg, keystone)" if handheld else "steady (3 px shift)"
        line = f"{args.width}x{args.height} {kind}: {per_frame:.2f} s per frame, corner error {err:.2f} px"
        if mertens is not None:
            line += f"; OpenCV Mertens on the 3 frames {mertens:.2f} s (alignment per frame = {per_frame / mertens:.2f} x Mertens)"
        print(line, flush=True)
    print("load after:", os.getloadavg(), "cpus:", os.cpu_count())


if __name__ == "__main__":
    main()
