"""Measure 'Refine this bracket' on scenes: MEF-SSIM before/after and wall seconds, as the app runs it.

    .venv/bin/python scripts/measure_refine.py --data ../shared/data/brackets --track seq [--seconds 8] [--full]

Frames are read as stored (as ``hdrdesk eval`` reads them). v2 models (the shipped default) are refined by
:func:`hdrdesk.training.refine.refine_logits` (a coarse residual of the logits), v1 models by
:func:`hdrdesk.training.finetune.refine_bracket`. ``before``/``after`` are the refinement's own guard scores
(MEF-SSIM of the app's fusion on its reduced scoring copy); a refinement that does not raise it is discarded
(counted as no gain). ``--full`` also scores the full-resolution fusion with and without the refinement, as
``hdrdesk eval`` does (slower). The wall time includes everything the app's Refine runs but the preview.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from hdrdesk.core.fusion import FusionOptions, finish_fusion, get_model, is_spd_model, prepare_fusion
from hdrdesk.core.io import read_frame
from hdrdesk.evaluate import score_fusion
from hdrdesk.training.data import discover_scenes, read_scene_list
from hdrdesk.training.finetune import refine_bracket
from hdrdesk.training.refine import COPY_PIXELS, GAIN_SCALES, GRID, LOGIT_PENALTY, LR, refine_logits


def full_score(frames, model) -> float:
    """MEF-SSIM of the full-resolution fusion (the app's path, no alignment: the frames as eval sees them)."""
    opts = FusionOptions(method="cnn", align=False, keep_weights=False)
    return float(score_fusion(frames, finish_fusion(prepare_fusion(frames, opts), model=model).image))


def time_large_brackets(model, counts: list[int], seconds: float) -> None:
    """Wall time of Refine on synthetic 24 MP brackets of ``counts`` frames (budget check, not quality)."""
    import cv2

    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (400, 600, 3), dtype=np.uint8), (6000, 4000), interpolation=cv2.INTER_CUBIC)
    for k in counts:
        frames = [np.clip(base.astype(np.int16) + int(e), 0, 255).astype(np.uint8) for e in np.linspace(-120, 120, k)]
        t0 = time.perf_counter()
        out = refine_logits(model, frames, seconds=seconds)
        print(json.dumps({"frames": k, "megapixels": 24, "wall": round(time.perf_counter() - t0, 2), "steps": out.steps,
                          "copy_side": out.score_side, "kept": out.kept, "timings": {name: round(v, 2) for name, v in out.timings.items()}}), flush=True)
        del frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--scenes", type=Path, default=None, help="default: DATA/val_scenes.txt")
    ap.add_argument("--track", choices=("pair", "seq"), default="seq")
    ap.add_argument("--steps", type=int, default=60, help="v1 models: fine-tuning steps at most")
    ap.add_argument("--seconds", type=float, default=8.0, help="the app's budget (the whole refinement, scoring included)")
    ap.add_argument("--full", action="store_true", help="also score at full resolution, as hdrdesk eval")
    ap.add_argument("--only", default="", help="comma-separated scene names (default: all of --scenes)")
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON lines here")
    ap.add_argument("--copy-pixels", type=float, default=COPY_PIXELS, help="v2: pixels a frame of the copy optimised and scored on")
    ap.add_argument("--lr", type=float, default=LR, help="v2: Adam step size")
    ap.add_argument("--grid", type=int, default=GRID, help="v2: residual cells along the short side")
    ap.add_argument("--maps", default="0,1", help="v2: logit maps refined (0 detail, 1 base)")
    ap.add_argument("--logit-penalty", type=float, default=LOGIT_PENALTY, help="v2: weight of the mean square logit in the objective")
    ap.add_argument("--one-detail-map", action="store_true", help="v2: one detail residual for all scales (before session 6), not one per scale")
    ap.add_argument("--gain-scales", type=int, default=GAIN_SCALES, help="v2: finest scales with a bounded contrast gain (0: none, before session 7)")
    ap.add_argument("--max-steps", type=int, default=10_000, help="v2: stop after this many steps (compare variants at equal steps on a busy machine)")
    ap.add_argument("--large", default="", help="instead: time synthetic 24 MP brackets of these frame counts, e.g. 3,9,16,30")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default; 1 on a busy machine)")
    ap.add_argument("--model", type=Path, default=None, help="a model file to refine from (default: the shipped model)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model, _, _ = get_model(args.model, torch_only=True)
    if args.large:
        time_large_brackets(model, [int(k) for k in args.large.split(",")], args.seconds)
        return 0
    only = args.only.split(",") if args.only else read_scene_list(args.scenes or args.data / "val_scenes.txt")
    rows = []
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    for sc in discover_scenes([args.data], only=only):
        files = sc.files if args.track == "seq" else [sc.files[i] for i in (sc.pair or (0, len(sc.files) - 1))]
        frames = [read_frame(f, colour_manage=False) for f in files]  # as stored, like `hdrdesk eval`
        t0 = time.perf_counter()
        if is_spd_model(model):
            out = refine_logits(model, [f.data for f in frames], seconds=args.seconds, copy_pixels=args.copy_pixels, lr=args.lr, grid=args.grid,
                                maps=tuple(int(m) for m in args.maps.split(",")), max_steps=args.max_steps,
                                per_scale=not args.one_detail_map, logit_penalty=args.logit_penalty, gain_scales=args.gain_scales)
        else:
            out = refine_bracket(model, [f.rgb_float() for f in frames], steps=args.steps, seconds=args.seconds)
        wall = time.perf_counter() - t0
        row = {"scene": sc.name, "k": len(frames), "before": out.before, "after": out.after, "candidate": out.candidate,
               "kept": out.kept, "steps": out.steps, "seconds": round(wall, 2), "load": round(os.getloadavg()[0], 1)}
        if args.full:
            row["full_before"] = full_score(frames, model)
            row["full_after"] = full_score(frames, out.model) if out.kept else row["full_before"]
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    b = np.mean([r["before"] for r in rows])
    a = np.mean([r["after"] for r in rows])
    walls = [r["seconds"] for r in rows]
    print(f"{args.track}: mean before {b:.4f}  after {a:.4f}  gain {a - b:+.4f}  kept {sum(r['kept'] for r in rows)}/{len(rows)}  "
          f"worse 0 (guard)  wall median {np.median(walls):.1f} s  max {max(walls):.1f} s")
    if args.full:
        fb = np.mean([r["full_before"] for r in rows])
        fa = np.mean([r["full_after"] for r in rows])
        worse = sum(r["full_after"] < r["full_before"] for r in rows)
        print(f"{args.track} at full resolution: mean before {fb:.4f}  after {fa:.4f}  gain {fa - fb:+.4f}  worse on {worse}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
