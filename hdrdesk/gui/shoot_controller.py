"""The shoot view's controller: routes drops, opens shoots, applies the user's edits and runs 'Fuse all'.

The main window owns one :class:`ShootController` (``window.shoots``). A drop of a folder
or of many files is grouped on a worker (headers only); if it holds more than one bracket
the shoot window opens, else the drop loads into the main view as before. Edits go to the
Qt-free :class:`~hdrdesk.shoot.plan.ShootPlan`; 'Fuse all' runs
:func:`~hdrdesk.gui.shoot_jobs.fuse_all_job` (the queue ``hdrdesk batch`` runs, one bracket
in flight) with the main window's current fusion settings.

Signals: ``shootOpened(ShootPlan)``, ``routedToBracket()`` (a drop that was one bracket),
``thumbsReady()`` (every preview of the shoot read), ``queueUpdated(QueueUpdate)``,
``queueFinished(ShootRun)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog

from hdrdesk.defaults import DEFAULT_JPEG_QUALITY
from hdrdesk.errors import HDRDeskError
from hdrdesk.gui import settings as cfg
from hdrdesk.gui.shoot_jobs import QueueUpdate, fuse_all_job, group_job, shoot_files, shoot_folder, thumbs_job
from hdrdesk.gui.shoot_table import COL_FRAMES, COL_STATUS, FramesDelegate, RowState, ShootTableModel, StatusDelegate
from hdrdesk.gui.shoot_view import EXISTING, FORMATS, ShootWindow
from hdrdesk.gui.workers import JobError, JobRunner
from hdrdesk.shoot.naming import DEFAULT_PATTERN
from hdrdesk.shoot.plan import ShootPlan
from hdrdesk.shoot.queue import OutputSettings, QueueSummary
from hdrdesk.tasks import TaskState

MIN_SHOOT_FILES = 4  # fewer files cannot hold two brackets: they load as one, at once
OUTPUT_SUBFOLDER = "fused"  # default output folder inside the shoot's folder


@dataclass
class ShootRun:
    """The end of a 'Fuse all': the queue's summary (None if it stopped on an error) and what the view said."""

    summary: QueueSummary | None
    outdir: Path
    excluded: int = 0
    error: str = ""
    text: str = ""
    outputs: list[Path] = field(default_factory=list)


def summary_text(summary: QueueSummary, outdir: Path, excluded: int) -> str:
    """The summary panel's text: counts, then one line per failed bracket."""
    lines = [f"Fused {len(summary.fused)} of {summary.total} bracket{'s' if summary.total != 1 else ''} into {outdir} in {summary.seconds:.1f} s."]
    extra = []
    if summary.skipped_existing:
        extra.append(f"{len(summary.skipped_existing)} skipped (output exists)")
    n = len(summary.singles)
    extra.append(f"{n} single{'s' if n != 1 else ''} not fused")
    if excluded:
        extra.append(f"{excluded} excluded")
    if summary.failed:
        extra.append(f"{len(summary.failed)} failed")
    lines.append(" · ".join(extra) + ".")
    if summary.cancelled:
        lines.append(f"Cancelled: {summary.not_done} not done. 'Fuse all' again goes on (written files are skipped).")
    for job, why in summary.failed:
        lines.append(f"✗ {job.name}: {why}")
    return "\n".join(lines)


