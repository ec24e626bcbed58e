"""Per-scene Markdown table from `hdrdesk eval --json` outputs (model vs Mertens, both tracks).

    for t in pair seq; do
      hdrdesk eval ../shared/data/brackets --scenes ../shared/data/brackets/val_scenes.txt --track $t --json > runs/eval_cnn_$t.json
    done
    hdrdesk eval ... --track pair --method mertens --json > runs/eval_mertens_pair.json
    hdrdesk eval ... --track seq --method mertens --mertens-weights 1,1,1 --json > runs/eval_mertens_seq.json
    python scripts/validation_table.py runs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    lines = ["| Scene | pair: Mertens default | pair: HDRDesk | seq: Mertens 1,1,1 | seq: HDRDesk |", "|---|---|---|---|---|"]
    data = {}
    for track in ("pair", "seq"):
        for method in ("cnn", "mertens"):
            d = json.loads((folder / f"eval_{method}_{track}.json").read_text())
            data[(method, track)] = {r["scene"]: r["score"] for r in d["per_scene"]}
            data[(method, track, "mean")] = d["mean"]
    scenes = list(data[("cnn", "pair")])
    wins = {"pair": 0, "seq": 0}
    for s in scenes:
        cells = []
        for track in ("pair", "seq"):
            m, c = data[("mertens", track)][s], data[("cnn", track)][s]
            wins[track] += c > m
            cells += [f"{m:.4f}", f"**{c:.4f}**" if c > m else f"{c:.4f}"]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines.append(
        f"| **mean** | {data[('mertens', 'pair', 'mean')]:.4f} | **{data[('cnn', 'pair', 'mean')]:.4f}** | "
        f"{data[('mertens', 'seq', 'mean')]:.4f} | **{data[('cnn', 'seq', 'mean')]:.4f}** |"
    )
    lines.append(f"| wins (HDRDesk > Mertens) | | {wins['pair']} / {len(scenes)} | | {wins['seq']} / {len(scenes)} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
