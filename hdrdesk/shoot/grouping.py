"""Find the brackets in a flat folder (or a drop) of camera files.

1. Files of one capture (``IMG_0001.CR2`` + ``IMG_0001.JPG``) become one :class:`Shot`.
2. Shots are split by camera (make, model, serial) and lens, sorted by capture time
   (``DateTimeOriginal`` + ``SubSecTimeOriginal``; file name breaks ties) and cut into
   *runs* wherever the pause after a frame (its exposure time deducted) exceeds
   ``max_gap`` seconds.
3. Each run is cut into brackets by exposure: a bracket never holds two frames of the
   same exposure, and a pattern of offsets that repeats in the shoot (0,-2,+2 or
   -2,0,+2 ..., learned from runs that it tiles exactly) is preferred. So two brackets
   shot back to back, one second apart, are split even when the metering changed between
   them. The exposure key is the exposure bias (AEB offsets are recorded there) when it
   varies in the run, else log2(t * ISO / N^2).
4. Files without a capture time are taken in file-name order, cut where the picture
   changes (rank correlation of tiny thumbnails) and keyed by brightness, with a note.

Runs of frames with no exposure spread give *singles*, which are listed, not fused.
Only headers are read (see :mod:`hdrdesk.shoot.exif`), except for the brightness
fallback, which decodes a reduced copy of the files that lack EXIF.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable, Sequence

from hdrdesk.shoot.exif import ShotInfo, read_shot_info

RAW_SUFFIXES = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2")
PIXEL_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
MAX_GAP_S = 3.0  # pause (after the previous frame's exposure) that ends a run
MAX_FRAMES = 9  # longest bracket considered (cameras bracket 2-9 frames)
EV_TOLERANCE = 0.15  # exposures closer than this (stops) count as equal; AEB steps are >= 1/3 stop
BRIGHTNESS_TOLERANCE = 0.1  # same, for log2 mean brightness (the fallback)
SAME_SCENE_CORRELATION = 0.6  # thumbnail rank correlation above which two frames show one scene
# Segment scores (see _segment): every frame in a bracket scores 1, each bracket costs
# _BRACKET_COST (so longer brackets win when nothing else decides), a bracket that
# repeats a learned pattern earns _PATTERN_BONUS (> 2 * cost: two pattern brackets beat
# their merge).
_BRACKET_COST = 0.5
_PATTERN_BONUS = 1.5


@dataclass(eq=False)
class Shot:
    """One capture: the file to fuse, other files of the same capture, its header info."""

    path: Path
    info: ShotInfo
    companions: tuple[Path, ...] = ()
    key: float | None = None  # the exposure key grouping used (EV or log2 brightness)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def capture_time(self) -> float | None:
        return self.info.capture_time


@dataclass(eq=False)
class Bracket:
    """Frames of one scene at different exposures, in capture order."""

    shots: list[Shot]
    grouped_by: str = "exif"  # 'exif', 'brightness' (no capture time) or 'folder'
    key_kind: str = "bias"  # 'bias', 'exposure' or 'brightness': what Shot.key means

    @property
    def files(self) -> list[Path]:
        return [s.path for s in self.shots]

    @property
    def first(self) -> Shot:
        return self.shots[0]

    @property
    def start_time(self) -> float | None:
        return self.shots[0].capture_time

    @property
    def camera(self) -> str:
        return self.shots[0].info.camera

    def ev_labels(self) -> list[str]:
        """Per frame, its exposure as the grouping saw it: '-2.0 EV' (bias or relative to the middle), or brightness."""
        keys = [s.key for s in self.shots]
        if self.key_kind == "brightness" or any(k is None for k in keys):
            return ["brightness ?" if k is None else f"brightness {2.0 ** k:.2f}" for k in keys]
        if self.key_kind == "bias":
            return [f"{k:+.1f} EV" for k in keys]
        mid = sorted(keys)[len(keys) // 2]
        return [f"{k - mid:+.1f} EV" for k in keys]


@dataclass
class Grouping:
    """What :func:`group_files` found."""

    brackets: list[Bracket] = field(default_factory=list)
    singles: list[Shot] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it is not used)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0  # time taken

    @property
    def frame_count(self) -> int:
        return sum(len(b.shots) for b in self.brackets)


# ----------------------------------------------------------------- files and shots


def raw_readable() -> bool:
    """Whether HDRDesk's reader decodes RAW files (then a RAW+JPEG pair is fused from the RAW)."""
    from hdrdesk.core import io

    return any(s in io.IMAGE_SUFFIXES for s in RAW_SUFFIXES)


