"""Output names for a shoot's brackets: ``IMG_0001_hdr.jpg`` from a pattern, unique within the run."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from hdrdesk.errors import InputError, OutputError
from hdrdesk.shoot.grouping import Bracket
from hdrdesk.shoot.queue import QueueJob

DEFAULT_PATTERN = "{first}_hdr"
PATTERN_FIELDS = ("first", "last", "folder", "index", "frames")


def output_name(pattern: str, *, first: str, last: str, folder: str, index: int, frames: int) -> str:
    """The pattern filled in (fields: see PATTERN_FIELDS). A bad field or a path in the result is an InputError."""
    try:
        name = pattern.format(first=first, last=last, folder=folder, index=index, frames=frames)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        fields = ", ".join("{" + f + "}" for f in PATTERN_FIELDS)
        raise InputError(f"--name-pattern {pattern!r}: {exc} (fields: {fields})") from None
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise InputError(f"--name-pattern {pattern!r}: gives {name!r}, not a file name")
    return name


def unique_names(names: Sequence[str]) -> list[str]:
    """Same name twice (two cameras both at IMG_0001, a pattern without a per-bracket field): add _2, _3 in order."""
    seen: dict[str, int] = {}
    taken = {n.lower() for n in names}  # case-insensitive: the outputs may land on such a file system
    out = []
    for n in names:
        key = n.lower()
        if key not in seen:
            seen[key] = 1
            out.append(n)
            continue
        k = seen[key]
        while f"{n}_{k}".lower() in taken or k == seen[key]:
            k += 1
        seen[key] = k
        taken.add(f"{n}_{k}".lower())
        out.append(f"{n}_{k}")
    return out


def bracket_jobs(brackets: Sequence[Bracket], outdir: Path, suffix: str, pattern: str = DEFAULT_PATTERN, folder: str = "") -> list[QueueJob]:
    """A queue job per bracket: its frames and ``outdir/<name><suffix>``. An output that is one of the frames is an OutputError."""
    names = unique_names([
        output_name(pattern, first=b.first.path.stem, last=b.shots[-1].path.stem, folder=folder, index=i + 1, frames=len(b.shots))
        for i, b in enumerate(brackets)
    ])
    jobs = [QueueJob(b.first.name, b.files, Path(outdir) / f"{n}{suffix}") for b, n in zip(brackets, names)]
    inputs = {p.resolve() for b in brackets for s in b.shots for p in (s.path, *s.companions)}
    for job in jobs:
        if job.output.resolve() in inputs:
            raise OutputError(f"{job.output}: output path is one of the inputs (choose another output folder or name pattern)")
    return jobs
