"""Export: the dialog, the overwrite question and the export job (:mod:`hdrdesk.export` does the writing)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from hdrdesk.errors import OutputError
from hdrdesk.export import ExportOptions, check_targets, export_targets
from hdrdesk.gui import settings as cfg
from hdrdesk.gui.export_dialog import ExportDialog
from hdrdesk.gui.jobs import export_job
from hdrdesk.gui.workers import JobRunner

if TYPE_CHECKING:
    from hdrdesk.gui.main_window import MainWindow


class ExportController(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        self.runner = JobRunner("export", window.job_pool, latest_wins=False, parent=self)
        self.runner.result.connect(self._on_exported)
        self.runner.error.connect(lambda _r, e: window.job_error("Export", e))
        self.runner.cancelled.connect(lambda _r: window.show_status("Export cancelled"))

    def dialog(self) -> None:
        """Ask where and how to export (remembered in the settings), then export."""
        res = self.w.result()
        if res is None:
            self.w.notify("Nothing to export yet: open a bracket and let it fuse.", "info")
            return
        if self._preview_only():
            return
        s = self.w.settings
        ref = res.frames[len(res.frames) // 2].path
        folder = cfg.get(s, cfg.EXPORT_FOLDER) or str(ref.parent)
        if not Path(folder).is_dir():
            folder = str(Path.home())
        default = Path(folder) / f"{ref.parent.name or ref.stem}_fused{cfg.get(s, cfg.EXPORT_SUFFIX)}"
        dlg = ExportDialog(default, self.w.overlay_panel.gamma_params(), res.weights is not None, self.w,
                           bits=cfg.get(s, cfg.EXPORT_BITS), quality=cfg.get(s, cfg.EXPORT_QUALITY),
                           masks_available=res.motion_masks is not None, profile=cfg.get(s, cfg.EXPORT_PROFILE),
                           input_profile=self.input_profile_name())
        if dlg.exec() != ExportDialog.DialogCode.Accepted:
            return
        options = dlg.options()
        cfg.put(s, cfg.EXPORT_FOLDER, str(options.path.parent))
        cfg.put(s, cfg.EXPORT_SUFFIX, options.path.suffix.lower())
        cfg.put(s, cfg.EXPORT_BITS, options.bits)
        cfg.put(s, cfg.EXPORT_QUALITY, options.quality)
        cfg.put(s, cfg.EXPORT_PROFILE, options.output_profile)
        self.export_to(options)

    def input_profile_name(self) -> str:
        """The name of the profile ``input`` exports to: the middle exposure's (sRGB when untagged)."""
        from hdrdesk.core.color_profiles import describe

        res = self.w.result()
        icc = res.frames[len(res.frames) // 2].icc_profile if res is not None and res.frames else None
        return describe(icc) if icc else "sRGB: the frames carry none"

    def _preview_only(self) -> bool:
        """The picture on display is the preview (its full-resolution result is still fusing): say so."""
        out = self.w.fusion_output()
        if out is not None and out.preview:
            self.w.notify("The full-resolution result is still being fused: export once it is on display.", "info")
            return True
        return False

    def export_to(self, options: ExportOptions, confirm: bool = True) -> int:
        """Export the result on display on a worker. Asks before replacing files. Returns the request id (0: not started)."""
        res = self.w.result()
        if res is None:
            self.w.notify("Nothing to export yet.", "info")
            return 0
        if self._preview_only():
            return 0
        inputs = [e.frame.path for e in self.w.session.bracket.entries]
        targets = export_targets(options, res)
        try:  # never an input or a repeated name, even when the user agrees to replace files
            check_targets(targets, inputs, overwrite=True)
        except OutputError as exc:
            self.w.notify(f"Export: {exc}")
            return 0
        existing = [t for t in targets if t.exists()]
        if existing and not options.overwrite:
            if not confirm or not self.confirm_overwrite(existing):
                self.w.show_status("Export cancelled: nothing was replaced")
                return 0
            options.overwrite = True
        return self.runner.submit(export_job, res, options, inputs=inputs, label="Exporting")

    def confirm_overwrite(self, existing: list[Path]) -> bool:
        names = "\n".join(str(p) for p in existing[:6]) + ("\n…" if len(existing) > 6 else "")
        n = len(existing)
        answer = QMessageBox.question(
            self.w,
            "Replace files?",
            f"{n} file{'s' if n > 1 else ''} already exist{'s' if n == 1 else ''}:\n\n{names}\n\nReplace {'them' if n > 1 else 'it'}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_exported(self, _rid: int, written: list) -> None:
        first = Path(written[0])
        extra = f" and {len(written) - 1} map{'s' if len(written) > 2 else ''}" if len(written) > 1 else ""
        self.w.notify(
            f"Exported {first.name}{extra} to {first.parent}",
            "success",
            action=("Show folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(first.parent)))),
        )
        self.w.show_status(f"Exported {first}")
        self.w.exportFinished.emit([Path(p) for p in written])
