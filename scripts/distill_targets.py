"""Per-bracket optimised logits of the training scenes, for distilling them into the network.

For every training scene (never a validation scene), 'Refine this bracket'
(:func:`hdrdesk.training.refine.refine_logits`) optimises a residual of the network's logits
for the whole bracket's MEF-SSIM; the network's input (luma at its working size), its logits
and the refined logits are saved, one ``.npz`` per scene (:func:`hdrdesk.training.distill.write_targets`),
for a training run with ``distill`` set (``training/recipes/distill.json``).

    python scripts/distill_targets.py --recipe training/recipes/spd.json --out runs/distill-targets --seconds 12

About ``seconds`` per bracket on a 2-core CPU (24 min for the 116 training brackets); a folder
already holding a scene's file skips it (resume).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hdrdesk.core.fusion import get_model
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.data import DataReport, discover_scenes, read_scene_list
from hdrdesk.training.distill import write_targets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", type=Path, required=True, help="names the data and the validation scenes (never used)")
    ap.add_argument("--model", type=Path, default=None, help="the network to refine (default: the shipped one)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=12.0, help="refinement budget per bracket")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = TrainConfig.from_file(args.recipe)
    val_names = read_scene_list(cfg.val_scenes) if cfg.val_scenes else []
    scenes = discover_scenes(cfg.data, exclude=val_names, report=DataReport())
    model, _, _ = get_model(args.model, torch_only=True)
    write_targets(model, scenes, args.out, args.seconds, on_row=lambda row: print(json.dumps(row), flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
