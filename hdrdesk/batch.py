"""``hdrdesk batch``: fuse a whole shoot, as bracket folders or as a flat folder of camera files.

``--group folders``: one bracket per sub-folder (``OUTDIR/<folder>.<ext>``).
``--group auto``: the brackets are found in DIR's files from their EXIF headers
(:mod:`hdrdesk.shoot.grouping`) and each is written as ``OUTDIR/<first frame>_hdr.<ext>``.
Without ``--group``: folders when DIR holds bracket folders, else auto (a DIR whose images
are all one bracket is fused as that one bracket, named after DIR, as before).

The fusing is :func:`hdrdesk.shoot.queue.run_queue` (made for the GUI's 'Fuse all' too),
pipelined: the next bracket is decoded and aligned on a second thread while the network
runs on the current one. A bracket that fails is reported on stderr (one line naming it
and the problem) and the others go on; the exit code is 1 if any failed, else 0.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hdrdesk.errors import InputError, OutputError
from hdrdesk.options import CliError, add_fusion_options, fusion_options_from_args

FORMAT_SUFFIX = {"png": ".png", "tif": ".tif", "jpg": ".jpg"}
DEFAULT_PATTERN = {"auto": "{first}_hdr", "folders": "{folder}"}


def add_batch_parser(sub) -> argparse.ArgumentParser:
    """Register the ``batch`` subcommand on the CLI's subparsers."""
    p = sub.add_parser(
        "batch", help="fuse a whole shoot: every bracket in a folder of camera files, or every bracket folder",
        description="Fuse every bracket of DIR into OUTDIR. --group auto finds the brackets among DIR's files from their "
        "EXIF (capture time, exposure, camera, lens) and writes OUTDIR/<first frame>_hdr.<ext>; --group folders fuses each "
        "sub-folder of DIR as one bracket into OUTDIR/<folder>.<ext>. Singles (no exposure spread) are listed, not fused. "
        "A bracket that fails is reported (one line on stderr) and the others go on; exit code 1 if any failed, 0 otherwise.",
        epilog="examples: hdrdesk batch DCIM/100CANON -o fused/ --dry-run ; hdrdesk batch shoots/ -o fused/ --format png",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="a folder of camera files, or a folder of bracket folders (or one bracket folder)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="output folder (created if missing)")
    p.add_argument("--group", choices=("auto", "folders"), default=None,
                   help="auto: detect brackets in DIR's files; folders: one bracket per sub-folder "
                   "(default: folders when DIR holds bracket folders, else auto)")
    p.add_argument("--format", choices=("png", "tif", "jpg"), default="jpg", help="output format (default jpg)")
    p.add_argument("--name-pattern", default=None, metavar="PATTERN",
                   help="output name without extension, from {first} and {last} (first/last frame's name without extension), "
                   "{folder}, {index} (1-based, e.g. {index:03d}) and {frames}; default {first}_hdr (auto) or {folder} (folders)")
    p.add_argument("--skip-existing", action=argparse.BooleanOptionalAction, default=None,
                   help="count a bracket whose output exists as done (a restarted run goes on where it stopped); "
                   "on by default with auto grouping, off with folders (then an existing output is a failure unless --overwrite)")
    p.add_argument("--dry-run", action="store_true", help="print the brackets found (frames, EVs, capture time, output) and fuse nothing")
    p.add_argument("--max-gap", type=float, default=None, metavar="S",
                   help="auto: a pause longer than S seconds after a frame ends a series of brackets (default 3)")
    p.add_argument("--prefer-raw", action=argparse.BooleanOptionalAction, default=None,
                   help="auto: fuse the RAW file of a RAW+JPEG pair (default: when HDRDesk can read that RAW format, else the JPEG)")
    add_fusion_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


# ----------------------------------------------------------------- what to fuse


def find_brackets(root: Path, exclude: Path | None = None) -> list[Path]:
    """Sub-folders of ``root`` that hold images (sorted); ``root`` itself if it holds images and has none."""
    from hdrdesk.core.io import list_images

    subs = bracket_folders(root, exclude)
    if subs:
        return subs
    if list_images(root):
        return [root]
    raise InputError(f"{root}: holds no bracket folders (sub-folders of JPEG, PNG or TIFF exposures)")


def bracket_folders(root: Path, exclude: Path | None = None) -> list[Path]:
    """Sub-folders of ``root`` (not hidden, not ``exclude``) that hold images, sorted (the one finder,
    :func:`hdrdesk.scenes.bracket_folders`, without falling back to ``root`` itself)."""
    from hdrdesk.scenes import bracket_folders as find

    return find(root, exclude, include_root=False)


@dataclass
class BatchPlan:
    """The jobs of a batch and how they were found."""

    mode: str  # 'auto' or 'folders'
    jobs: list = field(default_factory=list)  # QueueJob
    grouping: object | None = None  # hdrdesk.shoot.Grouping (auto)
    brackets: list = field(default_factory=list)  # Bracket per job (auto)


def plan_batch(root: Path, outdir: Path, mode: str | None, suffix: str, pattern: str | None = None,
               max_gap: float | None = None, prefer_raw: bool | None = None) -> BatchPlan:
    """Decide the grouping (see the module doc) and the output of every bracket. No pixels are read."""
    from hdrdesk.core.io import list_images
    from hdrdesk.shoot.grouping import MAX_GAP_S, group_files, scan_folder
    from hdrdesk.shoot.naming import bracket_jobs, output_name, unique_names
    from hdrdesk.shoot.queue import QueueJob

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    grouping = None
    if mode is None:
        if bracket_folders(root, exclude=outdir):
            mode = "folders"
        else:
            files = scan_folder(root)
            if not files:
                raise InputError(f"{root}: holds no bracket folders and no images (JPEG, PNG, TIFF or RAW)")
            grouping = group_files(files, prefer_raw=prefer_raw, max_gap=max_gap or MAX_GAP_S)
            one = len(grouping.brackets) == 1 and not grouping.singles and not grouping.ignored
            mode = "folders" if one else "auto"  # DIR is one bracket: named after DIR, as before
    if mode == "folders":
        folders = find_brackets(root, exclude=outdir)
        pattern = pattern or DEFAULT_PATTERN["folders"]
        names = []
        for i, f in enumerate(folders):
            try:
                files = list_images(f)
            except OSError:
                files = []  # unreadable: reported when it is loaded
            first, last = (files[0].stem, files[-1].stem) if files else (f.name, f.name)
            names.append(output_name(pattern, first=first, last=last, folder=f.name, index=i + 1, frames=len(files)))
        names = unique_names(names)
        jobs = [QueueJob(f.name, f, outdir / f"{n}{suffix}") for f, n in zip(folders, names)]
        return BatchPlan("folders", jobs)
    if grouping is None:
        files = scan_folder(root)
        if not files:
            raise InputError(f"{root}: holds no images (JPEG, PNG, TIFF or RAW) directly inside (for a folder of bracket folders use --group folders)")
        grouping = group_files(files, prefer_raw=prefer_raw, max_gap=max_gap or MAX_GAP_S)
    jobs = bracket_jobs(grouping.brackets, outdir, suffix, pattern or DEFAULT_PATTERN["auto"], folder=root.name)
    return BatchPlan("auto", jobs, grouping, list(grouping.brackets))


# ----------------------------------------------------------------- printing


def print_plan(plan: BatchPlan, root: Path, skip_existing: bool, overwrite: bool, out=None) -> None:
    """The --dry-run listing (stdout): one line per bracket, single and ignored file, and the notes."""
    from hdrdesk.shoot.grouping import format_time

    out = out or sys.stdout

    def state(job) -> str:
        if not job.output.exists():
            return ""
        if overwrite:
            return "  [exists: will be replaced]"
        return "  [exists: skipped]" if skip_existing else "  [exists: fails without --overwrite]"

    if plan.mode == "folders":
        print(f"# {root}: {len(plan.jobs)} bracket folder{'s' if len(plan.jobs) != 1 else ''} (--group folders)", file=out)
        for job in plan.jobs:
            print(f"{job.output.name}  <- {job.source}{state(job)}", file=out)
        return
    g = plan.grouping
    print(
        f"# {root}: {len(plan.jobs)} bracket{'s' if len(plan.jobs) != 1 else ''} ({g.frame_count} frames), "
        f"{len(g.singles)} single{'s' if len(g.singles) != 1 else ''}, {len(g.ignored)} ignored; "
        f"grouped in {g.seconds:.3f} s (--group auto)",
        file=out,
    )
    for job, b in zip(plan.jobs, plan.brackets):
        frames = ", ".join(f"{s.name} {ev}" for s, ev in zip(b.shots, b.ev_labels()))
        camera = f", {b.camera}" if b.camera else ""
        print(f"{job.output.name}  <- {len(b.shots)} frames, {format_time(b.start_time)}{camera}: {frames}{state(job)}", file=out)
    for s in g.singles:
        print(f"single  {s.name}  {format_time(s.capture_time)}  (no other exposure: not fused)", file=out)
    for path, why in g.ignored:
        print(f"ignored {path.name}: {why}", file=out)
    for note in g.notes:
        print(f"note: {note}", file=out)


def _summary_line(summary, outdir: Path) -> str:
    text = f"fused {len(summary.fused)} of {summary.total} brackets into {outdir} in {summary.seconds:.1f} s"
    if summary.skipped_existing:
        text += f"; {len(summary.skipped_existing)} skipped (output exists)"
    if summary.singles:
        text += f"; {len(summary.singles)} single{'s' if len(summary.singles) != 1 else ''} not fused"
    if summary.failed:
        text += f"; {len(summary.failed)} failed: {', '.join(job.name for job, _ in summary.failed)}"
    if summary.cancelled:
        text += f"; interrupted, {summary.not_done} not done (run the same command again to continue)"
    return text


# ----------------------------------------------------------------- the command


def cmd_batch(args: argparse.Namespace) -> int:
    from hdrdesk.core.io import probe_writable

    root: Path = args.folder
    outdir: Path = args.output
    if args.max_gap is not None and not args.max_gap > 0:
        raise CliError(f"--max-gap {args.max_gap}: must be more than 0 seconds")
    options = fusion_options_from_args(args, keep_weights=False)
    options.validate()
    suffix = FORMAT_SUFFIX[args.format]
    plan = plan_batch(root, outdir, args.group, suffix, args.name_pattern, args.max_gap, args.prefer_raw)
    skip_existing = args.skip_existing if args.skip_existing is not None else plan.mode == "auto"
    if args.dry_run:
        print_plan(plan, root, skip_existing, args.overwrite)
        return 0
    if plan.grouping is not None:
        for note in plan.grouping.notes:
            print(f"hdrdesk: note: {note}", file=sys.stderr)
        if not plan.jobs and len(plan.grouping.singles) > 1:
            print(
                f"hdrdesk: note: no brackets found among {len(plan.grouping.singles)} single shots; if they are one bracket "
                "shot slowly, use --group folders or a longer --max-gap (see --dry-run)",
                file=sys.stderr,
            )
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from None
    probe_writable(outdir)
    singles = [s.path for s in plan.grouping.singles] if plan.grouping is not None else []
    summary = _run(plan.jobs, options, args, skip_existing, singles)
    print(_summary_line(summary, outdir))
    if summary.cancelled:
        return 130
    return 1 if summary.failed else 0


def _run(jobs, options, args: argparse.Namespace, skip_existing: bool, singles):
    from tqdm import tqdm

    from hdrdesk.core.fusion import ModelPreloader
    from hdrdesk.shoot.queue import OutputSettings, QueueEvent, run_queue

    settings = OutputSettings(bits=args.bits, quality=args.quality, overwrite=args.overwrite, skip_existing=skip_existing,
                              profile=getattr(args, "output_profile", "srgb"))
    to_fuse = [j for j in jobs if args.overwrite or not (skip_existing and j.output.exists())]
    # the model loads (torch imports) in the background while the first bracket decodes
    preload = ModelPreloader(args.model, args.device) if args.method == "cnn" and to_fuse else None
    bar = tqdm(total=len(jobs), unit="bracket", file=sys.stderr, dynamic_ncols=True, disable=args.no_progress)

    def on_event(ev: QueueEvent) -> None:
        where = f"[{ev.index + 1}/{ev.total}]"
        if ev.kind == "progress" or ev.kind == "start":
            bar.set_postfix_str(f"{ev.job.name} {ev.message} {100 * ev.bracket_fraction:.0f}%")
            return
        if ev.kind == "fused":
            tqdm.write(f"hdrdesk: {where} wrote {ev.job.output} ({ev.seconds:.1f} s)", file=sys.stderr)
        elif ev.kind == "skipped":
            tqdm.write(f"hdrdesk: {where} skipped {ev.job.name}: {ev.job.output.name} {ev.message}", file=sys.stderr)
        else:
            tqdm.write(f"hdrdesk: failed: {ev.job.name}: {ev.message}", file=sys.stderr)
        bar.update(1)

    try:
        return run_queue(jobs, options, settings, on_event=on_event, prefetch=1, singles=singles, preload=preload)
    finally:
        bar.close()
        if preload is not None:
            preload.release(wait=True)
