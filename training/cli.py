"""``hdrdesk train`` and ``hdrdesk finetune`` (registered into the main parser by hdrdesk.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from hdrdesk.core.gamma import GAMMA_VARIANTS


def add_training_commands(sub) -> None:
    p = sub.add_parser(
        "train", help="train a fusion model without ground truth",
        description="Train the fusion network with the unsupervised weighted-SSIM objective. "
        "Runs unchanged under torchrun (DistributedDataParallel).",
    )
    p.add_argument("--recipe", type=Path, default=None, metavar="FILE", help="JSON recipe (training/recipes/*.json); flags below override it")
    p.add_argument("--data", type=Path, action="append", default=None, metavar="DIR", help="folder of bracket folders (repeatable)")
    p.add_argument("--val-scenes", type=Path, default=None, metavar="FILE", help="file naming validation scenes, never trained on (default: DIR/val_scenes.txt when present)")
    p.add_argument("--gamma", choices=GAMMA_VARIANTS, default=None, help="gamma variant of the weighted SSIM loss (default hybrid)")
    p.add_argument("--init", default=None, metavar="default|scratch|PATH", help="start from the shipped model, from scratch, or from a model/checkpoint")
    p.add_argument("--steps", type=int, default=None, metavar="N", help="optimisation steps")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate")
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="run folder: last.pt, best.pt, log.csv")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an --out folder that holds a run (its checkpoints and log are replaced), and replace an existing --export file")
    p.add_argument("--device", default=None, metavar="D", help="auto, cpu, cuda, mps")
    p.add_argument("--export", type=Path, default=None, metavar="PATH", help="also write the best model as a stand-alone model file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field (JSON value), e.g. --set w_mefssim=0")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "finetune", help="fine-tune the model on your own brackets",
        description="Fine-tune a model on your own photos (folders of brackets, a bracket folder, or a mixed folder grouped "
        "by capture time). A share of the brackets is held back to validate; the result is saved to the user model folder.",
    )
    p.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    p.add_argument("--init", default="default", metavar="default|PATH", help="model to start from (default: the shipped model)")
    p.add_argument("--steps", type=int, default=200, metavar="N", help="steps (default 200)")
    p.add_argument("--lr", type=float, default=2e-4, help="constant learning rate (default 2e-4)")
    p.add_argument("--gamma", choices=GAMMA_VARIANTS, default=None, help="gamma variant of the loss (default: the starting model's, from its card)")
    p.add_argument("--name", default=None, help="name of the new model (default: finetune-DATE)")
    p.add_argument("--device", default=None, metavar="D")
    p.set_defaults(func=cmd_finetune)


def _progress_printer(total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True)

    def on_event(e: dict) -> None:
        if e["type"] == "step":
            bar.n = e["step"]
            bar.set_postfix(loss=f"{e['loss']:.4f}", refresh=False)
            bar.refresh()
        elif e["type"] == "val":
            bar.write(f"validation at step {e['step']}: " + ", ".join(f"{k} {v:.4f}" for k, v in e.items() if k not in ("type", "step")))
        elif e["type"] == "data":
            bar.write(f"data: {len(e['train'])} training brackets, {len(e['val'])} validation ({e['report']})")

    return bar, on_event


def _field_defaults() -> dict:
    from dataclasses import MISSING, fields

    from hdrdesk.training.config import TrainConfig

    out = {}
    for f in fields(TrainConfig):
        out[f.name] = f.default_factory() if f.default_factory is not MISSING else f.default  # type: ignore[misc]
    return out


def parse_override(item: str, defaults: dict) -> tuple[str, object]:
    """``KEY=VALUE`` of ``--set``: VALUE is JSON (strings may be bare), checked against the field's type."""
    from hdrdesk.errors import InputError

    key, eq, value = item.partition("=")
    key = key.strip()
    if not eq or not key:
        raise InputError(f"--set {item}: expected KEY=VALUE, e.g. --set w_mefssim=0")
    if key not in defaults:
        raise InputError(f"--set {item}: unknown config field {key!r} (fields: {', '.join(sorted(defaults))})")
    default = defaults[key]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value  # a bare string
    if isinstance(default, bool):
        ok, want = isinstance(parsed, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(parsed, int) and not isinstance(parsed, bool), "an integer"
    elif isinstance(default, float):
        ok, want = isinstance(parsed, (int, float)) and not isinstance(parsed, bool), "a number"
        parsed = float(parsed) if ok else parsed
    elif isinstance(default, list):
        ok, want = isinstance(parsed, list), "a JSON list, e.g. [1, 2]"
    elif default is None:  # optional text (a path)
        parsed = None if value in ("", "null") else value
        ok, want = True, "text"
    else:
        parsed, ok, want = value, True, "text"
    if not ok:
        raise InputError(f"--set {item}: {key} needs {want}")
    return key, parsed


def build_config(args: argparse.Namespace):
    """TrainConfig from --recipe, then the flags, then --set; every mistake is a one-line InputError."""
    from hdrdesk.errors import InputError
    from hdrdesk.training.config import TrainConfig

    cfg = TrainConfig()
    if args.recipe:
        if not args.recipe.is_file():
            raise InputError(f"{args.recipe}: recipe not found")
        try:
            cfg = TrainConfig.from_dict(json.loads(args.recipe.read_text()))
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{args.recipe}: recipe cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        except ValueError as exc:  # JSON syntax, unknown keys
            raise InputError(f"{args.recipe}: not a valid recipe ({str(exc).splitlines()[0]})") from None
        except TypeError as exc:
            raise InputError(f"{args.recipe}: not a valid recipe ({exc})") from None
        # paths in a recipe are relative to the repository root (the recipe's grandparent)
        base = args.recipe.resolve().parent.parent.parent
        cfg.data = [str((base / d).resolve()) if not Path(d).is_absolute() else d for d in cfg.data]
        if cfg.val_scenes and not Path(cfg.val_scenes).is_absolute():
            cfg.val_scenes = str((base / cfg.val_scenes).resolve())
    if args.data:
        cfg.data = [str(d) for d in args.data]
    for key, val in (("val_scenes", args.val_scenes), ("gamma", args.gamma), ("init", args.init), ("steps", args.steps), ("lr", args.lr), ("out", args.out), ("device", args.device)):
        if val is not None:
            setattr(cfg, key, str(val) if isinstance(val, Path) else val)
    defaults = _field_defaults()
    for item in args.set:
        key, value = parse_override(item, defaults)
        setattr(cfg, key, value)
    return cfg


def _check_export_path(path: Path, overwrite: bool) -> None:
    from hdrdesk.core.io import probe_writable
    from hdrdesk.errors import OutputError

    if path.is_dir():
        raise OutputError(f"{path}: --export is a folder (give a file name, e.g. model.pt)")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists (use --overwrite to replace it)")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    probe_writable(path.parent, path)


def cmd_train(args: argparse.Namespace) -> int:
    from hdrdesk.training.loop import check_config, export_model, train

    cfg = build_config(args)
    check_config(cfg)
    if args.export is not None:  # fail now, not after the training
        _check_export_path(args.export, args.overwrite)
    bar, on_event = _progress_printer(cfg.steps)
    try:
        result = train(cfg, on_event=on_event, resume=args.resume, overwrite=args.overwrite)
    finally:
        bar.close()  # an error then prints on a line of its own, not after the bar
    print(f"run folder: {result.out_dir}  step {result.step}  best validation MEF-SSIM: {result.best_score}")
    if args.export and result.best_path:
        from hdrdesk.core.model import load_model

        model, card = load_model(result.best_path)
        export_model(args.export, model, {"name": cfg.name, "scores": card.get("scores"), "config": cfg.to_dict(), "step": card.get("step")},
                     overwrite=args.overwrite)
        print(f"exported {args.export}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from hdrdesk.training.finetune import FinetuneRequest, run_finetune

    req = FinetuneRequest(folders=[str(f) for f in args.folders], init=args.init, steps=args.steps, lr=args.lr, gamma=args.gamma, name=args.name, device=args.device)
    if req.steps < 1:
        from hdrdesk.errors import InputError

        raise InputError(f"--steps {req.steps}: must be at least 1")
    bar, on_event = _progress_printer(req.steps)
    try:
        outcome = run_finetune(req, on_event=on_event)
    finally:
        bar.close()
    print(outcome.summary())
    return 0
