"""The app's state without Qt: the bracket being edited, the fusion options, the result on
display and what the viewer shows, with change events.

The window (:mod:`hdrdesk.gui.main_window`) is a shell over one :class:`Session`: widgets
edit the session, and the session tells its listeners what changed. Tests and scripts
drive it without a display.

Events (:class:`Change`), delivered synchronously, in the order the changes happen:

``bracket``  frames added, removed, reordered or toggled, or another deghosting reference
             chosen (``fuse``: whether the change calls for a new fusion; ``refill``: whether
             the list of frames changed, not only their order or marks).
``options``  the fusion options changed.
``result``   a new result is on display, or none (``result`` is None).
``view``     view state changed (``fields``: the names that changed).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from hdrdesk.core.align import AlignInfo
from hdrdesk.core.deghost import DEGHOST_LEVELS
from hdrdesk.core.io import Frame, order_frames

_uids = itertools.count(1)

COMPARE_MODES = ("single", "side", "split")
OVERLAY_KINDS = ("none", "weights", "gamma", "motion")  # the overlay registry: a new kind is added here and in gui/overlays.py


# ===================================================================== the bracket


@dataclass
class FrameEntry:
    """One exposure of the bracket (a filmstrip entry). ``thumb``: the UI's thumbnail (opaque here)."""

    frame: Frame
    thumb: Any = None
    mean_luma: float = 0.0
    enabled: bool = True
    align: AlignInfo | None = None  # from the last fusion that used this frame
    align_off: bool = False  # that fusion ran without alignment
    uid: int = 0
    reduced: Any = field(default=None, repr=False)  # the frame at preview size, made while loading (None: not made)

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
            return "alignment reference"
        return a.note or "not moved"


class Bracket:
    """Ordered frames, each on or off; the order is darkest first unless the user reorders."""

    def __init__(self) -> None:
        self.entries: list[FrameEntry] = []
        self.reference_uid: int | None = None  # the deghosting reference the user chose (None: automatic)

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
        if self.reference_uid in drop:
            self.reference_uid = None

    def clear(self) -> None:
        self.entries = []
        self.reference_uid = None

    def set_order(self, uids: Sequence[int]) -> None:
        by_uid = {e.uid: e for e in self.entries}
        if sorted(uids) != sorted(by_uid):
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

    def reduced(self) -> list | None:
        """Their preview-size copies made while loading, in the same order; None unless every one has one."""
        copies = [e.reduced for e in self.enabled()]
        return None if any(c is None for c in copies) else copies

    def reference_index(self) -> int | None:
        """Index of the chosen deghosting reference among the frames that will be fused
        (None: automatic, also when the chosen frame is left out)."""
        for i, e in enumerate(self.enabled()):
            if e.uid == self.reference_uid:
                return i
        return None

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


# ===================================================================== options and view


@dataclass(frozen=True)
class FusionSettings:
    """What the next fusion uses. ``model_path`` None: the shipped model. ``deghost``: off|low|medium|high."""

    method: str = "cnn"
    model_path: Path | None = None
    working_size: int = 512
    align: bool = True
    deghost: str = "off"

    def fusion_options(self, reference: int | None = None):
        """The engine's :class:`~hdrdesk.core.fusion.FusionOptions` (weights kept for the overlays);
        ``reference``: the deghosting reference among the fused frames (None: the best-exposed one)."""
        from hdrdesk.core.fusion import FusionOptions

        return FusionOptions(method=self.method, model_path=self.model_path, working_size=self.working_size, align=self.align,
                             keep_weights=True, deghost=self.deghost, reference=reference if self.deghost != "off" else None)


@dataclass
class ViewState:
    """What the viewer shows. Targets are "result", a classic anchor to compare with ("mertens",
    "fmmef") or an exposure index (of the result)."""

    target: str | int = "result"
    compare_target: str | int = "mertens"
    compare_mode: str = "single"
    overlay: str = "none"
    overlay_over: str = "result"  # draw the map over the "result" or over its "exposure"
    current: int = 0  # the current exposure (overlay, inspector, exposure view)

    def base_target(self) -> str | int:
        """What the main view draws under the overlay."""
        if self.overlay != "none" and self.overlay_over == "exposure":
            return self.current
        return self.target


# ===================================================================== the session


@dataclass(frozen=True)
class Change:
    """One change event (see the module docstring)."""

    kind: str
    fuse: bool = True
    refill: bool = True
    result: Any = None
    fields: tuple[str, ...] = ()


Listener = Callable[[Change], None]


