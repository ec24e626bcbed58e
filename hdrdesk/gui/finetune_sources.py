"""The Fine-tune panel's photo sources: the main window's current bracket and folders of
brackets (scanned on a worker). Mixed into FinetunePanel."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QListWidgetItem

from hdrdesk.core.io import Frame
from hdrdesk.gui.finetune_jobs import ScanOutput, scan_job


class FinetuneSources:
    """Where the panel's training brackets come from."""

    _scan_out: ScanOutput | None = None

    # ------------------------------------------------------------- sources
    def current_frames(self) -> list[Frame]:
        """The main window's included exposures (aligned and darkest first once fused)."""
        w = self.main_window
        if w is None:
            return []
        res = w.result()
        if res is not None and res.frames and len(res.frames) >= 2:
            return list(res.frames)
        return list(w.frames())

    def current_files(self) -> list[Path]:
        frames = self.main_window.frames() if self.main_window is not None else []
        files = [Path(f.path) for f in frames]
        res = self.main_window.result() if self.main_window is not None else None
        if res is not None and res.frames and {Path(f.path) for f in res.frames} == set(files):
            files = [Path(f.path) for f in res.frames]  # darkest first, as fused
        return [f for f in files if f.is_file()]

    def current_name(self) -> str:
        files = self.current_files()
        return files[0].parent.name if files else ""

    def refresh_sources(self, *_args) -> None:
        files = self.current_files()
        has = len(files) >= 2
        self.use_current.setEnabled(has)
        if has:
            self.current_info.setText(f"{self.current_name()} · {len(files)} exposures")
        else:
            self.current_info.setText("No bracket open" if self.main_window is not None else "No main window")
        self.current_info.setVisible(True)
        self._update_found()

    def folders_list(self) -> list[str]:
        return [self.folders.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.folders.count())]

    def add_folder(self, folder: str | os.PathLike) -> None:
        folder = str(Path(folder))
        if folder in self.folders_list():
            return
        item = QListWidgetItem(Path(folder).name or folder)
        item.setData(Qt.ItemDataRole.UserRole, folder)
        item.setToolTip(folder)
        self.folders.addItem(item)
        self._scan()

    def _browse_folder(self) -> None:
        start = str(Path(self.folders_list()[-1]).parent) if self.folders.count() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of brackets (or of mixed shots)", start)
        if folder:
            self.add_folder(folder)

    def _remove_folders(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))
        self._scan()

    def clear_folders(self) -> None:
        self.folders.clear()
        self._scan()

    def _scan(self) -> None:
        folders = self.folders_list()
        if not folders:
            self._scan_out = None
            self._update_found()
            return
        self.found_label.setText("Looking for brackets…")
        self.scan_runner.submit(scan_job, folders, label="Scan")

    def _on_scan(self, _rid: int, out: ScanOutput) -> None:
        self._scan_out = out
        self._update_found()

    def bracket_count(self) -> int:
        n = len(self._scan_out.brackets) if self._scan_out else 0
        if self.use_current.isChecked() and self.use_current.isEnabled():
            n += 1
        return n

    def _update_found(self) -> None:
        out = self._scan_out
        parts = []
        if out is not None:
            names = [n for n, _ in out.brackets]
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            parts.append(f"Found {len(names)} bracket{'s' if len(names) != 1 else ''} in the folders" + (f": {shown}" if names else ""))
            if out.skipped:
                parts.append(f"skipped {len(out.skipped)}: " + "; ".join(out.skipped[:2]))
        n = self.bracket_count()
        if n:
            held = max(1, round(n * self.val_share.value() / 100)) if n >= 2 else 0
            parts.append(f"{n} bracket{'s' if n != 1 else ''} in all; {held} held back to validate" if n >= 2 else
                         "One bracket is not enough to fine-tune (one is held back to validate): add a folder, or use Refine on the current bracket.")
        elif not self.folders.count():
            parts.append("Add folders of brackets, or a folder of mixed shots.")
        self.found_label.setText(". ".join(parts))
        if self._state.ended:
            self.start_button.setEnabled(n >= 2 or (self.folders.count() > 0 and out is None))