class ShootController(QObject):
    shootOpened = Signal(object)
    routedToBracket = Signal()
    thumbsReady = Signal()
    queueUpdated = Signal(object)
    queueFinished = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.grouper = JobRunner("shoot-group", window.job_pool, parent=self)
        self.thumbs = JobRunner("shoot-thumbs", window.job_pool, parent=self, torch_threads=1)
        self.queue = JobRunner("shoot-queue", window.job_pool, latest_wins=False, parent=self)
        self.plan: ShootPlan | None = None
        self.model: ShootTableModel | None = None
        self.view: ShootWindow | None = None
        self.open_url = QDesktopServices.openUrl  # 'Show in folder' (tests replace it)
        self._request: tuple[list[Path], bool] | None = None  # (dropped paths, open the view even for one bracket)
        self._control: TaskState | None = None
        self._job_uids: list[int] = []
        self._run_outdir: Path | None = None
        self._last_run: ShootRun | None = None
        self.grouper.result.connect(self._on_grouped)
        self.grouper.error.connect(self._on_group_error)
        self.thumbs.partial.connect(lambda _rid, batch: self.model is not None and self.model.set_thumbs(batch))
        self.thumbs.result.connect(lambda *_: self._thumbs_done())
        self.queue.partial.connect(self._on_queue_update)
        self.queue.result.connect(self._on_queue_done)
        self.queue.error.connect(self._on_queue_error)
        self.queue.cancelled.connect(lambda _rid: self._on_queue_error(_rid, None))

    # ================================================================ opening
    def route_drop(self, paths: Sequence[str | os.PathLike]) -> None:
        """A drop on the window: a shoot (more than one bracket) opens the shoot view, anything else loads as one bracket."""
        paths = [Path(p) for p in paths]
        try:
            files = shoot_files(paths)
        except OSError:
            files = []  # the loader reports the problem
        if len(files) < MIN_SHOOT_FILES:
            self.window.open_paths(paths, replace=True)
            return
        self._find(paths, files, force=False)

    def open_dialog(self) -> None:
        """File > Open Shoot: a folder of camera files, shown in the shoot view whatever it holds."""
        folder = QFileDialog.getExistingDirectory(self.window, "Open a shoot (a folder of camera files)", self.window.last_folder())
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | os.PathLike) -> int:
        """Group ``folder``'s files on a worker and show them in the shoot view; returns the request id."""
        folder = Path(folder)
        try:
            files = shoot_files([folder])
        except OSError as exc:
            self.window.notify(f"{folder}: cannot be read ({exc.strerror or exc})")
            return 0
        if not files:
            self.window.notify(f"{folder}: holds no JPEG, PNG, TIFF or RAW files", "warning")
            return 0
        return self._find([folder], files, force=True)

    def _find(self, paths: list[Path], files: list[Path], force: bool) -> int:
        self._request = (paths, force)
        self.window.show_status("Finding brackets…")
        return self.grouper.submit(group_job, files, shoot_folder(paths), label="Finding brackets")

    def _on_grouped(self, _rid: int, plan: ShootPlan) -> None:
        paths, force = self._request or ([], True)
        self._request = None
        if not force and len(plan.brackets()) <= 1:
            self.routedToBracket.emit()
            self.window.open_paths(paths, replace=True)
            return
        if self.is_running():
            self.window.notify("A shoot is being fused: cancel it (or let it finish) before opening another one.", "warning")
            return
        self.show_plan(plan)

    def _on_group_error(self, _rid: int, err: JobError) -> None:
        paths, force = self._request or ([], True)
        self._request = None
        if force or not paths:
            self.window.job_error("Finding brackets", err)
        else:
            self.window.open_paths(paths, replace=True)

    def show_plan(self, plan: ShootPlan) -> ShootWindow:
        """Show ``plan`` in the shoot window (created on first use) and start reading its previews."""
        self.thumbs.cancel()
        self.plan = plan
        old_model, self.model = self.model, ShootTableModel(plan, self)
        view = self.view or self._make_view()
        old_selection = view.table.selectionModel()
        view.table.setModel(self.model)
        for old in (old_selection, old_model):  # a shoot opened before: its model and previews go
            if old is not None:
                old.deleteLater()
        for col, delegate in ((COL_FRAMES, FramesDelegate), (COL_STATUS, StatusDelegate)):
            old = view.table.itemDelegateForColumn(col)
            view.table.setItemDelegateForColumn(col, delegate(self.model, view.table))
            if old is not None:
                old.deleteLater()
        view.set_columns(max((len(g.shots) for g in plan.groups), default=3))
        view.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        where = plan.folder or (plan.groups[0].shots[0].path.parent if plan.groups else Path.home())
        view.setWindowTitle(f"{where.name} — Shoot — HDRDesk")
        view.folder_edit.setText(str(where / OUTPUT_SUBFOLDER))
        view.summary.hide()
        notes = [f"Note: {n}" for n in plan.notes]
        if plan.ignored:
            shown = ", ".join(f"{p.name} ({why})" for p, why in plan.ignored[:3])
            more = f" and {len(plan.ignored) - 3} more" if len(plan.ignored) > 3 else ""
            notes.append(f"Ignored {len(plan.ignored)} file{'s' if len(plan.ignored) != 1 else ''}: {shown}{more}")
        view.notes.setText("\n".join(notes))
        view.notes.setVisible(bool(notes))
        view.set_running(False)
        self._refresh()
        if plan.groups:
            first = next((i for i, g in enumerate(plan.groups) if g.is_bracket), 0)
            view.table.selectRow(first)
        view.show()
        view.raise_()
        view.activateWindow()
        self.window.show_status(f"Shoot: {plan.summary_text()}")
        self.thumbs.submit(thumbs_job, [s.path for g in plan.groups for s in g.shots], label="Previews")
        self.shootOpened.emit(plan)
        return view

    def _make_view(self) -> ShootWindow:
        v = ShootWindow(self.window)
        self.view = v
        fmt = cfg.get(self.window.settings, cfg.SHOOT_FORMAT)
        for i in range(v.format_combo.count()):
            suffix, bits = v.format_combo.itemData(i)
            if f"{suffix}:{bits}" == fmt:
                v.format_combo.setCurrentIndex(i)
        v.pattern_edit.setText(cfg.get(self.window.settings, cfg.SHOOT_PATTERN) or DEFAULT_PATTERN)
        v.existing_combo.setCurrentIndex(max(0, v.existing_combo.findData(cfg.get(self.window.settings, cfg.SHOOT_EXISTING))))
        v.open_button.clicked.connect(self.open_selected)
        v.table.doubleClicked.connect(lambda _i: self.open_selected())
        v.open_shortcut.activated.connect(self.open_selected)
        v.split_button.clicked.connect(self.split_selected)
        v.merge_button.clicked.connect(self.merge_selected)
        v.exclude_button.toggled.connect(self.exclude_selected)
        v.earlier_button.clicked.connect(lambda: self.move_selected_frame(-1))
        v.later_button.clicked.connect(lambda: self.move_selected_frame(1))
        v.frames_list.currentRowChanged.connect(lambda _r: self._update_buttons())
        v.browse_button.clicked.connect(self._browse_output)
        v.folder_edit.editingFinished.connect(self._refresh)
        v.pattern_edit.editingFinished.connect(self._refresh)
        v.format_combo.currentIndexChanged.connect(lambda _i: self._refresh())
        v.existing_combo.currentIndexChanged.connect(lambda _i: self._refresh())
        v.fuse_button.clicked.connect(self.fuse_all)
        v.pause_button.toggled.connect(self.set_paused)
        v.cancel_button.clicked.connect(self.cancel)
        v.show_folder_button.clicked.connect(self.show_in_folder)
        v.summary_close.clicked.connect(v.summary.hide)
        v.closing.connect(self._view_closing)
        return v

    def _view_closing(self) -> None:
        """Closing the shoot window cancels its queue (what was written stays) and the previews."""
        self.cancel()
        self.thumbs.cancel()

    def _thumbs_done(self) -> None:
        self._selection_changed()  # the detail strip gets its previews
        self.thumbsReady.emit()

    # ================================================================ editing
    def selected_row(self) -> int:
        if self.view is None or self.model is None:
            return -1
        idx = self.view.table.selectionModel().currentIndex()
        return idx.row() if idx.isValid() else -1

    def select(self, row: int, frame: int | None = None) -> None:
        """Select group ``row`` (and frame ``frame`` of it in the detail strip)."""
        assert self.view is not None
        self.view.table.selectRow(row)
        self.view.table.setCurrentIndex(self.model.index(row, 0))
        if frame is not None:
            self.view.frames_list.setCurrentRow(frame)

    def _edit(self, fn, *args) -> object:
        try:
            return fn(*args)
        except HDRDeskError as exc:
            self.view.show_message(str(exc), "error")
            return None

    def split_selected(self) -> None:
        """Split the selected group before the frame selected in the detail strip."""
        row, at = self.selected_row(), self.view.frames_list.currentRow()
        if row < 0 or at < 1:
            self.view.show_message("Select the frame the second part starts with (below), then Split.", "warning")
            return
        if self._edit(self.plan.split, row, at) is not None:
            self._after_edit(row)

    def merge_selected(self) -> None:
        row = self.selected_row()
        if row >= 0 and self._edit(self.plan.merge, row) is not None:
            self._after_edit(row)

    def exclude_selected(self, excluded: bool) -> None:
        row = self.selected_row()
        if row < 0 or self.plan.groups[row].excluded == excluded or not self.plan.groups[row].is_bracket:
            return
        self.plan.set_excluded(row, excluded)
        self._refresh()
        self._update_buttons()

    def move_selected_frame(self, step: int) -> None:
        row, f = self.selected_row(), self.view.frames_list.currentRow()
        n = len(self.plan.groups[row].shots) if row >= 0 else 0
        if row < 0 or f < 0 or not 0 <= f + step < n:
            return
        self.plan.move_frame(row, f, f + step)
        self._refresh()
        self._selection_changed()
        self.view.frames_list.setCurrentRow(f + step)

    def _after_edit(self, row: int) -> None:
        self.model.reset()
        self._refresh()
        self.select(min(row, len(self.plan.groups) - 1))

    def open_selected(self) -> None:
        """Open the selected bracket in the main window (the single-bracket path) to inspect and tune it."""
        row = self.selected_row()
        if row < 0:
            return
        g = self.plan.groups[row]
        self.window.open_paths(g.files, replace=True)
        self.window.raise_()
        self.window.activateWindow()

    def _selection_changed(self) -> None:
        row = self.selected_row()
        if self.view is None:
            return
        if row < 0:
            self.view.set_frames("Frames", [])
        else:
            g = self.plan.groups[row]
            what = f"{len(g.shots)} frames" if g.is_bracket else "a single (not fused)"
            items = [(f"{s.name}\n{ev} · {_clock(s.capture_time) if s.capture_time is not None else 'no time'}",
                      self.model.thumbs.get(s.path) or None) for s, ev in zip(g.shots, g.ev_labels())]
            self.view.set_frames(f"Frames of {g.shots[0].name}: {what}", items)
        self._update_buttons()

    def _update_buttons(self) -> None:
        v, row = self.view, self.selected_row()
        if v is None:
            return
        running = self.is_running()
        g = self.plan.groups[row] if row >= 0 else None
        frame = v.frames_list.currentRow()
        v.open_button.setEnabled(g is not None and g.is_bracket)
        v.split_button.setEnabled(not running and g is not None and g.is_bracket and frame >= 1)
        v.merge_button.setEnabled(not running and 0 <= row < len(self.plan.groups) - 1)
        v.exclude_button.setEnabled(not running and g is not None and g.is_bracket)
        v.exclude_button.blockSignals(True)
        v.exclude_button.setChecked(bool(g and g.excluded))
        v.exclude_button.setText("Include" if g is not None and g.excluded else "Exclude")
        v.exclude_button.blockSignals(False)
        v.earlier_button.setEnabled(not running and g is not None and frame >= 1)
        v.later_button.setEnabled(not running and g is not None and 0 <= frame < len(g.shots) - 1)
        if g is not None:
            v.selection_label.setText(f"{g.shots[0].name}: {len(g.shots)} frame{'s' if len(g.shots) != 1 else ''}")

    # ================================================================ output names
    def output_options(self) -> tuple[Path, str, int, str, str]:
        """(folder, suffix, bits, name pattern, existing policy) as the window shows them."""
        v = self.view
        suffix, bits = v.format_combo.currentData()
        text = v.folder_edit.text().strip()
        folder = Path(text).expanduser() if text else Path(self.plan.folder or Path.home()) / OUTPUT_SUBFOLDER
        return folder, suffix, bits, v.pattern_edit.text().strip() or DEFAULT_PATTERN, v.existing_combo.currentData()

    def _refresh(self) -> None:
        """Output names after an edit or an option change; a bad pattern disables 'Fuse all' with its reason."""
        if self.view is None or self.plan is None:
            return
        folder, suffix, _bits, pattern, existing = self.output_options()
        self.view.heading.setText(f"{self.plan.folder.name if self.plan.folder else 'Shoot'}: {self.plan.summary_text()}")
        try:
            pairs = self.plan.jobs(folder, suffix, pattern)
        except HDRDeskError as exc:
            self.model.outputs = {}
            self.view.show_message(str(exc), "error")
            self.view.fuse_button.setEnabled(False)
        else:
            self.model.outputs = {g.uid: job.output.name + ("  (exists)" if job.output.exists() else "") for g, job in pairs}
            n = len(pairs)
            self.view.show_message(f"{n} bracket{'s' if n != 1 else ''} to fuse into {folder}" if n else "No bracket is included.")
            self.view.fuse_button.setEnabled(n > 0 and not self.is_running())
        self.model.dataChanged.emit(self.model.index(0, 0), self.model.index(max(0, len(self.plan.groups) - 1), 5))
        self._update_buttons()

    def _browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.view, "Save the fused images in", self.view.folder_edit.text())
        if folder:
            self.view.folder_edit.setText(folder)
            self._refresh()

    # ================================================================ the queue
    def is_running(self) -> bool:
        return self.queue.is_busy()

    def fuse_all(self) -> int:
        """Fuse every included bracket with the main window's current settings; returns the request id (0: not started)."""
        from hdrdesk.core.io import probe_writable

        if self.plan is None or self.view is None or self.is_running():
            return 0
        folder, suffix, bits, pattern, existing = self.output_options()
        try:
            pairs = self.plan.jobs(folder, suffix, pattern)
            if not pairs:
                self.view.show_message("No bracket is included: nothing to fuse.", "warning")
                return 0
            if folder.exists() and not folder.is_dir():
                raise HDRDeskError(f"{folder}: exists and is not a folder")
            folder.mkdir(parents=True, exist_ok=True)
            probe_writable(folder)
            options = self.window.fusion_options()
            options.validate()
        except (HDRDeskError, OSError) as exc:
            self.view.show_message(str(exc) if isinstance(exc, HDRDeskError) else f"{folder}: {exc.strerror or exc}", "error")
            return 0
        s = self.window.settings
        cfg.put(s, cfg.SHOOT_FORMAT, f"{suffix}:{bits}")
        cfg.put(s, cfg.SHOOT_PATTERN, pattern)
        cfg.put(s, cfg.SHOOT_EXISTING, existing)
        settings = OutputSettings(bits=bits, quality=DEFAULT_JPEG_QUALITY, overwrite=existing == "replace", skip_existing=existing == "skip")
        self._job_uids = [g.uid for g, _ in pairs]
        for g in self.plan.groups:
            self.model.states.pop(g.uid, None)
        for uid in self._job_uids:
            self.model.states[uid] = RowState("waiting", message="waiting")
        self._run_outdir = folder
        self._control = TaskState()
        self.view.summary.hide()
        self.view.overall.setValue(0)
        self.view.set_running(True)
        self._update_buttons()
        self.view.show_message(f"Fusing {len(pairs)} brackets…")
        return self.queue.submit(fuse_all_job, [job for _, job in pairs], options, settings, self.plan.single_paths(),
                                 self._control, label="Fusing the shoot")

    def set_paused(self, paused: bool) -> None:
        if self._control is None or not self.is_running():
            return
        if paused:
            self._control.pause()
            self.view.pause_button.setText("Resume")
            self.view.show_message("Paused (after the current step).")
        else:
            self._control.resume()
            self.view.pause_button.setText("Pause")
            self.view.show_message("Going on…")

    def cancel(self) -> None:
        """Stop 'Fuse all' at the next safe point: written files stay complete, nothing is half-written."""
        if self._control is not None and self.is_running():
            self._control.cancel()
            if self.view is not None:
                self.view.cancel_button.setEnabled(False)
                self.view.show_message("Cancelling…")

    def _on_queue_update(self, _rid: int, u: QueueUpdate) -> None:
        if self.model is None or not 0 <= u.index < len(self._job_uids):
            return
        uid = self._job_uids[u.index]
        if u.kind in ("start", "progress"):
            state = RowState("running", u.bracket_fraction, u.message)
        elif u.kind == "fused":
            state = RowState("fused", 1.0, f"{u.seconds:.1f} s", u.thumb)
        elif u.kind == "skipped":
            state = RowState("skipped", 1.0, "output exists" if u.message == "exists" else u.message)
        else:
            state = RowState("failed", 1.0, u.message)
        self.model.set_state(uid, state)
        if self.view is not None:
            self.view.overall.setValue(int(1000 * u.overall_fraction))
            if u.kind in ("start", "progress") and not self.view.pause_button.isChecked():
                self.view.show_message(f"Bracket {u.index + 1} of {len(self._job_uids)}: {u.output.name if u.output else ''} — {u.message}")
            if u.kind == "start":
                self.view.table.scrollTo(self.model.index(self.plan.index_of(uid), 0))
        self.queueUpdated.emit(u)

    def _on_queue_done(self, _rid: int, summary: QueueSummary) -> None:
        excluded = len(self.plan.excluded()) if self.plan is not None else 0
        outdir = self._run_outdir or Path()
        run = ShootRun(summary, outdir, excluded, text=summary_text(summary, outdir, excluded), outputs=[j.output for j in summary.fused])
        self._finish(run)

    def _on_queue_error(self, _rid: int, err: JobError | None) -> None:
        msg = "cancelled" if err is None else err.message()
        run = ShootRun(None, self._run_outdir or Path(), error=msg, text=f"'Fuse all' stopped: {msg}")
        self._finish(run)

    def _finish(self, run: ShootRun) -> None:
        self._control = None
        self._last_run = run
        if self.model is not None:
            for uid in self._job_uids:  # rows a cancel or a stop left: ready again
                st = self.model.states.get(uid)
                if st is not None and st.status in ("waiting", "running"):
                    self.model.set_state(uid, RowState())
        if self.view is not None:
            self.view.set_running(False)
            self.view.summary_text.setText(run.text)
            self.view.summary.show()
            self.view.show_message("")
            self._refresh()
        self.window.show_status(run.text.splitlines()[0])
        self.queueFinished.emit(run)

    def show_in_folder(self) -> None:
        run = self._last_run
        if run is not None:
            self.open_url(QUrl.fromLocalFile(str(run.outdir)))

    def close(self) -> None:
        """The main window closes: stop the queue and the previews (the window then waits for its pool)."""
        self.cancel()
        for r in (self.grouper, self.thumbs):
            r.cancel()
        if self.view is not None:
            self.view.close()


def _clock(seconds: float) -> str:
    from hdrdesk.shoot.grouping import format_time

    return format_time(seconds).split(" ", 1)[-1]