class Session:
    """The bracket, the fusion settings, the result on display and the view, with change events."""

    def __init__(self) -> None:
        self.bracket = Bracket()
        self.settings = FusionSettings()
        self.result = None  # FusionResult | None: the full-resolution result on display
        self.view = ViewState()
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------- events
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(change)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    # ------------------------------------------------------------- bracket
    def frames(self) -> list[Frame]:
        """The exposures the next fusion uses, in order."""
        return self.bracket.frames()

    def can_fuse(self) -> bool:
        return len(self.bracket.enabled()) >= 2

    def add_frames(self, entries: Sequence[FrameEntry], replace_bracket: bool = False) -> list[str]:
        """Add loaded frames (``replace_bracket``: they become the bracket). Returns messages for rejected ones."""
        if replace_bracket:
            self.bracket.clear()
            self.set_result(None)
        messages = self.bracket.add(entries)
        self._emit(Change("bracket"))
        return messages

    def remove_frames(self, uids: Sequence[int]) -> None:
        if uids:
            self.bracket.remove(uids)
            self._emit(Change("bracket"))

    def set_frame_enabled(self, uid: int, enabled: bool) -> None:
        self.bracket.set_enabled(uid, enabled)
        self._emit(Change("bracket"))

    def toggle_frame(self, uid: int) -> None:
        e = self.bracket.get(uid)
        if e is not None:
            self.set_frame_enabled(uid, not e.enabled)

    def move_frame(self, uid: int, offset: int) -> bool:
        moved = self.bracket.move(uid, offset)
        if moved:
            self._emit(Change("bracket"))
        return moved

    def set_order(self, uids: Sequence[int]) -> None:
        """A new order (every uid once), as a drag in the filmstrip leaves it."""
        self.bracket.set_order(uids)
        self._emit(Change("bracket", refill=False))

    def sort_frames(self) -> None:
        self.bracket.sort()
        self._emit(Change("bracket"))

    def set_reference(self, uid: int | None) -> None:
        """Make frame ``uid`` the deghosting reference (None or 0: automatic, the best-exposed frame).
        Emits ``bracket`` (without refill); it calls for a new fusion only while deghosting is on."""
        uid = uid or None
        if uid is not None and self.bracket.get(uid) is None:
            raise ValueError(f"no frame {uid} in the bracket")
        if uid != self.bracket.reference_uid:
            self.bracket.reference_uid = uid
            self._emit(Change("bracket", fuse=self.settings.deghost != "off", refill=False))

    def clear(self) -> None:
        """Close the bracket: no frames, no result."""
        self.bracket.clear()
        self.set_result(None)
        self._emit(Change("bracket", fuse=False))

    # ------------------------------------------------------------- options
    def set_fusion(self, **changes: Any) -> None:
        """Change fusion settings (method, model_path, working_size, align, deghost); emits ``options`` if any changed."""
        if "deghost" in changes and changes["deghost"] not in DEGHOST_LEVELS:
            raise ValueError(f"deghost must be one of {DEGHOST_LEVELS}")
        new = replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self._emit(Change("options"))

    def fusion_options(self):
        """What the next fusion uses, the chosen deghosting reference included."""
        return self.settings.fusion_options(self.bracket.reference_index())

    # ------------------------------------------------------------- result
    def set_result(self, result) -> None:
        """The result on display (None: none). Targets that no longer exist fall back."""
        if result is None and self.result is None:
            return
        self.result = result
        n = len(result.frames) if result is not None else 0
        v = self.view
        fixes = {}
        if isinstance(v.target, int) and v.target >= n:
            fixes["target"] = "result"
        if isinstance(v.compare_target, int) and v.compare_target >= n:
            fixes["compare_target"] = "mertens"
        if n and v.current >= n:
            fixes["current"] = n - 1
        for k, val in fixes.items():
            setattr(v, k, val)
        self._emit(Change("result", result=result))

    def result_index_of(self, path: Path) -> int | None:
        """Index in the result of the frame read from ``path`` (None: not in it)."""
        if self.result is None:
            return None
        for i, f in enumerate(self.result.frames):
            if f.path == path:
                return i
        return None

    def entry_for_index(self, index: int) -> FrameEntry | None:
        """The bracket entry of the result's exposure ``index``."""
        if self.result is None or not 0 <= index < len(self.result.frames):
            return None
        path = self.result.frames[index].path
        return next((e for e in self.bracket.entries if e.frame.path == path), None)

    def result_reference_uid(self) -> int | None:
        """The bracket entry the result on display was deghosted against (None: not deghosted)."""
        ref = getattr(self.result, "reference", None)
        if ref is None:
            return None
        e = self.entry_for_index(ref)
        return e.uid if e is not None else None

    # ------------------------------------------------------------- view
    def set_view(self, **changes: Any) -> tuple[str, ...]:
        """Change view state; emits ``view`` with the names that changed. Returns them."""
        known = {f.name for f in fields(ViewState)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown view state: {', '.join(sorted(unknown))}")
        if "compare_mode" in changes and changes["compare_mode"] not in COMPARE_MODES:
            raise ValueError(f"compare mode must be one of {COMPARE_MODES}")
        if "overlay" in changes and changes["overlay"] not in OVERLAY_KINDS:
            raise ValueError(f"overlay must be one of {OVERLAY_KINDS}")
        changed = tuple(k for k, v in changes.items() if getattr(self.view, k) != v)
        for k in changed:
            setattr(self.view, k, changes[k])
        if changed:
            self._emit(Change("view", fields=changed))
        return changed

    def exposure_count(self) -> int:
        return len(self.result.frames) if self.result is not None else 0

    def set_current_exposure(self, index: int) -> bool:
        """Make exposure ``index`` of the result current (an exposure view follows). False: out of range."""
        if not 0 <= index < self.exposure_count():
            return False
        changes: dict[str, Any] = {"current": index}
        if isinstance(self.view.target, int):
            changes["target"] = index
        self.set_view(**changes)
        return True

    def step_exposure(self, step: int) -> None:
        n = self.exposure_count()
        if n:
            self.set_current_exposure((self.view.current + step) % n)
