"""The model manager: the shipped model and the user's, with their cards; rename, delete,
import, export, and choose the one the main window fuses with.

The list is rebuilt from the models folder every time (:mod:`hdrdesk.model_store`), so
models made by ``hdrdesk finetune`` appear here and the app's appear to the CLI. A model
file that does not load is shown as unusable, with the reason, and is never chosen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.errors import HDRDeskError, ModelError
from hdrdesk.gui import style
from hdrdesk.model_store import ModelEntry, delete_model, export_model_file, import_model, list_models, rename_model

MODEL_FILTER = "HDRDesk models (*.pt *.pth);;All files (*)"


def store_choices(extra: Iterable[Path | None] = (), folder: Path | None = None) -> list[tuple[str, Path | None]]:
    """The model combo's entries: the shipped model (None), the user's models, then ``extra``
    files kept elsewhere (still present, not already listed)."""
    entries = list_models(folder)
    out: list[tuple[str, Path | None]] = [("Default (shipped)", None)]
    seen = set()
    for e in entries:
        if e.read_only:
            continue
        out.append((e.name, e.path))
        seen.add(str(e.path.resolve()))
    for p in extra:
        if p is None:
            continue
        p = Path(p)
        if p.is_file() and str(p.resolve()) not in seen:
            out.append((f"{p.stem} (file)", p))
            seen.add(str(p.resolve()))
    return out


def check_model(path: Path | None) -> str:
    """'' when the model loads, else the reason it cannot be used."""
    from hdrdesk.core.model import load_model
    from hdrdesk.paths import default_model_path

    try:
        load_model(path or default_model_path())
    except ModelError as exc:
        return str(exc)
    return ""


def _fmt_scores(s) -> str:
    if not isinstance(s, dict):
        return "—"
    parts = []
    for k in ("mean", "pair", "seq", "bracket"):
        if isinstance(s.get(k), (int, float)):
            parts.append(f"{k} {s[k]:.4f}")
    return ", ".join(parts) or "—"


def card_html(entry: ModelEntry, problem: str = "") -> str:
    """A model's card, readable."""
    c = entry.card or {}
    rows: list[tuple[str, str]] = []
    if entry.read_only:
        rows.append(("Kind", "shipped with HDRDesk (read-only)"))
    elif c.get("kind") == "refined":
        rows.append(("Kind", "refined on one bracket"))
    elif c.get("imported_from"):
        rows.append(("Kind", "imported"))
    elif c.get("base") or c.get("steps") is not None:
        rows.append(("Kind", "fine-tuned"))
    else:
        rows.append(("Kind", "unknown (no card)"))
    base = c.get("base")
    if base:
        rows.append(("Base model", "shipped default" if base == "default" else str(Path(str(base)).stem if "/" in str(base) or "\\" in str(base) else base)))
    data = c.get("data")
    if data:
        items = data if isinstance(data, list) else [data]
        rows.append(("Data", "<br>".join(str(d) for d in items[:4]) + ("<br>…" if len(items) > 4 else "")))
    for key, label in (("train_brackets", "Trained on"), ("val_brackets", "Validated on")):
        v = c.get(key)
        if v:
            rows.append((label, ", ".join(v[:8]) + (f" (+{len(v) - 8})" if len(v) > 8 else "")))
    if c.get("refined_on"):
        rows.append(("Refined on", str(c["refined_on"])))
    if c.get("steps") is not None:
        rows.append(("Steps", f"{c['steps']}" + (f" (best at {c['best_step']})" if c.get("best_step") is not None else "")))
    if c.get("gamma"):
        rows.append(("Gamma", str(c["gamma"])))
    if c.get("lr") is not None:
        rows.append(("Learning rate", f"{c['lr']:g}" if isinstance(c["lr"], (int, float)) else str(c["lr"])))
    if c.get("scores_before") or c.get("scores"):
        rows.append(("MEF-SSIM before", _fmt_scores(c.get("scores_before"))))
        rows.append(("MEF-SSIM after", _fmt_scores(c.get("scores"))))
    if c.get("date"):
        rows.append(("Date", str(c["date"]).replace("T", " ")))
    if c.get("imported_from"):
        rows.append(("Imported from", str(c["imported_from"])))
    try:
        size = entry.path.stat().st_size
        rows.append(("File", f"{entry.path}<br><span style='color:{style.TEXT_DIM}'>{size / 1024:.0f} KB</span>"))
    except OSError:
        rows.append(("File", f"{entry.path} (missing)"))
    head = f"<h3 style='margin:0 0 6px 0'>{entry.label}</h3>"
    if problem:
        head += f"<p style='color:#ffffff;background:{style.ERROR};padding:4px'>This file cannot be used: {problem}</p>"
    table = "".join(
        f"<tr><td style='color:{style.TEXT_DIM};padding:2px 12px 2px 0;vertical-align:top'>{k}</td><td style='padding:2px 0'>{v}</td></tr>"
        for k, v in rows
    )
    return head + f"<table cellspacing=0>{table}</table>"


