"""Score variants of a v2 model on the validation scenes, with the app's fusion path (not a test).

Each variant is the model changed in one way; its scores and its wins against the anchors of
``shared/data/anchors.md`` (FMMEF on seq, Mertens on pair, as ``docs/validation.md`` counts them)
are printed, and with ``--out`` the per-scene scores written as JSON. The variants of
``docs/validation.md`` ("Attempts to close the seq gap after v2"):

    python scripts/score_variants.py --logit-scale 0 0.6 0.8 1.25    # 0: the decomposition alone
    python scripts/score_variants.py --extra-levels 0 2
    python scripts/score_variants.py --working-size 192 384 512 --tracks seq
    python scripts/score_variants.py --soup runs/spd5/best.pt --at 0.5 1.5   # weight averages
    python scripts/score_variants.py --detail-scale 0 --base-scale 0 --tracks seq   # which logits matter
    python scripts/score_variants.py --base-scale -0.5 -0.25 0 0.25 0.5 0.75 1.25 --tracks seq --out runs/base-sweep
    python scripts/score_variants.py --flips 2 4 8 --tracks seq
    python scripts/score_variants.py --logit-scale 0 --tracks seq --max-side 384 [--training-scenes] --out runs/zero384

Minutes per variant and track on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from hdrdesk.core.model import load_model
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.data import DataReport
from hdrdesk.training.loop import prepare_data
from hdrdesk.training.validate import Validator

REPO = Path(__file__).resolve().parents[1]
BEST_ANCHOR = {"seq": "FMMEF", "pair": "Mertens"}


def anchor_scores(anchors_md: Path) -> dict[str, dict[str, float]]:
    """{track: {scene: best anchor's score}} from anchors.md's per-scene tables: Mertens default
    ('Scene | Track | Frames fused | Mertens default | ...') for pair, FMMEF ('Scene | FMMEF pair | FMMEF seq') for seq."""
    out: dict[str, dict[str, float]] = {"pair": {}, "seq": {}}
    header: list[str] | None = None
    for line in anchors_md.read_text().splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        row = dict(zip(header, cells))
        scene = row.get("scene")
        if scene and row.get("track") == "pair" and "mertens default" in row:
            out["pair"][scene] = float(row["mertens default"])
        if scene and "fmmef seq" in row:
            out["seq"][scene] = float(row["fmmef seq"])
    return out


def _flip_averaged(forward, n: int):
    """``forward`` averaged over the first ``n`` (1, 2, 4 or 8) of the 8 flips and transposes of its input."""
    def flipped(y: torch.Tensor, dims: tuple, transpose: bool) -> torch.Tensor:
        x = y.transpose(-1, -2) if transpose else y
        x = x.flip(dims) if dims else x
        out = forward(x)
        out = out.flip(dims) if dims else out
        return out.transpose(-1, -2) if transpose else out

    views = [(d, t) for t in (False, True) for d in ((), (-1,), (-2,), (-1, -2))][:n]
    return lambda y: sum(flipped(y, d, t) for d, t in views) / len(views)


def variants(args: argparse.Namespace):
    """(label, model) for every variant asked for."""
    base_path = args.model
    if args.logit_scale:
        for a in args.logit_scale:
            m, _ = load_model(base_path)
            with torch.no_grad():
                m.head.weight.mul_(a)
                m.head.bias.mul_(a)
            yield f"logits x {a:g}", m
    for name, channel, scales in (("detail", 0, args.detail_scale), ("base", 1, args.base_scale)):
        for a in scales or []:
            m, _ = load_model(base_path)
            with torch.no_grad():
                m.head.weight[channel].mul_(a)
                m.head.bias[channel].mul_(a)
            yield f"{name} logits x {a:g}", m
    for n in args.flips or []:
        m, _ = load_model(base_path)
        m.forward = _flip_averaged(m.forward, n)
        yield f"logits averaged over {n} flips/transposes", m
    for lv in args.extra_levels or []:
        m, _ = load_model(base_path)
        m.config = dataclasses.replace(m.config, extra_levels=lv)
        yield f"extra levels {lv}", m
    for ws in args.working_size or []:
        m, _ = load_model(base_path)
        m.config = dataclasses.replace(m.config, working_size=ws)
        yield f"working size {ws}", m
    if args.soup:
        a = load_model(base_path)[0].state_dict()
        b = load_model(args.soup)[0].state_dict()
        for t in args.at:
            m, _ = load_model(base_path)
            m.load_state_dict({k: (1 - t) * a[k] + t * b[k] for k in a})
            yield f"weights {1 - t:g} x model + {t:g} x {Path(args.soup).name}", m
    if not (args.logit_scale or args.detail_scale or args.base_scale or args.flips or args.extra_levels or args.working_size or args.soup):
        yield "as shipped", load_model(base_path)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "resources" / "models" / "default.pt")
    ap.add_argument("--recipe", type=Path, default=REPO / "training" / "recipes" / "spd.json", help="names the data and validation scenes")
    ap.add_argument("--anchors", type=Path, default=REPO.parent / "shared" / "data" / "anchors.md")
    ap.add_argument("--tracks", default="seq,pair")
    ap.add_argument("--logit-scale", type=float, nargs="*")
    ap.add_argument("--detail-scale", type=float, nargs="*", help="scale the detail logits alone (0: the base logits only)")
    ap.add_argument("--base-scale", type=float, nargs="*", help="scale the base logits alone")
    ap.add_argument("--flips", type=int, nargs="*", choices=(1, 2, 4, 8), help="average the logits over this many flips/transposes")
    ap.add_argument("--extra-levels", type=int, nargs="*")
    ap.add_argument("--working-size", type=int, nargs="*")
    ap.add_argument("--soup", type=Path, help="a second checkpoint of the same architecture")
    ap.add_argument("--at", type=float, nargs="*", default=[0.5], help="with --soup: its share (may extrapolate)")
    ap.add_argument("--max-side", type=int, default=0, help="score copies of at most this short side (0: as stored)")
    ap.add_argument("--training-scenes", action="store_true", help="score the training scenes instead (no anchors there)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="a folder for the per-scene scores (one JSON per variant)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tracks = args.tracks.split(",")
    train_scenes, val = prepare_data(TrainConfig.from_file(args.recipe), DataReport())
    validator = Validator(train_scenes if args.training_scenes else val, tracks, args.max_side)
    # the anchors were measured on the validation scenes as stored
    anchors = anchor_scores(args.anchors) if args.anchors.is_file() and not (args.training_scenes or args.max_side) else {}
    for i, (label, model) in enumerate(variants(args)):
        scores = validator.score(model)
        line = [label]
        for t in tracks:
            per = scores["per_scene"][t]
            best = anchors.get(t, {})
            wins = sum(1 for s, q in per.items() if s in best and q > best[s])
            line.append(f"{t} {scores[t]:.5f}" + (f" (ahead of {BEST_ANCHOR[t]} on {wins}/{len(per)})" if best else ""))
        print(" | ".join(line), flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"variant_{i}.json").write_text(json.dumps({"variant": label, **scores}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
