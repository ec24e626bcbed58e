"""The Fine-tune panel: fine-tune the fusion network on your own brackets, watch it learn, keep the result.

Training runs on a worker thread through :func:`hdrdesk.training.finetune.run_finetune`
(the same code as ``hdrdesk finetune``); its events arrive on the UI thread through the
runner's ``partial`` signal (``TaskState.publish``) and are typed by
:mod:`hdrdesk.training.run_state`, whose :class:`RunMonitor` holds the step and the curves;
progress, pause and cancel go through the job's :class:`~hdrdesk.tasks.TaskState`. A share
of the chosen brackets (at least one) is held back and scores the starting and the
fine-tuned model (MEF-SSIM); the preview fuses the current bracket with the newest
checkpoint every time the loop writes one.

A stopped run keeps its best checkpoint and ``last.pt`` in its run folder and can be
resumed; 'Keep as...' stores the best weights in the user's models (model_store).

Modules: the widgets are built in finetune_view, the worker side is finetune_jobs, the end
of a run (summary, comparison, keeping) is finetune_summary.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QEvent, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QVBoxLayout, QWidget

from hdrdesk.core.io import Frame
from hdrdesk.gui import finetune_jobs
from hdrdesk.gui import style
from hdrdesk.gui.finetune_jobs import PreviewOutput, RunPlan, _Holder, finetune_job, warm_up_job
from hdrdesk.gui.finetune_sources import FinetuneSources
from hdrdesk.gui.finetune_summary import FinetuneSummary
from hdrdesk.gui.finetune_view import FinetuneView
from hdrdesk.gui.host import BracketHost
from hdrdesk.gui.tool_widgets import Heartbeat, ImageView, format_duration, unique_model_name  # noqa: F401  (tests and Refine use them from here)
from hdrdesk.gui.workers import JobError, JobRunner
from hdrdesk.training.finetune import FinetuneOutcome, FinetuneRequest
from hdrdesk.training.run_state import (
    DataEvent,
    DoneEvent,
    Event,
    PreviewErrorEvent,
    PreviewEvent,
    RunMonitor,
    RunState,
    StepEvent,
    ValEvent,
    parse_event,
)

PLOT_REFRESH_MS = 250  # curves are redrawn at most this often
# While training runs on a worker, the interpreter hands its lock over every 1 ms instead of 5:
# every return from Qt's C++ into Python on the UI thread waits at most that long.
TRAINING_SWITCH_INTERVAL = 0.001


class FinetunePanel(FinetuneView, FinetuneSources, FinetuneSummary, QWidget):
    """Sources, settings, live progress (curves, preview), before/after summary and 'Keep as...'.

    ``window`` (optional): the main window as a :class:`~hdrdesk.gui.host.BracketHost`, for the
    current bracket, its worker pool and the model in use. Without it the panel works on folders
    only (tests, scripts). The run's state and curves live in ``self.monitor`` (Qt-free,
    hdrdesk.training.run_state); training events arrive typed through the runner's ``partial``.
    """

    started = Signal()
    stepped = Signal(int)
    dataReady = Signal(dict)
    validated = Signal(int, float)
    previewReady = Signal(int)
    finished = Signal(object)  # FinetuneOutcome
    stopped = Signal(int)  # step at which a cancelled run stopped
    failed = Signal(str)
    compareReady = Signal()
    modelKept = Signal(object)  # Path
    useModel = Signal(object)  # Path
    stateChanged = Signal(str)
    warmed = Signal()

    def __init__(self, window: BracketHost | None = None, pool: QThreadPool | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main_window = window
        pool = pool or (window.job_pool if window is not None else None)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(3)
        self.pool = pool
        self.runner = JobRunner("finetune", pool, latest_wins=False, parent=self)
        self.compare_runner = JobRunner("finetune-compare", pool, latest_wins=True, parent=self)
        self.scan_runner = JobRunner("finetune-scan", pool, latest_wins=True, parent=self)
        self.warm_runner = JobRunner("finetune-warm-up", pool, latest_wins=True, parent=self)
        self.is_warm = finetune_jobs.is_warm()
        self.runner.partial.connect(lambda _rid, e: self._on_event(parse_event(e)))
        self._holder = _Holder()
        self._state = RunState.IDLE
        self._plan: RunPlan | None = None
        self._rid = 0
        self.monitor = RunMonitor()
        self._preview_frames: list[Frame] = []
        self._outcome: FinetuneOutcome | None = None
        self._kept: Path | None = None
        self._t_start = 0.0
        self._switch_interval: float | None = None
        self._torch_threads = 0
        self._deferred: RunPlan | None = None
        self._plot_timer = QTimer(self)
        self._plot_timer.setSingleShot(True)
        self._plot_timer.setInterval(PLOT_REFRESH_MS)
        self._plot_timer.timeout.connect(self._redraw_curves)
        self._build()
        self.setStyleSheet(style.PRIMARY_DISABLED_CSS)
        self._connect()
        self.refresh_sources()
        self._set_state("idle")

    def _connect(self) -> None:
        self.add_folder_button.clicked.connect(self._browse_folder)
        self.remove_folder_button.clicked.connect(self._remove_folders)
        self.use_current.toggled.connect(lambda _b: self._update_found())
        self.gamma.currentIndexChanged.connect(self._gamma_changed)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.start_button.clicked.connect(lambda: self.start())
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.resume_run())
        self.keep_button.clicked.connect(lambda: self.keep_as())
        self.use_button.clicked.connect(lambda: self._kept and self.useModel.emit(self._kept))
        self.discard_button.clicked.connect(self.discard)
        self.runner.result.connect(self._on_result)
        self.runner.error.connect(self._on_error)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.progress.connect(self._on_progress)
        self.compare_runner.result.connect(self._on_compare)
        self.compare_runner.error.connect(lambda _r, e: self.compare_heading.setText(f"SIDE BY SIDE — {e.message()}"))
        self.scan_runner.result.connect(self._on_scan)
        self.warm_runner.result.connect(self._on_warm)
        self.warm_runner.error.connect(lambda _r, _e: self._on_warm())
        if finetune_jobs.is_warm():
            QTimer.singleShot(0, self._on_warm)
        else:
            self.warm_runner.submit(warm_up_job, label="Warm-up")
        self.scan_runner.error.connect(lambda _r, e: self.found_label.setText(e.message()))
        self._gamma_changed()
        if self.main_window is not None:
            self.main_window.framesChanged.connect(self.refresh_sources)
            self.main_window.resultReady.connect(self.refresh_sources)

    def _on_warm(self, *_a) -> None:
        self.is_warm = True
        plan, self._deferred = self._deferred, None
        if plan is not None:
            self._launch(plan)
        self.warmed.emit()

    # ---------------------------------------------------------- settings
    def _gamma_changed(self, *_a) -> None:
        hybrid = self.gamma.currentData() == "hybrid"
        self.gamma_alpha.setVisible(hybrid)
        self.alpha_label.setVisible(hybrid)

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def set_base_models(self, choices: Sequence[tuple[str, Path | None]], current: Path | None = None) -> None:
        """Models to start from: (label, path or None for the shipped model)."""
        self.base_model.clear()
        for label, path in choices:
            self.base_model.addItem(label, str(path) if path else "default")
        want = str(current) if current else "default"
        i = self.base_model.findData(want)
        self.base_model.setCurrentIndex(max(0, i))

    def refresh_base_models(self) -> None:
        from hdrdesk.gui.model_manager import store_choices

        current = self.main_window.model_path() if self.main_window is not None else None
        self.set_base_models(store_choices(extra=[current] if current else []), current)

    def learning_rate(self) -> float:
        text = self.lr.currentText().strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"learning rate {text!r} is not a number (e.g. 2e-4)") from None
        if not 0 < value < 1:
            raise ValueError(f"learning rate {value:g} is outside (0, 1)")
        return value

    def build_request(self, name: str, out_dir: Path) -> FinetuneRequest:
        w = self.gamma_window.value() | 1
        steps = self.steps.value()
        val_every = self.val_every.value() or max(1, steps // 8)
        return FinetuneRequest(
            folders=self.folders_list(), init=self.base_model.currentData() or "default", steps=steps, lr=self.learning_rate(),
            gamma=self.gamma.currentData(), gamma_window=w, gamma_alpha=self.gamma_alpha.value(),
            val_fraction=self.val_share.value() / 100.0, crop=self.crop.value(), frames_per_batch=self.frames_per_batch.value(),
            name=name, device=self.device.currentData(), out_dir=str(out_dir), save=False, val_every=val_every,
            val_max_side=self.val_size.value(), threads=self.threads.value() or max(1, (os.cpu_count() or 2) - 1), seed=self.seed.value(),
            log_every=max(1, steps // 150),
        )

    # ---------------------------------------------------------- running
    def is_running(self) -> bool:
        return self._state.active

    def state(self) -> RunState:
        """Where the run is (a str enum: compares equal to "running" etc.)."""
        return self._state

    def run_dir(self) -> Path | None:
        return Path(self._plan.request.out_dir) if self._plan and self._plan.request.out_dir else None

    def start(self, name: str | None = None) -> bool:
        """Start a new run with the settings shown. False: refused (the panel says why)."""
        from hdrdesk.paths import user_data_dir

        if self.is_running():
            return False
        self._show_message("")
        n = self.bracket_count()
        if n < 2 and (not self.folders.count() or self._scan_out is not None):
            self._show_message("Fine-tuning needs at least two brackets: one is held back to check the result. "
                               "Add a folder, or use Tools ▸ Refine This Bracket to adapt the model to this bracket alone.", "warning")
            return False
        name = name or datetime.now().strftime("finetune-%Y%m%d-%H%M%S")
        out_dir = user_data_dir() / "runs" / name
        try:
            req = self.build_request(name, out_dir)
        except ValueError as exc:
            self._show_message(str(exc), "error")
            return False
        plan = RunPlan(req)
        if self.use_current.isChecked() and self.use_current.isEnabled():
            files = self.current_files()
            if len(files) >= 2:
                root = out_dir / "inputs" / "current"
                plan.current_files = files
                plan.current_dir = root / (files[0].parent.name or "current")
                req.folders = [*req.folders, str(root)]
        if not req.folders:
            self._show_message("Choose photos first: the current bracket and/or folders of brackets.", "warning")
            return False
        self._plan = plan
        self._reset_monitor()
        self.monitor.steps_total = req.steps
        return self._submit(plan)

    def resume_run(self) -> bool:
        """Continue the stopped run from its last checkpoint (same run folder and settings)."""
        plan = self._plan
        if self.is_running() or plan is None:
            return False
        last = Path(plan.request.out_dir) / "last.pt"
        if not last.is_file():
            self._show_message("This run stopped before its first checkpoint: start it again.", "warning")
            return False
        self._show_message("")
        plan = RunPlan(plan.request, resume=True, current_files=plan.current_files, current_dir=plan.current_dir)
        self._plan = plan
        self._kept = None
        self.pages.setCurrentIndex(0)
        return self._submit(plan)

    def _submit(self, plan: RunPlan) -> bool:
        self._t_start = time.perf_counter()
        self._holder = _Holder()
        self._outcome = None
        self._set_state("running")
        if not self.is_warm:  # imports still loading on a worker: start right after them
            self.status.setText("Getting ready…")
            self._deferred = plan
            return True
        self._launch(plan)
        return True

    def _launch(self, plan: RunPlan) -> None:
        if self._state not in ("running", "paused"):
            return  # stopped while it waited for the warm-up
        if self._switch_interval is None:
            import torch

            self._switch_interval = sys.getswitchinterval()
            self._torch_threads = torch.get_num_threads()  # training sets its own count; restored at the end
            sys.setswitchinterval(min(self._switch_interval, TRAINING_SWITCH_INTERVAL))
        self._t_start = time.perf_counter()
        self.status.setText("Resuming…" if plan.resume else "Starting…")
        frames = self.current_frames()
        self._rid = self.runner.submit(finetune_job, plan, self._holder, preview=frames if len(frames) >= 2 else (), label="Fine-tuning")
        if self._state == "paused":
            self.runner.pause()
        self.started.emit()

    def toggle_pause(self) -> None:
        if self._state == "running":
            self.pause()
        elif self._state == "paused":
            self.resume()

    def pause(self) -> None:
        if self._state != "running":
            return
        self.runner.pause()
        self._set_state("paused")
        self.status.setText(f"Paused at step {self.monitor.step} of {self.monitor.steps_total}")

    def resume(self) -> None:
        """Continue a paused run."""
        if self._state != "paused":
            return
        self.runner.resume()
        self._set_state("running")
        self.status.setText(f"Step {self.monitor.step} of {self.monitor.steps_total}")

    def stop(self) -> None:
        """Cancel at the next step; the loop saves last.pt and keeps best.pt."""
        if not self.is_running():
            return
        if self._deferred is not None:  # still waiting for the warm-up: nothing ran yet
            self._deferred = None
            self._set_state("idle" if self._plan is None or not self._plan.resume else "stopped")
            self.status.setText("Not started")
            return
        self.runner.cancel()
        self._set_state("stopping")
        self.status.setText("Stopping after this step…")

    def stop_and_wait(self, timeout_ms: int = 60000) -> bool:
        self.stop()
        ok = self.runner.wait_done(timeout_ms)
        self.compare_runner.cancel()
        return ok

    def _reset_monitor(self) -> None:
        self.monitor.reset()
        self._preview_frames = []
        self._kept = None
        self.loss_curve.setData([], [])
        self.loss_raw_curve.setData([], [])
        self.val_curve.setData([], [])
        self.val_start_line.setVisible(False)
        self.progress.setValue(0)
        self.eta.setText("")
        self.data_label.setText("")
        self.preview_fused.set_image(None, "Fused")
        self.preview_caption.setText("")
        self.pages.setCurrentIndex(0)
        self.use_button.setVisible(False)

    def _set_state(self, state: RunState | str) -> None:
        state = self._state = RunState(state)
        running = state in ("running", "paused", "stopping")
        # idle/ended: Start (and Resume Run after a stop); running: Pause/Continue and Stop
        self.start_button.setVisible(not running)
        self.start_button.setEnabled(not running)
        self.start_button.setText("Start Fine-tuning" if state == "idle" else "Start a New Run")
        self.pause_button.setVisible(running)
        self.stop_button.setVisible(running)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Continue" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("running", "paused"))
        self.resume_button.setVisible(self.can_resume())
        for w in (self.use_current, self.folders, self.add_folder_button, self.remove_folder_button, self.base_model, self.gamma,
                  self.gamma_window, self.gamma_alpha, self.steps, self.lr, self.device, self.advanced):
            w.setEnabled(not running)
        if not running:
            self.use_current.setEnabled(len(self.current_files()) >= 2)
            self._update_found()
        self.stateChanged.emit(state.value)

    def can_resume(self) -> bool:
        return self._state in ("stopped", "failed") and self._plan is not None and (Path(self._plan.request.out_dir) / "last.pt").is_file()

    def _show_message(self, text: str, level: str = "error") -> None:
        colour = {"error": style.ERROR, "warning": style.WARNING, "info": style.INFO, "success": style.SUCCESS}.get(level, style.INFO)
        self.message.setText(text)
        self.message.setStyleSheet(f"QLabel {{ background: {colour}; color: white; border-radius: 4px; padding: 6px 8px; }}")
        self.message.setVisible(bool(text))

    def message_text(self) -> str:
        return self.message.text() if not self.message.isHidden() else ""

    # ------------------------------------------------------------ events
    def _on_progress(self, _rid: int, fraction: float, message: str) -> None:
        if self.monitor.step == 0 and message:
            self.status.setText(message + "…")

    def _on_event(self, e: Event) -> None:
        """A typed event from the training job (hdrdesk.training.run_state): update the monitor, then the display."""
        self.monitor.apply(e)
        m = self.monitor
        if isinstance(e, DataEvent):
            val = ", ".join(f"<b>{n}</b>" for n in m.val_names) or "<i>none</i>"
            n_train = len(m.train_names)
            self.data_label.setText(
                f"Training on {n_train} bracket{'s' if n_train != 1 else ''}; held back for validation (never trained on): {val}"
                + (f"<br><span style='color:{style.WARNING}'>{e.report}</span>" if "skipped" in e.report else "")
            )
            if not m.val_names:
                self._show_message("No bracket could be held back for validation: add more brackets for a before/after score.", "warning")
            self.dataReady.emit(e.raw)
        elif isinstance(e, PreviewEvent):
            self._on_preview(e.output)
        elif isinstance(e, PreviewErrorEvent):
            self.preview_caption.setText(f"Preview failed: {e.message}")
        elif isinstance(e, StepEvent):
            self._schedule_redraw()
            total = m.steps_total or 1
            self.progress.setValue(int(1000 * e.step / total))
            if self._state == RunState.RUNNING:
                self.status.setText(f"Step {e.step} of {total} · loss {e.loss:.4f}")
            self.eta.setText(f"about {format_duration(e.eta_s)} left")
            self.stepped.emit(e.step)
        elif isinstance(e, ValEvent):
            self._schedule_redraw()
            if e.step == 0:
                self.val_start_line.setPos(e.mean)
                self.val_start_line.setVisible(True)
            self.validated.emit(e.step, e.mean)
        elif isinstance(e, DoneEvent):
            self.progress.setValue(1000)
            self.eta.setText("")

    def _base_source(self) -> str:
        return self._plan.request.init if self._plan else "default"

    def _on_preview(self, out: PreviewOutput) -> None:
        self._preview_frames = out.frames
        score = f" · MEF-SSIM {out.score:.4f}" if out.score is not None else ""
        what = out.what
        self.preview_fused.set_image(out.fused, f"Fused · {what}{score}")
        while len(self.weight_views) < len(out.weights):
            v = ImageView()
            v.setMinimumSize(40, 30)
            self.weight_views.append(v)
            self.weights_layout.addWidget(v)
        for i, v in enumerate(self.weight_views):
            if i < len(out.weights):
                v.set_image(out.weights[i], f"w{i + 1}")
                v.setToolTip(f"Weight map of {out.names[i]}")
                v.show()
            else:
                v.hide()
        name = out.frames[0].path.parent.name if out.frames else ""
        self.preview_caption.setText(f"{name}: fused result and weight maps (bright = more weight), {what}.")
        self.previewReady.emit(out.step)

    def _run_ended(self) -> None:
        if self._switch_interval is not None:
            import torch

            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
            if self._torch_threads:
                torch.set_num_threads(self._torch_threads)
        self._redraw_curves()

    def _redraw_curves(self) -> None:
        self._plot_timer.stop()
        c = self.monitor.curves
        self.loss_raw_curve.setData(c.loss_steps, c.loss)
        self.loss_curve.setData(c.loss_steps, c.smoothed_loss())
        self.val_curve.setData(c.val_steps, c.val)
        for plot in (self.loss_plot, self.val_plot):  # fit the new points now, not at some later paint
            vb = plot.getPlotItem().getViewBox()
            vb.enableAutoRange()
            vb.updateAutoRange()

    def _schedule_redraw(self) -> None:
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    def _on_result(self, rid: int, outcome: FinetuneOutcome) -> None:
        self._run_ended()
        self._outcome = outcome
        self._set_state("finished")
        secs = time.perf_counter() - self._t_start
        self.status.setText(f"Finished {outcome.step} steps in {format_duration(secs)}")
        self.progress.setValue(1000)
        self.eta.setText("")
        self._show_summary(outcome)
        self.finished.emit(outcome)

    def _on_cancelled(self, _rid: int) -> None:
        self._run_ended()
        outcome = self._holder.outcome
        self._outcome = outcome
        self._set_state("stopped")
        step = outcome.step if outcome else self.monitor.step
        run = self.run_dir()
        has_best = outcome is not None and outcome.best_path is not None
        self.status.setText(f"Stopped at step {step} of {self.monitor.steps_total}")
        self._show_message(
            ("The best checkpoint so far is kept" if has_best else "Nothing was trained yet")
            + (f" in {run}" if run else "")
            + (". Resume Run continues from the last checkpoint." if self.can_resume() else "."),
            "info",
        )
        if outcome is not None and outcome.best_path is not None and outcome.before:
            self._show_summary(outcome, partial=True)
        self.stopped.emit(step)

    def _on_error(self, _rid: int, err: JobError) -> None:
        self._run_ended()
        exc = err.exception
        msg = err.message()
        if type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower():
            msg = "The GPU ran out of memory: lower 'Exposures / batch' or 'Crop' (Advanced), or train on the CPU."
        self._set_state("failed")
        self.status.setText("Training stopped")
        kept = " The last good weights are kept; Resume Run continues from them." if self.can_resume() else ""
        self._show_message(f"{msg}{'' if msg.endswith('.') else '.'}{kept}", "error")
        self.failed.emit(msg)

    # ----------------------------------------------------- window closing
    def confirm_stop(self) -> bool:
        """Ask whether to stop a running fine-tune (tests replace this)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Stop fine-tuning?")
        box.setText(f"Fine-tuning is running (step {self.monitor.step} of {self.monitor.steps_total}).")
        box.setInformativeText("Stop it and quit? The best model so far and a checkpoint to resume from are kept in the run folder.")
        stop = box.addButton("Stop and Quit", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Keep Training", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is stop

    def guard_close(self, widget: QWidget) -> None:
        """Ask before ``widget`` (the main window) closes while training runs."""
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            if self.is_running():
                if not self.confirm_stop():
                    event.ignore()
                    return True
                self.stop_and_wait()
            for r in (self.scan_runner, self.compare_runner, self.warm_runner):  # nothing of ours outlives the window
                r.cancel()
        return super().eventFilter(obj, event)


class FinetuneDialog(QDialog):
    """The panel in a window of its own (Tools ▸ Fine-tune…); closing it keeps a run going."""

    def __init__(self, window=None, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setWindowTitle("Fine-tune the model")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.setModal(False)
        self.panel = FinetunePanel(window, parent=self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.panel)
        self.resize(1180, 760)
        self.panel.stateChanged.connect(self._title)

    def _title(self, state: str) -> None:
        extra = {"running": " — training", "paused": " — paused", "stopping": " — stopping"}.get(state, "")
        self.setWindowTitle(f"Fine-tune the model{extra}")
