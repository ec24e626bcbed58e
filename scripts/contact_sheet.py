"""Contact sheet of validation scenes: OpenCV Mertens beside the HDRDesk model, same size.

    .venv/bin/python scripts/contact_sheet.py --data ../shared/data/brackets --track seq -o docs/contact_sheet_seq.jpg

Each row: scene name, Mertens (default weights for the pair track, 1,1,1 for seq,
the stronger anchor of each), the model's fusion, and their MEF-SSIM.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from hdrdesk.core.fusion import FusionOptions, fuse_frames, fuse_mertens
from hdrdesk.core.io import load_bracket, write_image
from hdrdesk.core.mefssim import mef_ssim_rgb
from hdrdesk.training.data import discover_scenes, read_scene_list


def _thumb(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = (np.clip(img, 0, 1) * 255).astype(np.uint8).copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out.astype(np.float32) / 255.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--scenes", type=Path, default=None, help="default: DATA/val_scenes.txt")
    ap.add_argument("--track", choices=("pair", "seq"), default="seq")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--height", type=int, default=200)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    names = read_scene_list(args.scenes or args.data / "val_scenes.txt")
    rows = []
    for sc in discover_scenes([args.data], only=names):
        files = sc.files if args.track == "seq" else [sc.files[i] for i in (sc.pair or (0, len(sc.files) - 1))]
        frames = load_bracket(files, order=False)
        ours = fuse_frames(frames, FusionOptions(model_path=args.model, align=False, keep_weights=False)).image
        weights = (1, 1, 0) if args.track == "pair" else (1, 1, 1)
        mert = fuse_mertens(frames, None, *weights)
        q_ours = mef_ssim_rgb([f.data for f in frames], ours)
        q_mert = mef_ssim_rgb([f.data for f in frames], mert)
        left = _label(_thumb(mert, args.height), f"Mertens {weights[0]},{weights[1]},{weights[2]}  {q_mert:.4f}")
        right = _label(_thumb(ours, args.height), f"HDRDesk  {q_ours:.4f}   {sc.name}")
        gap = np.ones((args.height, 6, 3), np.float32)
        rows.append(np.concatenate([left, gap, right], axis=1))
        print(f"{sc.name:28} mertens {q_mert:.4f}  hdrdesk {q_ours:.4f}", flush=True)
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    half = (len(rows) + 1) // 2
    col1, col2 = np.concatenate(rows[:half]), np.concatenate(rows[half:])
    col2 = np.pad(col2, ((0, col1.shape[0] - col2.shape[0]), (0, 0), (0, 0)), constant_values=1.0)
    sheet = np.concatenate([col1, np.ones((col1.shape[0], 12, 3), np.float32), col2], axis=1)
    write_image(args.output, sheet, quality=85, overwrite=True)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
