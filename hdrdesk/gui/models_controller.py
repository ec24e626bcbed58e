"""Models: which network the window fuses with, model files used from elsewhere, and the
training tools (Fine-tune, Refine, the model manager), opened on demand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from hdrdesk.gui import settings as cfg

if TYPE_CHECKING:
    from hdrdesk.gui.main_window import MainWindow

MAX_USER_MODELS = 8


class ModelsController(QObject):
    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.w = window
        window.resultReady.connect(self._result_shown)
        window.previewReady.connect(self._result_shown)  # a large bracket's preview says it first
        self.finetune_dialog = None
        self.refine_dialog = None
        self.model_manager = None

    # ------------------------------------------------------------ the model in use
    def _result_shown(self, _res) -> None:
        """A network result says whether its model fixes its own working size (v2): the control follows."""
        out = self.w.fusion_output()
        if out is not None and out.result.method == "cnn":
            self.w.fusion_panel.set_fixed_working_size(out.fixed_working_size)

    def user_models(self) -> list[str]:
        return cfg.get(self.w.settings, cfg.USER_MODELS)

    def remember(self, path: Path) -> None:
        models = [m for m in self.user_models() if Path(m) != path]
        models.insert(0, str(path))
        cfg.put(self.w.settings, cfg.USER_MODELS, models[:MAX_USER_MODELS])

    def forget(self, path: Path) -> None:
        cfg.put(self.w.settings, cfg.USER_MODELS, [m for m in self.user_models() if Path(m) != path])
        fp = self.w.fusion_panel
        fp.set_models([(label, p) for label, p in fp.models() if p is None or Path(p) != path], None)

    def set_model_path(self, path: str | os.PathLike | None) -> None:
        self.w.fusion_panel.select_model(Path(path) if path else None)
        if path:
            self.remember(Path(path))

    def set_model_choices(self, models: Sequence[tuple[str, str | os.PathLike | None]]) -> None:
        current = self.w.model_path()
        self.w.fusion_panel.set_models([(label, Path(p) if p else None) for label, p in models], current)

    def browse(self) -> None:
        start = cfg.get(self.w.settings, cfg.MODEL_FOLDER) or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.w, "Use a model file", start, "HDRDesk models (*.pt *.pth);;All files (*)")
        if path:
            cfg.put(self.w.settings, cfg.MODEL_FOLDER, str(Path(path).parent))
            self.set_model_path(Path(path))

    def refresh_choices(self) -> None:
        """Refill the model combo from the model store (plus model files used from elsewhere)."""
        from hdrdesk.gui.model_manager import store_choices

        before = self.w.model_path()
        current = before if before is not None and before.is_file() else None
        fp = self.w.fusion_panel
        fp.blockSignals(True)
        fp.set_models(store_choices(extra=[Path(m) for m in self.user_models()]), current)
        fp.blockSignals(False)
        if self.w.model_path() != before:
            self.w.fusion_options_changed()

    def model_failed(self) -> None:
        """The chosen model could not be loaded: forget it and go back to the shipped one."""
        bad = self.w.model_path()
        if bad is not None:
            self.forget(bad)
            self.w.fusion_panel.select_model(None)

    # ------------------------------------------------------------ tools
    def show_finetune(self):
        from hdrdesk.gui.finetune_panel import FinetuneDialog

        if self.finetune_dialog is None:
            d = FinetuneDialog(self.w)
            d.panel.guard_close(self.w)  # closing the window during training asks first
            d.panel.modelKept.connect(lambda _p: self.refresh_choices())
            d.panel.useModel.connect(self.w.set_model_path)
            self.finetune_dialog = d
        d = self.finetune_dialog
        if not d.panel.is_running():
            d.panel.refresh_base_models()
        d.panel.refresh_sources()
        d.show()
        d.raise_()
        d.activateWindow()
        return d

    def show_model_manager(self):
        from hdrdesk.gui.model_manager import ModelManagerDialog

        d = ModelManagerDialog(self.w, current=self.w.model_path())
        d.modelChosen.connect(self.w.set_model_path)
        d.modelsChanged.connect(self.refresh_choices)
        self.model_manager = d
        d.open()
        return d

    def refine_current(self):
        from hdrdesk.gui.refine import RefineDialog

        if self.refine_dialog is None:
            self.refine_dialog = RefineDialog(self.w)  # keeping a refined copy selects it here
        d = self.refine_dialog
        d.show()
        d.raise_()
        d.start()
        return d
