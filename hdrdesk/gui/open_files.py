"""The window's ways to open photos: file and folder dialogs and the bundled sample (a mixin of MainWindow)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from hdrdesk.core.io import IMAGE_SUFFIXES
from hdrdesk.gui import settings as cfg

IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + " " + " ".join(f"*{s.upper()}" for s in IMAGE_SUFFIXES) + ");;All files (*)"


class OpenFiles:
    """Needs ``settings``, ``notify`` and ``open_paths`` (MainWindow's)."""

    def open_sample(self) -> None:
        from hdrdesk.paths import sample_bracket_dir

        folder = sample_bracket_dir()
        if not folder.is_dir():
            self.notify(f"The sample bracket is missing from this installation ({folder}).")
            return
        self.open_paths([folder])

    def last_folder(self) -> str:
        folder = cfg.get(self.settings, cfg.LAST_FOLDER)
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def open_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open exposures", self.last_folder(), IMAGE_FILTER)
        if files:
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a bracket folder", self.last_folder())
        if folder:
            self.open_paths([folder])

    def add_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add exposures", self.last_folder(), IMAGE_FILTER)
        if files:
            self.open_paths(files, replace=False)
