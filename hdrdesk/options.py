"""Fusion flags shared by ``fuse``, ``batch`` and ``eval``: their argparse options and their checks.

A module of its own (not in cli.py) so that the commands' modules (batch.py...) and the
CLI both depend on it and never on each other.
"""

from __future__ import annotations

import argparse
from pathlib import Path


class CliError(Exception):
    """Bad usage or input: one line on stderr, exit code 2."""


def add_fusion_options(p: argparse.ArgumentParser, with_output_format: bool = True, align_default: bool = True) -> None:
    """Register --method, --model, alignment, --working-size, --device (and the output flags)."""
    p.add_argument("--method", choices=("cnn", "mertens", "fmmef"), default="cnn", help="fusion method: the network (default), OpenCV's Mertens exposure fusion, or FMMEF (Li et al., TIP 2020)")
    p.add_argument("--model", type=Path, default=None, metavar="PATH", help="model file (default: the shipped model)")
    if align_default:
        p.add_argument("--no-align", dest="align", action="store_false", help="do not align the frames (alignment is on by default)")
    else:
        p.add_argument(
            "--align", dest="align", action="store_true",
            help="align the frames first (off by default here: the evaluation data is pre-registered, and the anchor scores "
            "were measured on the frames as shipped, without alignment)",
        )
        p.add_argument("--no-align", dest="align", action="store_false", help="do not align (the default here)")
    p.set_defaults(align=align_default)
    p.add_argument("--working-size", type=int, default=512, metavar="N", help="short side, in pixels, of the copy the network sees (default 512)")
    p.add_argument("--device", default=None, metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")
    if with_output_format:
        p.add_argument("--bits", type=int, choices=(8, 16), default=8, help="bits per channel for PNG/TIFF output (default 8; JPEG is always 8)")
        p.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG quality 1-100 (default 95)")
        p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def fusion_options_from_args(args: argparse.Namespace, keep_weights: bool):
    """Check the shared fusion flags of ``fuse`` and ``batch`` and turn them into FusionOptions."""
    from hdrdesk.core.fusion import FusionOptions

    if args.model is not None and not args.model.is_file():
        raise CliError(f"{args.model}: model file not found")
    if not 1 <= args.quality <= 100:
        raise CliError(f"--quality {args.quality}: must be 1-100")
    return FusionOptions(
        method=args.method, model_path=args.model, working_size=args.working_size,
        align=args.align, device=args.device, keep_weights=keep_weights,
    )