def scan_folder(folder: str | os.PathLike) -> list[Path]:
    """Image and RAW files directly inside ``folder`` (not hidden), sorted by name."""
    out = []
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            if name.startswith("."):
                continue
            suffix = os.path.splitext(name)[1].lower()
            if (suffix in PIXEL_SUFFIXES or suffix in RAW_SUFFIXES) and entry.is_file():
                out.append(entry.path)
    out.sort(key=os.path.basename)
    return [Path(p) for p in out]


def collect_shots(paths: Iterable[str | os.PathLike], prefer_raw: bool | None = None) -> tuple[list[Shot], list[tuple[Path, str]]]:
    """Pair RAW and JPEG files of one capture (same folder and name, any case) into shots.

    ``prefer_raw``: fuse the RAW of a pair (True), the JPEG (False), or the RAW when
    HDRDesk can read RAW files (None). A RAW without a JPEG that cannot be read is ignored.
    """
    can_read_raw = raw_readable()
    use_raw = can_read_raw if prefer_raw is None else prefer_raw
    by_capture: dict[tuple[str, str], list[Path]] = defaultdict(list)
    ignored: list[tuple[Path, str]] = []
    for p in paths:
        folder, name = os.path.split(p)
        stem, suffix = os.path.splitext(name)
        if suffix.lower() not in PIXEL_SUFFIXES and suffix.lower() not in RAW_SUFFIXES:
            ignored.append((Path(p), "not an image file"))
            continue
        by_capture[(folder, stem.lower())].append(p if isinstance(p, Path) else Path(p))
    shots: list[Shot] = []
    for files in by_capture.values():
        if len(files) == 1:  # the common case, quickly
            f = files[0]
            if f.suffix.lower() in RAW_SUFFIXES and not can_read_raw and prefer_raw is not True:
                ignored.append((f, "RAW files cannot be read yet and there is no JPEG of this shot"))
            else:
                shots.append(Shot(f, read_shot_info(f)))
            continue
        files.sort(key=lambda f: (f.suffix.lower() not in (".jpg", ".jpeg"), f.name))  # JPEG first among pictures
        raws = [f for f in files if f.suffix.lower() in RAW_SUFFIXES]
        pixels = [f for f in files if f.suffix.lower() in PIXEL_SUFFIXES]
        if raws and (use_raw or not pixels):
            if not pixels and not can_read_raw and prefer_raw is not True:
                ignored.extend((r, "RAW files cannot be read yet and there is no JPEG of this shot") for r in raws)
                continue
            chosen = raws[0]
        else:
            chosen = pixels[0]
        partners = tuple(f for f in raws + pixels if f != chosen)
        info = read_shot_info(chosen)
        if (info.capture_time is None or info.exposure_ev is None) and partners:
            info = info.merged(read_shot_info(partners[0]))  # e.g. a CR3 (not TIFF-based) beside its JPEG
        shots.append(Shot(chosen, info, partners))
    return shots, ignored


# ----------------------------------------------------------------- grouping


def group_files(
    paths: Iterable[str | os.PathLike],
    *,
    prefer_raw: bool | None = None,
    max_gap: float = MAX_GAP_S,
    max_frames: int = MAX_FRAMES,
    skip_own_outputs: bool = True,
) -> Grouping:
    """Group image files (a folder's listing or a drop) into brackets and singles."""
    t0 = time.perf_counter()
    shots, ignored = collect_shots(paths, prefer_raw)  # type: ignore[arg-type]
    if skip_own_outputs:
        own = [s for s in shots if s.info.software.startswith("HDRDesk")]
        ignored.extend((s.path, "written by HDRDesk (a fused result)") for s in own)
        shots = [s for s in shots if not s.info.software.startswith("HDRDesk")]
    result = Grouping(ignored=ignored)
    timed, untimed = [], []
    for s in shots:
        known = s.capture_time is not None and (s.info.bias_ev is not None or s.info.exposure_ev is not None)
        (timed if known else untimed).append(s)
    untimed.sort(key=lambda s: _natural(s.path))
    streams: dict[tuple[str, str], list[Shot]] = defaultdict(list)
    for s in timed:
        streams[(s.info.camera, s.info.lens)].append(s)
    if len(streams) > 1:
        cams = sorted({cam or "unknown camera" for cam, _ in streams})
        if len(cams) > 1:
            result.notes.append(f"{len(cams)} cameras ({', '.join(cams)}): grouped separately")
    for stream in streams.values():
        stream.sort(key=lambda s: (s.capture_time, _natural(s.path)))
        runs = _split_by_time(stream, max_gap)
        _group_runs(runs, result, max_frames, grouped_by="exif")
    if untimed:
        result.notes.append(
            f"{len(untimed)} file{'s' if len(untimed) > 1 else ''} without EXIF capture time and exposure "
            f"(e.g. {untimed[0].name}): grouped by file order, picture and brightness, which is a guess"
        )
        runs = _split_by_picture(untimed)
        _group_runs(runs, result, max_frames, grouped_by="brightness")
    result.brackets.sort(key=lambda b: (b.start_time is None, b.start_time or 0.0, _natural(b.first.path)))
    result.singles.sort(key=lambda s: (s.capture_time is None, s.capture_time or 0.0, _natural(s.path)))
    result.seconds = time.perf_counter() - t0
    return result


