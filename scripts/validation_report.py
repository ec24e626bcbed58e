"""Validation report: the model beside Mertens and FMMEF on every validation scene, both tracks.

    .venv/bin/python scripts/validation_report.py --data ../shared/data/brackets --out runs/validation

Writes into OUT: ``scores.json`` (per scene, track and method), ``table.md`` (the per-scene
Markdown table of docs/validation.md, with wins against the best anchor of each track:
Mertens default on pair, FMMEF on seq), ``contact_pair.jpg`` / ``contact_seq.jpg`` (Mertens,
FMMEF, HDRDesk side by side, same size, with MEF-SSIM) and, with ``--full``, full-size PNGs of
every fusion for looking at skies, windows and lamps.

Every fusion goes through ``fuse_frames`` (the app's path) and is scored as ``hdrdesk eval``
scores it (8-bit result, MATLAB rgb2gray, the same frames).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from hdrdesk.core.fusion import FusionOptions, fuse_frames, fuse_mertens
from hdrdesk.core.io import harmonise, read_frame, write_image
from hdrdesk.core.mefssim import mef_ssim_rgb
from hdrdesk.training.data import discover_scenes, read_scene_list

ANCHOR = {"pair": "mertens", "seq": "fmmef"}  # the best anchor of each track (shared/data/anchors.md)
MERTENS_WEIGHTS = {"pair": (1, 1, 0), "seq": (1, 1, 1)}  # Mertens' best setting per track


def _thumb(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (round(w * height / h), height), interpolation=cv2.INTER_AREA)


def _label(img: np.ndarray, text: str) -> np.ndarray:
    out = (np.clip(img, 0, 1) * 255).astype(np.uint8).copy()
    cv2.rectangle(out, (0, 0), (out.shape[1], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out.astype(np.float32) / 255.0


def _sheet(rows: list[np.ndarray]) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    return np.concatenate(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--scenes", type=Path, default=None, help="default: DATA/val_scenes.txt")
    ap.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--height", type=int, default=150, help="contact sheet row height")
    ap.add_argument("--full", action="store_true", help="also write full-size PNGs of every fusion")
    ap.add_argument("--anchors-from", type=Path, default=None, metavar="DIR",
                    help="reuse Mertens' and FMMEF's fusions from an earlier --full report in DIR (they do not depend on the model)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = read_scene_list(args.scenes or args.data / "val_scenes.txt")
    scores: dict[str, dict[str, dict[str, float]]] = {"pair": {}, "seq": {}}
    sheets: dict[str, list[np.ndarray]] = {"pair": [], "seq": []}
    for sc in discover_scenes([args.data], only=names):
        for track in ("pair", "seq"):
            files = sc.files if track == "seq" else [sc.files[i] for i in (sc.pair or (0, len(sc.files) - 1))]
            frames = harmonise([read_frame(f, colour_manage=False) for f in files])  # as shipped, like `hdrdesk eval` and the anchors
            data = [f.data for f in frames]
            if args.anchors_from:
                fused = {m: read_frame(args.anchors_from / f"{sc.name}_{track}_{m}.png").rgb_float() for m in ("mertens", "fmmef")}
            else:
                fused = {
                    "mertens": fuse_mertens(frames, None, *MERTENS_WEIGHTS[track]),
                    "fmmef": fuse_frames(frames, FusionOptions(method="fmmef", align=False)).image,
                }
            fused["hdrdesk"] = fuse_frames(frames, FusionOptions(model_path=args.model, align=False, keep_weights=False)).image
            q = {m: float(mef_ssim_rgb(data, img)) for m, img in fused.items()}
            scores[track][sc.name] = q
            cells = [_label(_thumb(img, args.height), f"{m} {q[m]:.4f}" + (f"  {sc.name}" if m == "mertens" else "")) for m, img in fused.items()]
            gap = np.ones((args.height, 4, 3), np.float32)
            sheets[track].append(np.concatenate([cells[0], gap, cells[1], gap, cells[2]], axis=1))
            if args.full:
                for m, img in fused.items():
                    write_image(args.out / f"{sc.name}_{track}_{m}.png", img, overwrite=True)
            print(f"{sc.name:28} {track:4} " + "  ".join(f"{m} {v:.4f}" for m, v in q.items()), flush=True)
    (args.out / "scores.json").write_text(json.dumps(scores, indent=1))
    for track in ("pair", "seq"):
        write_image(args.out / f"contact_{track}.jpg", _sheet(sheets[track]), quality=82, overwrite=True)
    lines = [
        "| Scene | pair: Mertens default | pair: FMMEF | pair: HDRDesk | seq: Mertens 1,1,1 | seq: FMMEF | seq: HDRDesk |",
        "|---|---|---|---|---|---|---|",
    ]
    wins = {"pair": 0, "seq": 0}
    for s in scores["pair"]:
        cells = []
        for track in ("pair", "seq"):
            q = scores[track][s]
            won = q["hdrdesk"] > q[ANCHOR[track]]
            wins[track] += won
            cells += [f"{q['mertens']:.4f}", f"{q['fmmef']:.4f}", f"**{q['hdrdesk']:.4f}**" if won else f"{q['hdrdesk']:.4f}"]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    means = {t: {m: float(np.mean([v[m] for v in scores[t].values()])) for m in ("mertens", "fmmef", "hdrdesk")} for t in scores}
    lines.append("| **mean** | " + " | ".join(f"{means[t][m]:.4f}" for t in ("pair", "seq") for m in ("mertens", "fmmef", "hdrdesk")) + " |")
    n = len(scores["pair"])
    lines.append(f"| HDRDesk ahead of the track's best anchor | | | {wins['pair']} / {n} | | | {wins['seq']} / {n} |")
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
