"""The ``hdrdesk`` command: GUI with no arguments, subcommands for scripting.

Imports are lazy so ``hdrdesk fuse`` does not pay for Qt, and ``--help`` pays
for nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from hdrdesk.runtime import apply_runtime_defaults
from hdrdesk.options import CliError, add_fusion_options as _add_fusion_options, fusion_options_from_args  # noqa: F401 (re-exported)

SUBCOMMANDS = ("fuse", "batch", "eval", "info", "train", "finetune", "gui")
GAMMA_VARIANT_CHOICES = ("variance", "gradient", "exposedness", "hybrid")  # hdrdesk.core.gamma.GAMMA_VARIANTS (not imported: torch)


TRAINING_COMMANDS = ("train", "finetune")


def build_parser(with_training: bool = True) -> argparse.ArgumentParser:
    """The full parser. ``with_training=False`` leaves out ``train``/``finetune``, whose
    registration imports torch and kornia (seconds): ``main`` skips them unless one of
    them (or the top-level help) is asked for, so ``fuse``/``batch``/``eval`` start fast.
    """
    from hdrdesk import __version__

    parser = argparse.ArgumentParser(
        prog="hdrdesk",
        description="HDRDesk: fuse bracketed exposures with an unsupervised CNN. Without a subcommand, opens the desktop app "
        "(optionally with IMG... or a folder to load).",
    )
    parser.add_argument("--version", action="version", version=f"HDRDesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "fuse", help="fuse one bracket into an image",
        description="Fuse one bracket (two or more exposures of one scene) into one image. Frames are ordered darkest "
        "first (by EXIF exposure, else by brightness), aligned to the middle exposure unless --no-align (what was done is "
        "reported on stderr), fused, and written atomically. Errors: one line on stderr, exit code 2.",
        epilog="example: hdrdesk fuse under.jpg over.jpg -o fused.jpg",
    )
    p.add_argument("images", nargs="+", type=Path, metavar="IMG", help="exposures (JPEG/PNG/TIFF or camera RAW) or a folder of them; any order")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output file: .png, .tif/.tiff or .jpg/.jpeg")
    _add_fusion_options(p)
    p.add_argument(
        "--save-weights", type=Path, default=None, metavar="DIR",
        help="also write each exposure's weight map as a 16-bit PNG into DIR (OUTSTEM_weight_I_FRAMESTEM.png, I from 1 darkest first)",
    )
    p.add_argument(
        "--save-gamma", type=Path, default=None, metavar="DIR",
        help="also write each exposure's gamma detail map as a 16-bit PNG into DIR (OUTSTEM_gamma-VARIANT_I_FRAMESTEM.png)",
    )
    p.add_argument("--gamma", choices=GAMMA_VARIANT_CHOICES, default=None, metavar="VARIANT",
                   help="with --save-gamma: variance (default, as the shipped model was trained), gradient, exposedness or hybrid")
    p.add_argument("-v", "--verbose", action="store_true", help="print the time each stage took on stderr")

    from hdrdesk.batch import add_batch_parser

    add_batch_parser(sub)

    p = sub.add_parser(
        "eval", help="score fusion on a folder of scenes with MEF-SSIM",
        description="Fuse every scene folder under DIR and print per-scene and mean MEF-SSIM (3-scale, Ma et al. 2015). "
        "Convention of shared/data/anchors.md: the fused result is rounded to 8 bits, converted to gray with MATLAB's "
        "rgb2gray and scored against the same 8-bit gray frames that were fused. Frames are not aligned unless --align.",
        epilog="example: hdrdesk eval brackets/ --scenes brackets/val_scenes.txt --method mertens --track pair",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="folder of scene folders (layout of shared/data/brackets)")
    p.add_argument("--track", choices=("seq", "pair"), default="seq", help="seq: all exposures; pair: the scene's under/over pair (manifest's mefb_pair, else darkest and brightest) (default seq)")
    p.add_argument("--scenes", default=None, metavar="FILE|LIST", help="only these scenes: a file with one per line (e.g. val_scenes.txt) or a comma-separated list")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")
    p.add_argument("--mertens-weights", default="1,1,0", metavar="C,S,E", help="with --method mertens: contrast,saturation,exposure weights (default 1,1,0 = createMergeMertens())")
    _add_fusion_options(p, with_output_format=False, align_default=False)

    p = sub.add_parser("info", help="versions, device and model in use", description="Print versions, the compute device and the model in use.")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="model to describe (default: the shipped model)")
    p.add_argument("--device", default=None, metavar="D", help="device to report (default auto)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("gui", help="open the desktop app", description="Open the desktop app, optionally loading images or a folder.")
    p.add_argument("images", nargs="*", type=Path, metavar="IMG")
    p.add_argument("--smoke-test", action="store_true", help="open, load the sample, fuse, exit 0 on success")
    p.add_argument("--screenshot", type=Path, default=None, metavar="PATH", help="with --smoke-test: save a screenshot of the window")

    if not with_training:
        return parser
    try:
        from hdrdesk.training.cli import add_training_commands
    except ImportError:  # training module not available
        pass
    else:
        add_training_commands(sub)
    return parser


# ------------------------------------------------------------------ commands


def _print_alignment(alignment, align_on: bool) -> None:
    if not align_on:
        print("align: off", file=sys.stderr)
        return
    for info in alignment:
        if info.note != "reference":
            print(f"align: {info.describe()}", file=sys.stderr)


def _print_colour(frames) -> None:
    """One stderr line per colour profile that frames were converted from."""
    from hdrdesk.core.color_profiles import describe, is_srgb

    converted: dict[str, int] = {}
    for f in frames:
        if not is_srgb(f.icc_profile):
            name = describe(f.icc_profile)
            converted[name] = converted.get(name, 0) + 1
    for name, count in converted.items():
        print(f"colour: {count} frame{'s' if count > 1 else ''} in {name}, converted to sRGB", file=sys.stderr)


def output_profile(args: argparse.Namespace, frames) -> bytes:
    """The ICC profile the output gets (``--output-profile``; ``input``: the middle frame's)."""
    from hdrdesk.core.color_profiles import output_icc

    return output_icc(args.output_profile, frames)


def _export_options(args: argparse.Namespace):
    """What ``fuse`` writes: the image and, with --save-weights/--save-gamma, the maps (hdrdesk.export's names and rules)."""
    from hdrdesk.export import ExportOptions

    gamma_params = None
    if args.save_gamma is not None:  # core.gamma needs torch and kornia: only when gamma maps are asked for
        from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GammaParams

        gamma_params = GammaParams.for_window(args.gamma or DEFAULT_GAMMA_VARIANT)
    return ExportOptions(
        path=args.output, bits=args.bits, quality=args.quality, overwrite=args.overwrite,
        weights=args.save_weights is not None and args.method == "cnn", weights_dir=args.save_weights,
        gamma=args.save_gamma is not None, gamma_dir=args.save_gamma, gamma_params=gamma_params,
    )


def cmd_fuse(args: argparse.Namespace) -> int:
    import time

    from hdrdesk.core.fusion import ModelPreloader
    from hdrdesk.core.io import expand_inputs
    from hdrdesk.export import check_targets, map_targets, prepare_map_folder

    from hdrdesk.core.raw import prefer_raw

    t0 = time.perf_counter()
    inputs, notes = prefer_raw(expand_inputs(args.images))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.gamma is not None and args.save_gamma is None:
        raise CliError("--gamma needs --save-gamma DIR")
    export = _export_options(args)
    for folder, option in ((args.save_weights, "--save-weights"), (args.save_gamma, "--save-gamma")):
        if folder is not None:
            prepare_map_folder(folder, option)
    # every file this run would write is checked now, before any work: an input, the output or an
    # existing file is never replaced by a map (map names carry the frame's index, so they never collide)
    weights, gammas = map_targets(export, inputs)
    check_targets([args.output, *weights, *gammas], inputs, args.overwrite)
    options = fusion_options_from_args(args, keep_weights=export.weights)
    options.validate()
    # torch takes ~1.3 s to import: do it (and load the model) while the frames decode and align
    preload = ModelPreloader(args.model, args.device, fast_switch=True) if args.method == "cnn" else None
    try:
        return _fuse_and_write(args, inputs, options, export, preload, t0)
    finally:
        if preload is not None:
            preload.release(wait=True)


def _fuse_and_write(args: argparse.Namespace, inputs, options, export, preload, t0: float) -> int:
    import time

    import numpy as np

    from hdrdesk.core.fusion import finish_fusion, prepare_fusion
    from hdrdesk.core.io import load_bracket, write_image
    from hdrdesk.export import write_maps

    frames = load_bracket(inputs)
    t_load = time.perf_counter()
    n_frames = len(frames)
    reference_exif = frames[n_frames // 2].exif_bytes  # the middle exposure's EXIF goes into the output
    icc = output_profile(args, frames)
    _print_colour(frames)
    maps = export.weights or export.gamma
    # without maps the frames' pixels are not needed once converted: prepare_fusion empties the list
    prep = prepare_fusion(frames, options, keep_frames=maps)
    _print_alignment(prep.alignment, options.align)
    t_prep = time.perf_counter()
    if preload is not None:
        preload.result()  # a model error surfaces here, as itself
    t_model = time.perf_counter()
    del frames
    out_bits = 8 if args.output.suffix.lower() in (".jpg", ".jpeg") else args.bits
    result = finish_fusion(prep, out_dtype=np.uint8 if out_bits == 8 else np.uint16)
    del prep
    t_fused = time.perf_counter()
    image, weights, fused_frames = result.image, result.weights, result.frames
    h, w = image.shape[:2]
    result.image = result.weights = None  # type: ignore[assignment]
    if maps:  # the maps are named in fused (darkest-first) order: check those exact names again
        from hdrdesk.export import check_targets, map_targets

        w_names, g_names = map_targets(export, [f.path for f in fused_frames], weights is not None)
        check_targets([args.output, *w_names, *g_names], inputs, args.overwrite)
    existed = args.output.exists()
    from hdrdesk.core.color_profiles import convert_from_srgb

    image = convert_from_srgb(image, icc)  # the fused image is sRGB
    write_image(args.output, image, bits=args.bits, quality=args.quality, exif=reference_exif, overwrite=args.overwrite, consume=True, icc=icc)
    del image
    if maps:
        try:
            write_maps(weights, fused_frames, export)
        except BaseException:
            if not existed:  # a run that fails leaves nothing behind
                args.output.unlink(missing_ok=True)
            raise
    t_end = time.perf_counter()
    if getattr(args, "verbose", False):
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        print(
            f"time: read {t_load - t0:.2f} s, prepare {t_prep - t_load:.2f} s, waiting for the model {t_model - t_prep:.2f} s, "
            f"fuse {t_fused - t_model:.2f} s, write {t_end - t_fused:.2f} s ({stages})",
            file=sys.stderr,
        )
    print(f"wrote {args.output} ({result.method}, {w}x{h}, {n_frames} exposures)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from hdrdesk.info import collect_info

    info = collect_info(args.model, args.device)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for k, v in info.items():
            print(f"{k:>14}: {v}")
    return 0


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
    if not argv or argv[0] not in ("train", "finetune"):  # the GUI too: its preview is a fusion
        apply_runtime_defaults()
    # No subcommand: the GUI, with any paths given as images to load.
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-") or argv[0] in ("--smoke-test",)):
        argv = ["gui", *argv]
    elif argv[0] == "--screenshot":
        argv = ["gui", *argv]
    parser = build_parser(with_training=argv[0] in TRAINING_COMMANDS or argv[0] in ("-h", "--help"))
    args = parser.parse_args(argv)
    if args.command != "gui":
        from hdrdesk.core.atomic import install_signal_cleanup

        install_signal_cleanup()  # a 'kill' mid-write leaves no .NAME.*.tmp behind
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