def group_folder(folder: str | os.PathLike, **kwargs) -> Grouping:
    """:func:`group_files` on the image and RAW files directly inside ``folder``."""
    t0 = time.perf_counter()
    result = group_files(scan_folder(folder), **kwargs)
    result.seconds = time.perf_counter() - t0
    return result


_DIGITS = re.compile(r"(\d+)")


def _natural(path: Path) -> tuple:
    """Sort key: 'IMG_2' before 'IMG_10'."""
    return tuple(int(t) if t.isdigit() else t.lower() for t in _DIGITS.split(path.name))


def _split_by_time(stream: list[Shot], max_gap: float) -> list[list[Shot]]:
    runs: list[list[Shot]] = []
    prev: Shot | None = None
    for s in stream:
        if prev is not None:
            pause = s.capture_time - prev.capture_time - (prev.info.exposure_time or 0.0)  # type: ignore[operator]
            if pause <= max_gap:
                runs[-1].append(s)
                prev = s
                continue
        runs.append([s])
        prev = s
    return runs


def _group_runs(runs: list[list[Shot]], result: Grouping, max_frames: int, grouped_by: str) -> None:
    keyed = [(run, *_assign_keys(run, grouped_by)) for run in runs]
    patterns = _learn_patterns([k for k in keyed if k[1] != "none"], max_frames)
    for run, kind, tol in keyed:
        if kind == "none":  # no exposure known: cannot tell a bracket from a burst
            result.singles.extend(run)
            continue
        for a, b in _segment([s.key for s in run], patterns.get(kind, []), kind, tol, max_frames):  # type: ignore[misc]
            if b - a >= 2:
                result.brackets.append(Bracket(run[a:b], grouped_by=grouped_by, key_kind=kind))
            else:
                result.singles.append(run[a])


def _assign_keys(run: list[Shot], grouped_by: str) -> tuple[str, float]:
    """Set each shot's key; return what the key is and its tolerance."""
    if grouped_by == "brightness":  # keys set by _split_by_picture
        return ("brightness", BRIGHTNESS_TOLERANCE) if all(s.key is not None for s in run) else ("none", 0.0)
    biases = [s.info.bias_ev for s in run]
    if all(b is not None for b in biases) and max(biases) - min(biases) >= EV_TOLERANCE:  # type: ignore[type-var,operator]
        for s in run:
            s.key = s.info.bias_ev
        return "bias", EV_TOLERANCE
    evs = [s.info.exposure_ev for s in run]
    if all(e is not None for e in evs):
        for s in run:
            s.key = s.info.exposure_ev
        return "exposure", EV_TOLERANCE
    return "none", 0.0


def _distinct(keys: Sequence[float], tol: float) -> bool:
    ordered = sorted(keys)
    return all(b - a >= tol for a, b in zip(ordered, ordered[1:]))


def _shape(keys: Sequence[float], kind: str) -> tuple[float, ...]:
    """What repeats from bracket to bracket: the bias values themselves (AEB offsets are recorded
    as they are), else the offsets from the first frame (the metering may change between brackets)."""
    return tuple(keys) if kind == "bias" else tuple(k - keys[0] for k in keys)


def _same_shape(a: Sequence[float], b: Sequence[float], tol: float) -> bool:
    return len(a) == len(b) and all(abs(x - y) < tol for x, y in zip(a, b))


def _pauses(run: list[Shot]) -> list[float] | None:
    """Pause between consecutive frames (previous exposure deducted); None without capture times."""
    if any(s.capture_time is None for s in run):
        return None
    return [b.capture_time - a.capture_time - (a.info.exposure_time or 0.0) for a, b in zip(run, run[1:])]  # type: ignore[operator]


