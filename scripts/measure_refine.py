"""Measure 'Refine this bracket' on scenes: MEF-SSIM before/after and seconds, as the app runs it.

    .venv/bin/python scripts/measure_refine.py --data ../shared/data/brackets --track seq [--steps 60 --seconds 8]

The score is the bracket's MEF-SSIM at the refine scorer's size (short side 512, as the app), so it is
the number the app shows; a refinement that does not raise it is discarded (counted as no gain).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hdrdesk.core.fusion import get_model
from hdrdesk.core.io import load_bracket
from hdrdesk.training.data import discover_scenes, read_scene_list
from hdrdesk.training.finetune import refine_bracket


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--scenes", type=Path, default=None, help="default: DATA/val_scenes.txt")
    ap.add_argument("--track", choices=("pair", "seq"), default="seq")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    model, _, _ = get_model(torch_only=True)
    rows = []
    for sc in discover_scenes([args.data], only=read_scene_list(args.scenes or args.data / "val_scenes.txt")):
        files = sc.files if args.track == "seq" else [sc.files[i] for i in (sc.pair or (0, len(sc.files) - 1))]
        frames = [f.rgb_float() for f in load_bracket(files, order=False)]
        t0 = time.perf_counter()
        out = refine_bracket(model, frames, steps=args.steps, seconds=args.seconds)
        wall = time.perf_counter() - t0
        rows.append({"scene": sc.name, "before": out.before, "after": out.after, "candidate": out.candidate, "kept": out.kept, "steps": out.steps, "seconds": wall})
        print(json.dumps(rows[-1]), flush=True)
    b = np.mean([r["before"] for r in rows])
    a = np.mean([r["after"] for r in rows])
    print(f"mean before {b:.4f}  after {a:.4f}  gain {a - b:+.4f}  kept {sum(r['kept'] for r in rows)}/{len(rows)}  "
          f"median seconds {np.median([r['seconds'] for r in rows]):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
