"""The ``hdrdesk`` command: GUI with no arguments, subcommands for scripting.

Imports are lazy so ``hdrdesk fuse`` does not pay for Qt, and ``--help`` pays
for nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

SUBCOMMANDS = ("fuse", "batch", "eval", "info", "train", "finetune", "gui")


class CliError(Exception):
    """Bad usage or input: one line on stderr, exit code 2."""


def _add_fusion_options(p: argparse.ArgumentParser, with_output_format: bool = True) -> None:
    p.add_argument("--method", choices=("cnn", "mertens"), default="cnn", help="fusion method: the network (default) or OpenCV's Mertens exposure fusion")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="model file (default: the shipped model)")
    p.add_argument("--no-align", action="store_true", help="do not align the frames (alignment is on by default)")
    p.add_argument("--working-size", type=int, default=512, metavar="N", help="short side, in pixels, of the copy the network sees (default 512)")
    p.add_argument("--device", default=None, metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")
    if with_output_format:
        p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="bits per channel for PNG/TIFF output (default 8)")
        p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality 1-100 (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def build_parser() -> argparse.ArgumentParser:
    from hdrdesk import __version__

    parser = argparse.ArgumentParser(
        prog="hdrdesk",
        description="HDRDesk: fuse bracketed exposures with an unsupervised CNN. Without a subcommand, opens the desktop app "
        "(optionally with IMG... or a folder to load).",
    )
    parser.add_argument("--version", action="version", version=f"HDRDesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("fuse", help="fuse one bracket into an image", description="Fuse one bracket (two or more exposures of one scene) into one image.")
    p.add_argument("images", nargs="+", type=Path, metavar="IMG", help="exposures (JPEG/PNG/TIFF) or a folder of them; any order")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output file: .png, .tif/.tiff or .jpg/.jpeg")
    _add_fusion_options(p)
    p.add_argument("--save-weights", type=Path, default=None, metavar="DIR", help="also write each exposure's weight map as a 16-bit PNG into DIR")

    p = sub.add_parser("batch", help="fuse every bracket folder under a folder", description="Fuse every bracket folder under DIR into OUTDIR/<folder>.<ext>.")
    p.add_argument("folder", type=Path, metavar="DIR", help="a folder of bracket folders (or a single bracket folder)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="output folder (created if missing)")
    p.add_argument("--format", choices=("png", "tif", "jpg"), default="jpg", help="output format (default jpg)")
    _add_fusion_options(p)

    p = sub.add_parser("eval", help="score fusion on a folder of scenes with MEF-SSIM", description="Fuse every scene folder under DIR and print per-scene and mean MEF-SSIM.")
    p.add_argument("folder", type=Path, metavar="DIR", help="folder of scene folders (layout of shared/data/brackets)")
    p.add_argument("--track", choices=("seq", "pair"), default="seq", help="seq: all exposures; pair: the scene's under/over pair (default seq)")
    p.add_argument("--scenes", default=None, metavar="FILE|LIST", help="only these scenes: a file with one per line (e.g. val_scenes.txt) or a comma-separated list")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.add_argument("--mertens-weights", default="1,1,0", metavar="C,S,E", help="Mertens contrast,saturation,exposure weights (default 1,1,0)")
    _add_fusion_options(p, with_output_format=False)

    p = sub.add_parser("info", help="versions, device and model in use", description="Print versions, the compute device and the model in use.")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="model to describe (default: the shipped model)")
    p.add_argument("--device", default=None, metavar="D", help="device to report (default auto)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("gui", help="open the desktop app", description="Open the desktop app, optionally loading images or a folder.")
    p.add_argument("images", nargs="*", type=Path, metavar="IMG")
    p.add_argument("--smoke-test", action="store_true", help="open, load the sample, fuse, exit 0 on success")
    p.add_argument("--screenshot", type=Path, default=None, metavar="PATH", help="with --smoke-test: save a screenshot of the window")

    try:
        from hdrdesk.training.cli import add_training_commands
    except ImportError:  # training module not available
        pass
    else:
        add_training_commands(sub)
    return parser


# ------------------------------------------------------------------ commands


def cmd_fuse(args: argparse.Namespace) -> int:
    from hdrdesk.core.fusion import FusionOptions, fuse_frames
    from hdrdesk.core.io import check_output_path, expand_inputs, load_bracket, write_image

    inputs = expand_inputs(args.images)
    check_output_path(args.output, inputs, args.overwrite)
    if args.save_weights is not None and args.save_weights.exists() and not args.save_weights.is_dir():
        raise CliError(f"{args.save_weights}: --save-weights must be a folder")
    frames = load_bracket(inputs)
    options = FusionOptions(
        method=args.method, model_path=args.model, working_size=args.working_size,
        align=not args.no_align, device=args.device, keep_weights=args.save_weights is not None,
    )
    result = fuse_frames(frames, options)
    for info in result.alignment:
        if info.applied or info.note.startswith("alignment"):
            print(f"align: {info.describe()}", file=sys.stderr)
    reference = frames[len(frames) // 2]
    write_image(args.output, result.image, bits=args.bits, quality=args.quality, exif=reference.exif_bytes, overwrite=args.overwrite)
    if args.save_weights is not None and result.weights is not None:
        args.save_weights.mkdir(parents=True, exist_ok=True)
        for frame, w in zip(result.frames, result.weights):
            write_image(args.save_weights / f"weight_{frame.path.stem}.png", w, bits=16, overwrite=True)
    print(f"wrote {args.output} ({result.method}, {result.image.shape[1]}x{result.image.shape[0]}, {len(frames)} exposures)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = collect_info(args.model, args.device)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for k, v in info.items():
            print(f"{k:>14}: {v}")
    return 0


def collect_info(model_path: Path | None = None, device: str | None = None) -> dict:
    """Versions, device and model: what ``hdrdesk info`` prints and the app logs at start."""
    import platform

    import cv2
    import numpy
    import torch

    from hdrdesk import __version__
    from hdrdesk.core.device import describe_device, pick_device
    from hdrdesk.paths import default_model_path

    try:
        import PySide6

        qt = PySide6.__version__
    except ImportError:
        qt = "not installed"
    dev = pick_device(device)
    info = {
        "hdrdesk": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "pyside6": qt,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", "(default)"),
        "device": describe_device(dev),
    }
    path = model_path or default_model_path()
    try:
        from hdrdesk.core.model import count_parameters, load_model

        model, card = load_model(path)
        info["model"] = f"{card.get('name', Path(path).stem)} ({path})"
        info["model_params"] = count_parameters(model)
        if "scores" in card:
            info["model_scores"] = card["scores"]
    except Exception as exc:
        info["model"] = f"unavailable: {exc}"
    return info


def cmd_gui(args: argparse.Namespace) -> int:
    from hdrdesk.gui.app import run_app

    return run_app(list(getattr(args, "images", []) or []), smoke_test=getattr(args, "smoke_test", False), screenshot=getattr(args, "screenshot", None))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "fuse":
        return cmd_fuse(args)
    if args.command == "batch":
        from hdrdesk.batch import cmd_batch

        return cmd_batch(args)
    if args.command == "eval":
        from hdrdesk.evaluate import cmd_eval

        return cmd_eval(args)
    if args.command == "info":
        return cmd_info(args)
    if args.command in ("train", "finetune"):
        return args.func(args)
    return cmd_gui(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # No subcommand: the GUI, with any paths given as images to load.
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-") or argv[0] in ("--smoke-test",)):
        argv = ["gui", *argv]
    elif argv[0] == "--screenshot":
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    from hdrdesk.errors import Cancelled, HDRDeskError

    try:
        return _dispatch(args)
    except (HDRDeskError, CliError) as exc:
        if isinstance(exc, Cancelled):
            print("hdrdesk: cancelled", file=sys.stderr)
            return 130
        print(f"hdrdesk: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hdrdesk: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("hdrdesk: error: out of memory (try a smaller --working-size or smaller images)", file=sys.stderr)
        return 2
