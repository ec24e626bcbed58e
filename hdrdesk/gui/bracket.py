"""The bracket being edited: frames in order, each on or off (no Qt widgets here)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

from PySide6.QtGui import QImage

from hdrdesk.core.align import AlignInfo
from hdrdesk.core.io import Frame, order_frames

_uids = itertools.count(1)


@dataclass
class FrameEntry:
    """One exposure in the filmstrip."""

    frame: Frame
    thumb: QImage
    mean_luma: float
    enabled: bool = True
    align: AlignInfo | None = None  # from the last fusion that used this frame
    align_off: bool = False  # that fusion ran without alignment
    uid: int = 0

    def __post_init__(self) -> None:
        if not self.uid:
            self.uid = next(_uids)

    @property
    def name(self) -> str:
        return self.frame.path.name

    def alignment_text(self) -> str:
        """Short alignment state for the filmstrip."""
        if self.align_off:
            return "alignment off"
        a = self.align
        if a is None:
            return "not fused yet"
        if a.applied:
            shift = f"{a.dx:+.1f}, {a.dy:+.1f} px"
            return f"aligned · {a.model} {shift}"
        if a.note == "reference":
            return "reference frame"
        return a.note or "not moved"


class Bracket:
    """Ordered frames; the order is darkest first unless the user reorders."""

    def __init__(self) -> None:
        self.entries: list[FrameEntry] = []

    def __len__(self) -> int:
        return len(self.entries)

    def size(self) -> tuple[int, int] | None:
        return self.entries[0].frame.size if self.entries else None

    def add(self, new: Iterable[FrameEntry]) -> list[str]:
        """Add frames and sort the bracket by exposure; returns messages for rejected frames."""
        errors: list[str] = []
        added: list[FrameEntry] = []
        known = {e.frame.path.resolve() for e in self.entries}
        for e in new:
            size = self.size() or (added[0].frame.size if added else None)
            path = e.frame.path.resolve()
            if path in known:
                errors.append(f"{e.frame.path}: already in the bracket")
                continue
            if size is not None and e.frame.size != size:
                w, h = size
                errors.append(
                    f"{e.frame.path}: size {e.frame.size[0]}x{e.frame.size[1]} differs from the bracket's {w}x{h}; not added"
                )
                continue
            known.add(path)
            added.append(e)
        if added:
            self.entries.extend(added)
            self.sort()
        return errors

    def sort(self) -> None:
        """Darkest first (EXIF exposure when every frame has one, else mean brightness)."""
        by_id = {id(e.frame): e for e in self.entries}
        self.entries = [by_id[id(f)] for f in order_frames([e.frame for e in self.entries])]

    def remove(self, uids: Sequence[int]) -> None:
        drop = set(uids)
        self.entries = [e for e in self.entries if e.uid not in drop]

    def clear(self) -> None:
        self.entries = []

    def set_order(self, uids: Sequence[int]) -> None:
        by_uid = {e.uid: e for e in self.entries}
        if set(uids) != set(by_uid):
            raise ValueError("set_order needs every frame exactly once")
        self.entries = [by_uid[u] for u in uids]

    def move(self, uid: int, offset: int) -> bool:
        i = self.index(uid)
        j = i + offset
        if i < 0 or not 0 <= j < len(self.entries):
            return False
        self.entries.insert(j, self.entries.pop(i))
        return True

    def index(self, uid: int) -> int:
        for i, e in enumerate(self.entries):
            if e.uid == uid:
                return i
        return -1

    def get(self, uid: int) -> FrameEntry | None:
        i = self.index(uid)
        return self.entries[i] if i >= 0 else None

    def set_enabled(self, uid: int, enabled: bool) -> None:
        e = self.get(uid)
        if e is not None:
            e.enabled = bool(enabled)

    def enabled(self) -> list[FrameEntry]:
        return [e for e in self.entries if e.enabled]

    def frames(self) -> list[Frame]:
        """The frames that will be fused, in order."""
        return [e.frame for e in self.enabled()]

    def ev_labels(self) -> dict[int, str]:
        """Per frame uid: exposure relative to the bracket's middle frame, e.g. '-2.0 EV'."""
        out: dict[int, str] = {}
        if all(e.frame.exposure.bias_ev is not None for e in self.entries):
            for e in self.entries:
                out[e.uid] = f"{e.frame.exposure.bias_ev:+.1f} EV"
            return out
        evs = [e.frame.exposure.ev for e in self.entries]
        known = sorted(v for v in evs if v is not None)
        if not known:
            return {e.uid: "EV n/a" for e in self.entries}
        mid = known[len(known) // 2]
        for e, ev in zip(self.entries, evs):
            out[e.uid] = "EV n/a" if ev is None else f"{ev - mid:+.1f} EV"
        return out
