"""The Fine-tune panel's end of a run: the before/after table, the side-by-side comparison,
'Keep as...' and 'Discard'. Mixed into FinetunePanel (it uses the panel's widgets and state)."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidgetItem

from hdrdesk.core.io import Frame
from hdrdesk.gui import style
from hdrdesk.gui.finetune_jobs import CompareOutput, compare_job
from hdrdesk.gui.tool_widgets import unique_model_name
from hdrdesk.training.finetune import FinetuneOutcome


class FinetuneSummary:
    """Summary, comparison and keeping of the run's model."""

    # ----------------------------------------------------------- summary
    def outcome(self) -> FinetuneOutcome | None:
        return self._outcome

    def _show_summary(self, outcome: FinetuneOutcome, partial: bool = False) -> None:
        before, after = outcome.before or {}, outcome.after or {}
        rows = []
        for track in ("pair", "seq"):
            for scene, q in (after.get("per_scene", {}) or {}).get(track, {}).items():
                b = (before.get("per_scene", {}) or {}).get(track, {}).get(scene)
                rows.append((scene, track, b, q))
        rows.sort(key=lambda r: (r[0], r[1] != "pair"))
        self.table.setRowCount(len(rows) + (1 if rows else 0))
        track_names = {"pair": "under/over pair", "seq": "all exposures"}

        def put(r: int, values: tuple, bold: bool = False) -> None:
            for c, v in enumerate(values):
                if isinstance(v, float):
                    text = f"{v:+.4f}" if c == 4 else f"{v:.4f}"
                else:
                    text = "—" if v is None else str(v)
                it = QTableWidgetItem(text)
                if c >= 2:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 4 and isinstance(v, float):
                    it.setForeground(QColor("#7cc47f" if v > 1e-5 else ("#e07a6f" if v < -1e-5 else style.TEXT_DIM)))
                if bold:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
                self.table.setItem(r, c, it)

        for r, (scene, track, b, q) in enumerate(rows):
            put(r, (scene, track_names.get(track, track), b, q, (q - b) if b is not None else None))
        if rows:
            mb, ma = before.get("mean"), after.get("mean")
            put(len(rows), ("Mean", "", mb, ma, (ma - mb) if mb is not None and ma is not None else None), bold=True)
        self.table.resizeRowsToContents()
        fit = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(self.table.rowCount())) + 4
        self.table.setFixedHeight(min(fit, 200))
        if before.get("mean") is not None and after.get("mean") is not None:
            d = after["mean"] - before["mean"]
            better = d > 1e-6
            verdict = (f"The fine-tuned model scores <b>{after['mean']:.4f}</b> on the held-back brackets, "
                       f"up from {before['mean']:.4f} ({d:+.4f})." if better else
                       f"Fine-tuning did not beat the starting model on the held-back brackets ({before['mean']:.4f}); "
                       "the best weights are the starting weights.")
            if partial:
                verdict = "Stopped early. " + verdict
            self.summary_label.setText(verdict)
        else:
            self.summary_label.setText("No held-back bracket, so no before/after score." if not outcome.val_scenes else "")
        self.keep_name.setText(unique_model_name(self._suggest_name()))
        self._kept = None
        self.keep_button.setEnabled(outcome.best_path is not None)
        self.use_button.setVisible(False)
        self.pages.setCurrentIndex(1)
        self._start_compare(outcome)

    def _suggest_name(self) -> str:
        if self.use_current.isChecked() and self.current_name():
            return f"{self.current_name()}-tuned"
        folders = self.folders_list()
        if folders:
            return f"{Path(folders[0]).name}-tuned"
        return "fine-tuned"

    def _start_compare(self, outcome: FinetuneOutcome) -> None:
        if outcome.best_path is None:
            return
        name = outcome.val_scenes[0] if outcome.val_scenes else ""
        files = self.monitor.scene_files.get(name, [])
        frames: list[Frame] = []
        if not files:
            frames, name = self._preview_frames, self.current_name() or "preview"
            if not frames:
                return
        self.compare_heading.setText(f"SIDE BY SIDE · {name}" + (" (held back)" if name in outcome.val_scenes else ""))
        self.before_view.set_image(None, "Starting model")
        self.after_view.set_image(None, "Fine-tuned")
        self.compare_runner.submit(compare_job, name, files, frames, self._base_source(), outcome.best_path, label="Compare")

    def _on_compare(self, _rid: int, out: CompareOutput) -> None:
        fmt = lambda s: f" · {s:.4f}" if s is not None else ""  # noqa: E731
        self.before_view.set_image(out.before, f"Starting model{fmt(out.before_score)}")
        self.after_view.set_image(out.after, f"Fine-tuned{fmt(out.after_score)}")
        self.compareReady.emit()

    def keep_as(self, name: str | None = None) -> Path | None:
        """Store the run's best weights in the user's models under ``name`` (default: the name field)."""
        from hdrdesk.errors import HDRDeskError
        from hdrdesk.training.finetune import keep_finetuned

        outcome = self._outcome
        if outcome is None:
            return None
        name = (name or self.keep_name.text()).strip()
        if not name:
            self._show_message("Give the new model a name.", "warning")
            return None
        try:
            path = keep_finetuned(outcome, name)
        except HDRDeskError as exc:
            self._show_message(str(exc), "error")
            return None
        self._kept = path
        self._show_message(f"Kept as “{path.stem}” in your models ({path.parent}).", "success")
        self.use_button.setVisible(True)
        self.keep_button.setEnabled(False)
        self.modelKept.emit(path)
        return path

    def discard(self) -> None:
        run = self.run_dir()
        if self.is_running() or run is None:
            return
        from hdrdesk.paths import user_data_dir

        if run.is_dir() and (user_data_dir() / "runs") in run.parents:
            shutil.rmtree(run, ignore_errors=True)
        self._plan = None
        self._outcome = None
        self._reset_monitor()
        self._show_message("")
        self.status.setText("Run discarded. Choose photos, then start.")
        self._set_state("idle")
