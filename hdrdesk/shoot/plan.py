"""A shoot as the user edits it: the detected groups, split, merged, excluded and reordered (Qt-free).

:class:`ShootPlan` is what the app's shoot view shows and edits. It holds the shoot's
captures as a time line of :class:`Group` s: a group of two or more frames is a bracket
(fused unless excluded), a group of one is a single (listed, never fused). Grouping
(:func:`hdrdesk.shoot.grouping.group_files`) gives the first plan; the user may then

* split a bracket before one of its frames (a piece of one frame becomes a single),
* merge a group with the next one (a bracket and a stray frame, or two brackets),
* exclude a bracket from 'Fuse all' (and include it again),
* reorder the frames of a group (the name pattern's ``{first}``/``{last}`` follow it;
  the fusion itself orders frames darkest first, as ``hdrdesk batch`` does).

:meth:`ShootPlan.jobs` turns the plan into :class:`~hdrdesk.shoot.queue.QueueJob` s with
the same names as ``hdrdesk batch --group auto`` would give (``{index}`` counts every
bracket, excluded ones too, so excluding one does not rename the others).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from hdrdesk.errors import InputError
from hdrdesk.shoot.grouping import Bracket, Grouping, _assign_keys, _natural, format_time
from hdrdesk.shoot.queue import QueueJob

_uids = itertools.count(1)


@dataclass(eq=False)
class Group(Bracket):
    """Consecutive captures the plan treats as one bracket (two or more frames) or a single (one);
    a :class:`Bracket` the user can exclude (``grouped_by`` 'exif' or 'brightness')."""

    excluded: bool = False
    uid: int = field(default_factory=lambda: next(_uids))

    @property
    def is_bracket(self) -> bool:
        return len(self.shots) >= 2

    @property
    def included(self) -> bool:
        """Fused by 'Fuse all'."""
        return self.is_bracket and not self.excluded

    def as_bracket(self) -> Bracket:
        return Bracket(list(self.shots), grouped_by=self.grouped_by, key_kind=self.key_kind)

    def ev_labels(self) -> list[str]:
        """Per frame: '+2.0 EV' (bias, or relative to the middle exposure), or the brightness for files without EXIF."""
        if not self.is_bracket:
            s = self.shots[0]
            if s.info.bias_ev is not None:
                return [f"{s.info.bias_ev:+.1f} EV"]
            return ["EV ?" if s.info.exposure_ev is None else "0.0 EV"]
        if self.key_kind == "none":
            return ["EV ?"] * len(self.shots)
        return super().ev_labels()

    def time_text(self) -> str:
        return format_time(self.start_time)


def _rekey(group: Group) -> None:
    """Recompute what the frames' keys mean after an edit joined frames of different groups."""
    if group.grouped_by == "brightness":
        return  # keys are log2 brightness from the fallback's thumbnails: still comparable
    kind, _ = _assign_keys(group.shots, "exif")
    group.key_kind = kind


