"""MEF-SSIM of the structural patch decomposition with zero logits (FMMEF's rule) at several depths.

    .venv/bin/python scripts/measure_depth.py --data ../shared/data/brackets 0 1 2

For each N: the decomposition with N scales beyond FMMEF's rule (0 is FMMEF itself) on every validation scene,
both tracks, scored as `hdrdesk eval` scores (8-bit result, MATLAB rgb2gray). This is how the shipped model's
depth (`NetConfig.extra_levels`) was chosen.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hdrdesk.core.fmmef import fmmef_fuse
from hdrdesk.core.io import harmonise, read_frame
from hdrdesk.core.mefssim import mef_ssim_rgb
from hdrdesk.training.data import discover_scenes, read_scene_list


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--scenes", type=Path, default=None, help="default: DATA/val_scenes.txt")
    ap.add_argument("extra", nargs="+", type=int, metavar="N")
    args = ap.parse_args()
    scenes = discover_scenes([args.data], only=read_scene_list(args.scenes or args.data / "val_scenes.txt"))
    for extra in args.extra:
        means = {}
        for track in ("pair", "seq"):
            scores = []
            for sc in scenes:
                files = sc.files if track == "seq" else [sc.files[i] for i in (sc.pair or (0, len(sc.files) - 1))]
                frames = [f.data for f in harmonise([read_frame(f, colour_manage=False) for f in files])]  # as shipped, like `hdrdesk eval`
                scores.append(mef_ssim_rgb(frames, fmmef_fuse(frames, extra_levels=extra)))
            means[track] = float(np.mean(scores))
        print(f"extra levels {extra}: pair {means['pair']:.4f}  seq {means['seq']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
