"""Camera brackets in the window: the deghosting reference and motion masks, and RAW loading.

- Deghosting: the Fusion panel's Deghost level lives in the session's fusion settings; the
  reference is the session bracket's ``reference_uid`` (None: the engine's best-exposed pick).
  This controller keeps the filmstrip's reference star and "moved" shares in step with the
  session and the result, turns the filmstrip's star clicks into session changes (which re-fuse
  while deghosting is on), and offers the Motion mask overlay only for results that have masks.
- RAW loading: while the load job develops RAW files, their embedded previews stand in the
  filmstrip as pending cards; once loaded, a RAW+JPEG pair is reported (the RAW was used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from hdrdesk.core.deghost import masked_fraction
from hdrdesk.core.raw import is_raw
from hdrdesk.gui.filmstrip_marks import DeghostMarks, PendingCard
from hdrdesk.gui.raw_loading import RawPreviews

if TYPE_CHECKING:
    from hdrdesk.gui.jobs import LoadOutput
    from hdrdesk.gui.main_window import MainWindow

NO_MASKS = "Motion masks come with deghosting: choose a Deghost level in the Fusion panel"


class CameraController(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        self._motion_of: tuple[int, dict[int, float]] | None = None  # (id of the result, shares per uid)
        window.filmstrip.referenceRequested.connect(self.set_reference)
        window.overlay_panel.set_kind_available("motion", False, NO_MASKS)
        window.session.subscribe(self._session_changed)
        window.loader.partial.connect(self._on_previews)
        self._loaded: "LoadOutput | None" = None
        window.loader.result.connect(self._remember_load)  # before the window's own slot ...
        window.loadFinished.connect(self._load_ended)  # ... which ends with this, once the frames are added
        window.loader.error.connect(lambda *_: self._load_ended())
        window.loader.cancelled.connect(self._on_load_cancelled)

    # ------------------------------------------------------------ deghosting
    def set_reference(self, uid: int) -> None:
        """Deghost against frame ``uid`` (0: the best-exposed frame, chosen by the engine)."""
        self.w.session.set_reference(uid or None)

    def _session_changed(self, change) -> None:
        if change.kind == "result":
            res = change.result
            has = res is not None and res.motion_masks is not None
            self.w.overlay_panel.set_kind_available("motion", has, NO_MASKS)
        if change.kind in ("result", "options", "bracket"):
            self.refresh_marks()

    def marks(self) -> DeghostMarks:
        """What the filmstrip shows now: deghosting on or off, the chosen and the used reference, the shares moved."""
        s = self.w.session
        return DeghostMarks(s.settings.deghost != "off", s.bracket.reference_uid, s.result_reference_uid(), self._motion_shares())

    def refresh_marks(self) -> None:
        self.w.filmstrip.set_marks(self.marks())

    def _motion_shares(self) -> dict[int, float]:
        s = self.w.session
        res = s.result
        if res is None or res.motion_masks is None:
            return {}
        if self._motion_of is None or self._motion_of[0] != id(res):
            shares = {}
            for i, mask in enumerate(res.motion_masks):
                e = s.entry_for_index(i)
                if e is not None:
                    shares[e.uid] = masked_fraction(mask)
            self._motion_of = (id(res), shares)
        return self._motion_of[1]

    # ------------------------------------------------------------ RAW loading
    def _on_previews(self, rid: int, value: object) -> None:
        if not isinstance(value, RawPreviews):
            return
        cards = [PendingCard(n, t, value.state(i)) for i, (n, t) in enumerate(zip(value.names, value.thumbs))]
        replaces = self.w.load_replaces(rid)
        self.w.filmstrip.show_pending(cards, alone=replaces)
        self.w.show_welcome(False)
        if replaces or self.w.fusion_output() is None:
            left = len(cards) - value.done
            self.w.viewer.main.placeholder = f"Developing {left} RAW file{'s' if left != 1 else ''}…" if left else "Fusing…"
            self.w.viewer.main.viewport().update()

    def _remember_load(self, _rid: int, out: "LoadOutput") -> None:
        self._loaded = out

    def _load_ended(self) -> None:
        out, self._loaded = self._loaded, None
        if out is not None:
            self.loaded(out)
        if not self.w.filmstrip.pending_cards():
            return
        self.w.filmstrip.clear_pending()
        if len(self.w.session.bracket) == 0:
            self.w.show_welcome(True)
        if self.w.viewer.main.placeholder.startswith("Developing"):
            self.w.viewer.main.placeholder = ""
            self.w.viewer.main.viewport().update()

    def _on_load_cancelled(self, _rid: int) -> None:
        had_pending = bool(self.w.filmstrip.pending_cards())
        self._load_ended()
        self.w.show_status("Loading cancelled: nothing was added" if had_pending else "Loading cancelled")

    def loaded(self, out: "LoadOutput") -> None:
        """After a load: say what became of RAW files and JPEGs of the same shots."""
        raws = sum(1 for lf in out.frames if is_raw(lf.frame.path))
        dropped = out.dropped_for_raw
        if not out.frames or not (raws or dropped):
            return
        n = len(out.frames)
        text = f"Loaded {n} exposure{'s' if n != 1 else ''}"
        if raws:
            text += f" · {raws} RAW developed with one white balance"
        if dropped:
            names = ", ".join(p.name for p in dropped[:4]) + (", …" if len(dropped) > 4 else "")
            text += f" · the RAW files used instead of {len(dropped)} JPEG/TIFF/PNG of the same shots"
            self.w.notify(f"RAW and JPEG of the same shots: using the RAW files; left out {names}", "info")
        self.w.show_status(text)
