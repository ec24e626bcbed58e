"""What the viewer shows: the result or an exposure, the comparison (a classic anchor, Mertens or
FMMEF, or an exposure),
the compare mode and the current exposure. The state is the session's ``view``; this
controller keeps the combos, the filmstrip selection and the viewer in step with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox

from hdrdesk.gui import settings as cfg
from hdrdesk.gui.jobs import ANCHORS
from hdrdesk.gui.panels import METHOD_NAMES

if TYPE_CHECKING:
    from hdrdesk.gui.main_window import MainWindow


def select_combo(combo: QComboBox, data) -> None:
    """Select the item holding ``data`` without emitting signals."""
    for i in range(combo.count()):
        if combo.itemData(i) == data:
            combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(False)
            return


class ViewController(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        self.view = window.session.view
        window.view_combo.currentIndexChanged.connect(self._view_combo_changed)
        window.compare_combo.currentIndexChanged.connect(self._compare_combo_changed)

    # ------------------------------------------------------------ combos
    def fill_combos(self, names: list[str]) -> None:
        """The exposures of the result on display (names) in the View and Compare lists."""
        w = self.w
        anchors = [(METHOD_NAMES[m], m) for m in ANCHORS]  # reads "with Mertens", "with FMMEF" after the toolbar's "with"
        for combo, firsts in ((w.view_combo, [("Fused result", "result")]), (w.compare_combo, anchors)):
            combo.blockSignals(True)
            combo.clear()
            for first in firsts:
                combo.addItem(*first)
            for i, n in enumerate(names):
                combo.addItem(f"Exposure {i + 1}: {n}", i)
            combo.blockSignals(False)
        if isinstance(self.view.target, int) and self.view.target >= len(names):
            self.view.target = "result"
        if isinstance(self.view.compare_target, int) and self.view.compare_target >= len(names):
            self.view.compare_target = "mertens"
        select_combo(w.view_combo, self.view.target)
        select_combo(w.compare_combo, self.view.compare_target)

    def _view_combo_changed(self, i: int) -> None:
        data = self.w.view_combo.itemData(i)
        if data is not None:
            self.set_view_target(data)

    def _compare_combo_changed(self, i: int) -> None:
        data = self.w.compare_combo.itemData(i)
        if data is not None:
            self.w.session.set_view(compare_target=data)
            self.refresh_compare()

    # ------------------------------------------------------------ targets
    def set_view_target(self, target: str | int) -> None:
        if isinstance(target, int):
            if not 0 <= target < self.w.session.exposure_count():
                return
            self.w.session.set_view(current=target)
            self.w.overlay_panel.set_exposure_index(target)
        self.w.session.set_view(target=target)
        select_combo(self.w.view_combo, target)
        self.refresh_main_image()
        self.w.overlays.refresh_inspector()

    def set_compare_target(self, target: str | int) -> None:
        self.w.session.set_view(compare_target=target)
        select_combo(self.w.compare_combo, target)
        self.refresh_compare()

    def set_compare_mode(self, mode: str) -> None:
        w = self.w
        w.viewer.set_mode(mode)
        w.session.set_view(compare_mode=mode)
        a = w.mode_actions.get(mode)
        if a is not None and not a.isChecked():
            a.setChecked(True)
        w.compare_combo.setEnabled(mode != "single" and w.fusion_output() is not None)
        self.refresh_compare()
        cfg.put(w.settings, cfg.COMPARE_MODE, mode)

    def set_current_exposure(self, index: int) -> None:
        """Make exposure ``index`` (of the result) current: overlay, filmstrip, exposure view."""
        w = self.w
        out = w.fusion_output()
        if out is None or not 0 <= index < len(out.result.frames):
            return
        changed = index != self.view.current
        w.session.set_current_exposure(index)
        w.overlay_panel.set_exposure_index(index)
        entry = w.session.entry_for_index(index)  # the filmstrip selection follows
        if entry is not None and w.filmstrip.current_uid() != entry.uid:
            w.filmstrip.blockSignals(True)
            w.filmstrip.set_current_uid(entry.uid)
            w.filmstrip.blockSignals(False)
        if isinstance(self.view.target, int):
            select_combo(w.view_combo, index)
        if changed:
            self.refresh_main_image()
            w.overlays.refresh()
            w.overlays.refresh_inspector()

    def step_exposure(self, step: int) -> None:
        n = self.w.session.exposure_count()
        if n:
            self.set_current_exposure((self.view.current + step) % n)

    # ------------------------------------------------------------ pictures
    def main_label(self) -> str:
        out = self.w.fusion_output()
        if out is None:
            return ""
        t = self.base_target()
        if t == "result":
            return f"Fused · {METHOD_NAMES.get(out.result.method, out.result.method)}"
        return f"Exposure {t + 1}: {out.result.frames[t].path.name}"

    def base_target(self) -> str | int:
        op = self.w.overlay_panel
        self.w.session.set_view(overlay=op.kind_value(), overlay_over=op.over_value())
        return self.view.base_target()

    def refresh_main_image(self) -> None:
        out = self.w.fusion_output()
        if out is None:
            self.w.viewer.set_main(None)
            return
        t = self.base_target()
        image = out.fused if t == "result" else out.exposures[t]
        self.w.viewer.set_main(image, self.main_label())

    def refresh_compare(self) -> None:
        w = self.w
        out = w.fusion_output()
        if out is None:
            w.viewer.set_compare(None)
            return
        t = self.view.compare_target
        if t in ANCHORS:
            name = METHOD_NAMES[t]
            anchor = w.analysis.anchor_output(t)
            if out.result.method == t:
                w.viewer.set_compare(out.fused, name)
            elif anchor is not None:
                w.viewer.set_compare(anchor.display, name)
            else:
                w.viewer.set_compare(None, f"{name} (computing…)")
                w.viewer.second.placeholder = f"Computing the {name} result…"
                if w.viewer.mode() != "single":
                    w.analysis.ensure_anchor(t)
        else:
            w.viewer.set_compare(out.exposures[t], f"Exposure {t + 1}: {out.result.frames[t].path.name}")