class ModelManagerDialog(QDialog):
    """Tools ▸ Models…"""

    modelChosen = Signal(object)  # Path, or None for the shipped model
    modelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None, current: Path | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        from hdrdesk.gui.style import PRIMARY_DISABLED_CSS

        self.setStyleSheet(PRIMARY_DISABLED_CSS)
        self.folder = folder
        self.current = Path(current) if current else None
        self._problems: dict[str, str] = {}
        self.list = QListWidget()
        self.list.setMinimumWidth(230)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.setMinimumWidth(320)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_button = QPushButton("Use for Fusion")
        self.use_button.setProperty("primary", True)
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        self.import_button = QPushButton("Import…")
        self.export_button = QPushButton("Export…")
        self.folder_button = QPushButton("Show Folder")
        self.close_button = QPushButton("Close")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(self.details)
        split.setSizes([240, 420])
        split.setChildrenCollapsible(False)
        row = QHBoxLayout()
        for b in (self.use_button, self.rename_button, self.delete_button):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.import_button, self.export_button, self.folder_button, self.close_button):
            row.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addWidget(self.message)
        lay.addLayout(row)
        self.resize(760, 440)

        self.list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.list.itemDoubleClicked.connect(lambda _i: self.use_selected())
        self.use_button.clicked.connect(lambda: self.use_selected())
        self.rename_button.clicked.connect(lambda: self.rename_selected())
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        self.import_button.clicked.connect(lambda: self.import_file())
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.folder_button.clicked.connect(self._show_folder)
        self.close_button.clicked.connect(self.accept)
        self.refresh()

    # ---------------------------------------------------------------- list
    def entries(self) -> list[ModelEntry]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def refresh(self, select: Path | None = None) -> None:
        """Rebuild the list from the models folder."""
        keep = select or (self.selected_entry().path if self.selected_entry() else self.current)
        self._problems.clear()
        self.list.blockSignals(True)
        self.list.clear()
        target_row = 0
        for e in list_models(self.folder):
            in_use = (self.current is None and e.read_only) or (self.current is not None and _same(self.current, e.path))
            item = QListWidgetItem(("● " if in_use else "    ") + e.label)
            item.setData(Qt.ItemDataRole.UserRole, e)
            item.setToolTip(str(e.path) + ("\nin use" if in_use else ""))
            if e.read_only:
                item.setForeground(QColor(style.TEXT_DIM))
            self.list.addItem(item)
            if keep is not None and _same(keep, e.path):
                target_row = self.list.count() - 1
        self.list.blockSignals(False)
        self.list.setCurrentRow(target_row)
        self._show_selected()

    def select_path(self, path: Path | None) -> bool:
        for i, e in enumerate(self.entries()):
            if (path is None and e.read_only) or (path is not None and _same(path, e.path)):
                self.list.setCurrentRow(i)
                return True
        return False

    def selected_entry(self) -> ModelEntry | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _problem(self, e: ModelEntry) -> str:
        key = str(e.path)
        if key not in self._problems:
            self._problems[key] = check_model(e.path)
        return self._problems[key]

    def _show_selected(self) -> None:
        e = self.selected_entry()
        if e is None:
            self.details.setHtml("")
            for b in (self.use_button, self.rename_button, self.delete_button, self.export_button):
                b.setEnabled(False)
            return
        problem = self._problem(e)
        self.details.setHtml(card_html(e, problem))
        self.use_button.setEnabled(not problem)
        self.rename_button.setEnabled(not e.read_only)
        self.delete_button.setEnabled(not e.read_only)
        self.export_button.setEnabled(not problem)
        if problem:
            item = self.list.currentItem()
            if item is not None and "unusable" not in item.text():
                item.setText(item.text() + "  (unusable)")
                item.setForeground(QColor("#e07a6f"))

    def _say(self, text: str, level: str = "error") -> None:
        colour = {"error": style.ERROR, "info": style.INFO, "success": style.SUCCESS, "warning": style.WARNING}[level]
        self.message.setText(text)
        self.message.setStyleSheet(f"QLabel {{ background: {colour}; color: white; border-radius: 4px; padding: 6px 8px; }}")
        self.message.setVisible(bool(text))

    def message_text(self) -> str:
        return self.message.text() if not self.message.isHidden() else ""

    # ------------------------------------------------------------- actions
    def use_selected(self) -> bool:
        """Choose the selected model for fusion; refused (with the reason) if it does not load."""
        e = self.selected_entry()
        if e is None:
            return False
        self._problems.pop(str(e.path), None)  # check again: the file may have changed
        problem = self._problem(e)
        if problem:
            self._say(f"“{e.name}” cannot be used: {problem}")
            self._show_selected()
            return False
        self.current = None if e.read_only else e.path
        self.modelChosen.emit(self.current)
        self.refresh(select=e.path)
        self._say(f"Fusing with “{e.label}”.", "success")
        return True

    def rename_selected(self, new_name: str | None = None) -> Path | None:
        e = self.selected_entry()
        if e is None or e.read_only:
            return None
        if new_name is None:
            new_name, ok = QInputDialog.getText(self, "Rename model", "New name:", text=e.name)
            if not ok:
                return None
        try:
            new = rename_model(e.path, new_name)
        except (HDRDeskError, OSError) as exc:
            self._say(f"Rename: {exc}")
            return None
        _forget_cached()
        was_current = self.current is not None and _same(self.current, e.path)
        if was_current:
            self.current = new
            self.modelChosen.emit(new)
        self.refresh(select=new)
        self._say(f"Renamed to “{new.stem}”.", "success")
        self.modelsChanged.emit()
        return new

    def confirm_delete(self, e: ModelEntry) -> bool:
        answer = QMessageBox.question(
            self, "Delete model?", f"Delete the model “{e.name}”?\n\n{e.path}\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self, confirm: bool = True) -> bool:
        e = self.selected_entry()
        if e is None or e.read_only:
            return False
        if confirm and not self.confirm_delete(e):
            return False
        try:
            delete_model(e.path)
        except (HDRDeskError, OSError) as exc:
            self._say(f"Delete: {exc}")
            return False
        _forget_cached()
        if self.current is not None and _same(self.current, e.path):
            self.current = None
            self.modelChosen.emit(None)
        self.refresh()
        self._say(f"Deleted “{e.name}”.", "info")
        self.modelsChanged.emit()
        return True

    def import_file(self, path: str | Path | None = None) -> Path | None:
        """Copy a model file into your models after checking that it loads (else: the reason, nothing copied)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import a model", str(Path.home()), MODEL_FILTER)
            if not path:
                return None
        try:
            new = import_model(Path(path), self.folder)
        except (HDRDeskError, OSError) as exc:
            self._say(f"Not imported: {exc}")
            return None
        self.refresh(select=new)
        self._say(f"Imported “{new.stem}”.", "success")
        self.modelsChanged.emit()
        return new

    def export_selected(self, dest: str | Path | None = None) -> Path | None:
        e = self.selected_entry()
        if e is None:
            return None
        if dest is None:
            dest, _ = QFileDialog.getSaveFileName(self, "Export model", str(Path.home() / f"{e.name}.pt"), MODEL_FILTER)
            if not dest:
                return None
        try:
            out = export_model_file(e.path, Path(dest))
        except (HDRDeskError, OSError) as exc:
            self._say(f"Export: {exc}")
            return None
        self._say(f"Exported to {out}", "success")
        return out

    def _show_folder(self) -> None:
        from hdrdesk.paths import user_models_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder or user_models_dir())))


def _same(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return str(a) == str(b)


def _forget_cached() -> None:
    """A renamed/deleted path may be reused by another model: drop cached networks."""
    try:
        from hdrdesk.core.fusion import forget_models

        forget_models()
    except Exception:  # noqa: BLE001
        pass


def card_json(entry: ModelEntry) -> str:
    return json.dumps(entry.card, indent=1, default=str)
