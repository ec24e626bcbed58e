"""The gamma ablation (the paper's experiment): one model per gamma variant, same recipe and budget.

    python -m hdrdesk.training.ablation [--recipe training/recipes/ablation.json] [--out runs/ablation] [--report docs/ablation.md]

Writes a Markdown table of validation MEF-SSIM (pair and sequence tracks) per
variant and prints the best variant.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hdrdesk.core.gamma import GAMMA_VARIANTS


def main(argv: list[str] | None = None) -> int:
    from hdrdesk.training.config import TrainConfig
    from hdrdesk.training.loop import train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument("--recipe", type=Path, default=repo / "training" / "recipes" / "ablation.json")
    ap.add_argument("--out", type=Path, default=Path("runs/ablation"))
    ap.add_argument("--report", type=Path, default=None)
    ap.add_argument("--variants", default=",".join(GAMMA_VARIANTS))
    ap.add_argument("--mefssim-row", action="store_true", help="add a row: hybrid with the MEF-SSIM term (w_mefssim=1), same budget")
    args = ap.parse_args(argv)
    base = args.recipe.resolve().parent.parent.parent
    rows = []
    runs = [(v, 0.0) for v in args.variants.split(",") if v]
    if args.mefssim_row:
        runs.append(("hybrid", 1.0))
    for variant, w_mef in runs:
        cfg = TrainConfig.from_file(args.recipe)
        if w_mef:
            cfg.w_mefssim = w_mef
        cfg.data = [str((base / d).resolve()) for d in cfg.data]
        cfg.val_scenes = str((base / cfg.val_scenes).resolve()) if cfg.val_scenes else None
        cfg.gamma = variant
        label = variant + (" + MEF-SSIM term" if w_mef else "")
        cfg.out = str(args.out / (variant + ("_mefssim" if w_mef else "")))
        t0 = time.perf_counter()
        result = train(cfg)
        minutes = (time.perf_counter() - t0) / 60
        s = result.final_scores or {}
        rows.append({"variant": label, "pair": s.get("pair"), "seq": s.get("seq"), "mean": s.get("mean"), "minutes": minutes, "steps": result.step})
        print(json.dumps(rows[-1]), flush=True)
    best = max((r for r in rows if "MEF-SSIM" not in r["variant"]), key=lambda r: r["mean"] or 0, default=None)
    (args.out / "results.json").write_text(json.dumps({"rows": rows, "best": best and best["variant"]}, indent=1))
    if args.report:
        lines = [
            "| gamma variant | pair MEF-SSIM | seq MEF-SSIM | mean | steps | minutes |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(f"| {r['variant']} | {r['pair']:.4f} | {r['seq']:.4f} | {r['mean']:.4f} | {r['steps']} | {r['minutes']:.1f} |")
        args.report.write_text("\n".join(lines) + "\n")
    if best:
        print(f"best variant: {best['variant']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