def _learn_patterns(runs: list[tuple[list[Shot], str, float]], max_frames: int) -> dict[str, list[tuple[float, ...]]]:
    """Bracket shapes that repeat in the shoot: learned from runs that they tile exactly.

    A run is a series of brackets with no long pause, so it starts with a bracket's first
    frame. Its pattern is the shortest period p whose blocks all have the first block's
    shape (see :func:`_shape`), distinct exposures each, and pauses between blocks at
    least as long as within them. A shape counts once it explains two brackets.
    """
    support: Counter = Counter()
    for run, kind, tol in runs:
        keys = [s.key for s in run]
        pauses = _pauses(run)
        n = len(keys)
        for p in range(2, min(n, max_frames) + 1):
            if n % p:
                continue
            first = _shape(keys[:p], kind)
            blocks = [keys[i : i + p] for i in range(0, n, p)]
            if not all(_distinct(b, tol) and _same_shape(_shape(b, kind), first, tol) for b in blocks):
                continue
            if pauses is not None and len(blocks) > 1:
                between = [g for i, g in enumerate(pauses) if i % p == p - 1]
                within = [g for i, g in enumerate(pauses) if i % p != p - 1]
                if min(between) < max(within) - 0.05:  # the blocks do not stand apart in time: no bracket pattern
                    continue
            support[(kind, tuple(round(o * 3) / 3 for o in first))] += len(blocks)
            break
    out: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for (kind, pattern), count in support.items():
        if count >= 2:
            out[kind].append(pattern)
    return out


def _segment(keys: list[float], patterns: Sequence[tuple[float, ...]], kind: str, tol: float, max_frames: int) -> list[tuple[int, int]]:
    """Best cut of a run into brackets and singles (dynamic programming over cut points).

    Valid brackets hold distinct exposures. Score: frames - cost per piece, plus a bonus
    for a bracket whose offsets match a learned pattern. Without patterns this makes the
    longest brackets of distinct exposures; with one, repeats of the pattern win.
    """
    n = len(keys)
    best = [-math.inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for j in range(1, n + 1):
        for i in range(j - 1, max(-1, j - max_frames - 1), -1):
            seg = keys[i:j]
            if len(seg) >= 2 and not _distinct(seg, tol):
                break  # a longer piece would hold the same repeat
            score = len(seg) - _BRACKET_COST
            if len(seg) >= 2 and any(_same_shape(_shape(seg, kind), p, tol) for p in patterns):
                score += _PATTERN_BONUS
            if best[i] + score > best[j]:
                best[j], back[j] = best[i] + score, i
    cuts = []
    j = n
    while j > 0:
        cuts.append((back[j], j))
        j = back[j]
    return cuts[::-1]


# ----------------------------------------------------------------- fallback without EXIF


def _split_by_picture(shots: list[Shot]) -> list[list[Shot]]:
    """Runs of consecutive files that show the same scene; sets each shot's brightness key."""
    import numpy as np

    runs: list[list[Shot]] = []
    prev_ranks = None
    for s in shots:
        t = _thumbnail(s.path)
        if t is None:
            s.key = None
            runs.append([s])
            prev_ranks = None
            continue
        s.key, ranks = t
        if prev_ranks is not None and float(np.corrcoef(prev_ranks, ranks)[0, 1]) >= SAME_SCENE_CORRELATION:
            runs[-1].append(s)
        else:
            runs.append([s])
        prev_ranks = ranks
    return runs


def _thumbnail(path: Path):
    """(log2 mean brightness, ranks of a 32x24 gray thumbnail) from a reduced decode; None if unreadable."""
    import cv2
    import numpy as np

    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    flag = cv2.IMREAD_REDUCED_GRAYSCALE_8 if path.suffix.lower() in (".jpg", ".jpeg") else cv2.IMREAD_GRAYSCALE
    img = cv2.imdecode(buf, flag)
    if img is None or img.size == 0:
        return None
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8)
    if img.ndim == 3:
        img = img[:, :, 0]
    small = cv2.resize(img, (32, 24), interpolation=cv2.INTER_AREA).ravel().astype(np.float64)
    mean = max(float(img.mean()) / 255.0, 1e-4)
    # ranks with ties averaged (clipped areas are large ties)
    order = np.argsort(small, kind="stable")
    ranks = np.empty_like(small)
    ranks[order] = np.arange(small.size, dtype=np.float64)
    _, inverse = np.unique(small, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    ranks = (sums / counts)[inverse]
    if ranks.std() == 0:
        ranks = ranks + np.arange(ranks.size) * 1e-9  # a flat picture: avoid a NaN correlation
    return math.log2(mean), ranks


def format_time(seconds: float | None) -> str:
    """A capture time as 'YYYY-MM-DD HH:MM:SS.ss' ('no time' when unknown)."""
    if seconds is None:
        return "no time"
    t = datetime(1970, 1, 1) + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%d %H:%M:%S") + (f".{int(round(t.microsecond / 1e4)):02d}" if t.microsecond else "")
