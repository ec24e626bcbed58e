"""Before/after pictures of deghosting for docs/deghosting.md.

    python scripts/deghost_figures.py OUTDIR SCENE [SCENE ...] [--level medium] [--method cnn] [--width 960]

For each scene of shared/data/brackets: the fusion without deghosting, the fusion with it
(alignment on, as `hdrdesk fuse` does), and the motion masks (the union over frames, red
over the deghosted result), side by side, as a small JPEG.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BRACKETS = REPO.parent / "shared" / "data" / "brackets"

from hdrdesk.core.fusion import FusionOptions, fuse_frames  # noqa: E402
from hdrdesk.core.io import load_bracket  # noqa: E402


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (8 + 9 * len(text), 22), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def figure(scene: str, level: str, method: str, width: int) -> np.ndarray:
    frames = load_bracket([BRACKETS / scene])
    before = fuse_frames(frames, FusionOptions(method=method, keep_weights=False))
    after = fuse_frames(frames, FusionOptions(method=method, keep_weights=False, deghost=level))
    to8 = lambda im: (np.clip(im, 0, 1) * 255 + 0.5).astype(np.uint8)  # noqa: E731
    b, a = to8(before.image), to8(after.image)
    mask = np.max(np.stack(after.motion_masks), axis=0) if after.motion_masks else np.zeros(a.shape[:2], np.float32)
    overlay = a.astype(np.float32)
    overlay[..., 0] = overlay[..., 0] * (1 - 0.6 * mask) + 255 * 0.6 * mask
    overlay[..., 1:] *= (1 - 0.6 * mask)[..., None]
    tiles = [_label(b, "off"), _label(a, level), _label(overlay.astype(np.uint8), "motion masks")]
    h, w = b.shape[:2]
    tw = width // 3
    th = round(h * tw / w)
    row = np.hstack([cv2.resize(t, (tw, th), interpolation=cv2.INTER_AREA) for t in tiles])
    print(f"{scene}: share of each frame taken from the reference {[round(float(m.mean()), 3) for m in after.motion_masks]}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("scenes", nargs="+")
    ap.add_argument("--level", default="medium", choices=("low", "medium", "high"))
    ap.add_argument("--method", default="cnn", choices=("cnn", "mertens"))
    ap.add_argument("--width", type=int, default=960)
    args = ap.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    for scene in args.scenes:
        row = figure(scene, args.level, args.method, args.width)
        out = args.outdir / f"deghost_{scene}.jpg"
        cv2.imwrite(str(out), cv2.cvtColor(row, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
        print(f"wrote {out} ({out.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
