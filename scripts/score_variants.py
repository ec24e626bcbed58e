"""Score variants of a v2 model on the validation scenes, with the app's fusion path (not a test).

Each variant is the model changed in one way; its scores and its wins against the anchors of
``shared/data/anchors.md`` (FMMEF on seq, Mertens on pair, as ``docs/validation.md`` counts them)
are printed, and with ``--out`` the per-scene scores written as JSON. The variants of
``docs/validation.md`` ("Attempts to close the seq gap after v2"):

    python scripts/score_variants.py --logit-scale 0 0.6 0.8 1.25    # 0: the decomposition alone
    python scripts/score_variants.py --extra-levels 0 2
    python scripts/score_variants.py --working-size 192 384 512 --tracks seq
    python scripts/score_variants.py --soup runs/spd5/best.pt --at 0.5 1.5   # weight averages

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
    if not (args.logit_scale or args.extra_levels or args.working_size or args.soup):
        yield "as shipped", load_model(base_path)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=REPO / "resources" / "models" / "default.pt")
    ap.add_argument("--recipe", type=Path, default=REPO / "training" / "recipes" / "spd.json", help="names the data and validation scenes")
    ap.add_argument("--anchors", type=Path, default=REPO.parent / "shared" / "data" / "anchors.md")
    ap.add_argument("--tracks", default="seq,pair")
    ap.add_argument("--logit-scale", type=float, nargs="*")
    ap.add_argument("--extra-levels", type=int, nargs="*")
    ap.add_argument("--working-size", type=int, nargs="*")
    ap.add_argument("--soup", type=Path, help="a second checkpoint of the same architecture")
    ap.add_argument("--at", type=float, nargs="*", default=[0.5], help="with --soup: its share (may extrapolate)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="a folder for the per-scene scores (one JSON per variant)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tracks = args.tracks.split(",")
    _, val = prepare_data(TrainConfig.from_file(args.recipe), DataReport())
    validator = Validator(val, tracks)
    anchors = anchor_scores(args.anchors) if args.anchors.is_file() else {}
    for i, (label, model) in enumerate(variants(args)):
        scores = validator.score(model)
        line = [label]
        for t in tracks:
            per = scores["per_scene"][t]
            best = anchors.get(t, {})
            wins = sum(1 for s, q in per.items() if s in best and q > best[s])
            line.append(f"{t} {scores[t]:.5f} (ahead of {BEST_ANCHOR[t]} on {wins}/{len(per)})")
        print(" | ".join(line), flush=True)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"variant_{i}.json").write_text(json.dumps({"variant": label, **scores}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