class ShootPlan:
    """The groups of one shoot in capture order, with the edits of :mod:`this module <hdrdesk.shoot.plan>`.

    ``on_change(kind)`` listeners hear 'groups' (the list changed) or 'group' (one group's
    frames or state changed); edits return the affected indices.
    """

    def __init__(self, groups: Sequence[Group], *, folder: Path | None = None, notes: Sequence[str] = (),
                 ignored: Sequence[tuple[Path, str]] = ()) -> None:
        self.groups: list[Group] = list(groups)
        self.folder = folder
        self.notes = list(notes)
        self.ignored = list(ignored)
        self._listeners: list[Callable[[str], None]] = []

    @classmethod
    def from_grouping(cls, grouping: Grouping, folder: Path | None = None) -> "ShootPlan":
        """Brackets and singles of ``grouping`` as one time line (the order ``hdrdesk batch`` lists them in)."""
        groups = [Group(list(b.shots), b.grouped_by, b.key_kind) for b in grouping.brackets]
        groups += [Group([s], "exif", "bias") for s in grouping.singles]
        groups.sort(key=lambda g: (g.start_time is None, g.start_time or 0.0, _natural(g.shots[0].path)))
        return cls(groups, folder=folder, notes=grouping.notes, ignored=grouping.ignored)

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.groups)

    def brackets(self) -> list[Group]:
        """Groups of two or more frames, excluded ones too (in order)."""
        return [g for g in self.groups if g.is_bracket]

    def included(self) -> list[Group]:
        return [g for g in self.groups if g.included]

    def singles(self) -> list[Group]:
        return [g for g in self.groups if not g.is_bracket]

    def excluded(self) -> list[Group]:
        return [g for g in self.groups if g.is_bracket and g.excluded]

    def index_of(self, uid: int) -> int:
        for i, g in enumerate(self.groups):
            if g.uid == uid:
                return i
        raise KeyError(uid)

    def summary_text(self) -> str:
        """'12 brackets (38 frames), 2 excluded, 3 singles'."""
        b, s, x = self.brackets(), self.singles(), self.excluded()
        text = f"{len(b)} bracket{'s' if len(b) != 1 else ''} ({sum(len(g.shots) for g in b)} frames)"
        if x:
            text += f", {len(x)} excluded"
        return text + f", {len(s)} single{'s' if len(s) != 1 else ''}"

    # ---------------------------------------------------------------- edits
    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, kind: str) -> None:
        for listener in list(self._listeners):
            listener(kind)

    def _group(self, index: int) -> Group:
        if not 0 <= index < len(self.groups):
            raise InputError(f"no group {index + 1} (the shoot has {len(self.groups)})")
        return self.groups[index]

    def split(self, index: int, at: int) -> tuple[int, int]:
        """Split group ``index`` before its frame ``at`` (1 .. frames-1); returns the two new indices."""
        g = self._group(index)
        if not 1 <= at < len(g.shots):
            raise InputError(f"cannot split a group of {len(g.shots)} frames before frame {at + 1}")
        first = Group(g.shots[:at], g.grouped_by, g.key_kind, excluded=g.excluded)
        second = Group(g.shots[at:], g.grouped_by, g.key_kind, excluded=g.excluded)
        for part in (first, second):
            _rekey(part)
        self.groups[index : index + 1] = [first, second]
        self._changed("groups")
        return index, index + 1

    def merge(self, index: int) -> int:
        """Merge group ``index`` with the next one (frames in their current order); returns the merged group's index."""
        a = self._group(index)
        if index + 1 >= len(self.groups):
            raise InputError("the last group has no next group to merge with")
        b = self.groups[index + 1]
        grouped_by = a.grouped_by if a.grouped_by == b.grouped_by else "exif"
        merged = Group(a.shots + b.shots, grouped_by, a.key_kind, excluded=a.excluded and b.excluded)
        _rekey(merged)
        self.groups[index : index + 2] = [merged]
        self._changed("groups")
        return index

    def set_excluded(self, index: int, excluded: bool) -> None:
        """Leave bracket ``index`` out of 'Fuse all' (or take it back)."""
        g = self._group(index)
        if g.excluded != excluded:
            g.excluded = excluded
            self._changed("group")

    def move_frame(self, index: int, frame: int, to: int) -> None:
        """Move frame ``frame`` of group ``index`` to position ``to``."""
        g = self._group(index)
        n = len(g.shots)
        if not (0 <= frame < n and 0 <= to < n):
            raise InputError(f"frame positions {frame + 1} -> {to + 1} outside a group of {n}")
        if frame != to:
            g.shots.insert(to, g.shots.pop(frame))
            self._changed("group")

    # ---------------------------------------------------------------- the queue
    def jobs(self, outdir: Path, suffix: str, pattern: str) -> list[tuple[Group, QueueJob]]:
        """A queue job for every included bracket, named as ``hdrdesk batch --group auto`` names it.

        Raises InputError for a bad pattern, OutputError when an output would be one of the frames.
        """
        from hdrdesk.shoot.naming import bracket_jobs

        groups = self.brackets()
        folder = self.folder.name if self.folder is not None else (groups[0].shots[0].path.parent.name if groups else "")
        jobs = bracket_jobs([g.as_bracket() for g in groups], Path(outdir), suffix, pattern, folder=folder)
        return [(g, j) for g, j in zip(groups, jobs) if not g.excluded]

    def single_paths(self) -> list[Path]:
        return [g.shots[0].path for g in self.singles()]
