"""HDRDesk's main window: a thin shell over a :class:`hdrdesk.session.Session`.

The window builds the widgets (docks, toolbar, status bar), loads brackets and runs the
fusion; the rest is done by small controllers it owns, each in its own module (views, overlays,
analysis, exports, models, camera, shoot: the table is in docs/architecture.md). Menus, toolbar
and shortcuts come from :mod:`hdrdesk.gui.actions`; settings from :mod:`hdrdesk.gui.settings`.
Tool windows see the window through :class:`hdrdesk.gui.host.BracketHost`.

Signals: ``resultReady(FusionResult)``, ``previewReady(FusionResult)`` (a large bracket's preview,
before its result), ``framesChanged()``, ``fusionFailed(str)``, ``fusionCancelled()``,
``qualityReady(str, score)``, ``exportFinished(list)``, ``busyChanged(bool)``, ``loadFinished()``,
``overlayShown(kind)``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QWidget

from hdrdesk.core.fusion import METHODS, FusionOptions, FusionResult
from hdrdesk.core.io import Frame
from hdrdesk.errors import ModelError
from hdrdesk.export import ExportOptions
from hdrdesk.gui import actions as action_table
from hdrdesk.gui import settings as cfg
from hdrdesk.gui.analysis_controller import AnalysisController
from hdrdesk.gui.camera_controller import CameraController
from hdrdesk.gui.early_preview import EarlyPreviews
from hdrdesk.gui.export_controller import ExportController
from hdrdesk.gui.jobs import AnchorOutput, FusionOutput, GammaOutput, LoadOutput, fusion_job, load_job
from hdrdesk.gui.models_controller import ModelsController
from hdrdesk.gui.open_files import OpenFiles
from hdrdesk.gui.overlay_controller import OverlayController
from hdrdesk.gui.panels import METHOD_LABELS, METHOD_NAMES
from hdrdesk.gui.shoot_controller import ShootController
from hdrdesk.gui.view_controller import ViewController
from hdrdesk.gui.welcome import app_icon
from hdrdesk.gui.window_layout import WindowLayout
from hdrdesk.gui.workers import JobError, JobRunner
from hdrdesk.session import FrameEntry, Session

log = logging.getLogger("hdrdesk.gui")

FUSE_DELAY_MS = 150  # coalesce quick successive changes into one fusion request


class MainWindow(OpenFiles, WindowLayout, QMainWindow):
    resultReady = Signal(object)
    previewReady = Signal(object)  # a preview-resolution FusionResult is on display; the full one follows
    framesChanged = Signal()
    fusionFailed = Signal(str)
    fusionCancelled = Signal()
    qualityReady = Signal(str, object)
    exportFinished = Signal(list)
    busyChanged = Signal(bool)
    overlayShown = Signal(str)  # kind shown ("none", "weights", "gamma") once its image is on screen
    loadFinished = Signal()

    def __init__(self, parent: QWidget | None = None, analysis: bool = True) -> None:
        super().__init__(parent)
        self.session = Session()
        self.settings = cfg.make_settings()
        self.setWindowTitle("HDRDesk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self._output: FusionOutput | None = None
        self._load_modes: dict[int, bool] = {}
        self._info: dict = {}

        self.job_pool = QThreadPool(self)
        self.job_pool.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        self.loader = JobRunner("load", self.job_pool, latest_wins=False, parent=self)
        self.fusion = JobRunner("fusion", self.job_pool, parent=self)
        self.info_runner = JobRunner("info", self.job_pool, parent=self, torch_threads=1)

        self.build_widgets()  # WindowLayout: docks, toolbar widgets, status bar
        self.overlays = OverlayController(self)
        self.analysis = AnalysisController(self, enabled=analysis)
        self.exports = ExportController(self)
        self.models = ModelsController(self)
        self.views = ViewController(self)
        self.camera = CameraController(self)
        self.early_previews = EarlyPreviews(self)
        self.shoots = ShootController(self)  # a folder of many brackets: the shoot view
        self._build_commands()
        self._connect()
        self._fuse_timer = QTimer(self)
        self._fuse_timer.setSingleShot(True)
        self._fuse_timer.setInterval(FUSE_DELAY_MS)
        self._fuse_timer.timeout.connect(self.request_fusion)
        self.restore_settings()
        self.show_welcome(True)
        self.update_actions()
        self.resultReady.connect(lambda *_: self.update_actions())
        self.framesChanged.connect(lambda *_: self.update_actions())
        self.models.refresh_choices()

    # ================================================================ build
    def _build_commands(self) -> None:
        self.actions_by_key = action_table.build_actions(self)
        self.mode_actions = {k: self.actions_by_key[f"mode_{k}"] for k in ("single", "side", "split")}
        self.mode_actions["single"].setChecked(True)
        menus = action_table.build_menus(self, self.actions_by_key, {"methods": self._build_method_menu, "panels": self._build_panels_menu})
        self.tools_menu: QMenu = menus["tools"]
        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("toolbar_main")
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        action_table.build_toolbar(self.toolbar, self.actions_by_key, {
            "view_label": self.toolbar_label("View"), "view_combo": self.view_combo,
            "with_label": self.toolbar_label("with"), "compare_combo": self.compare_combo,
        })

    def _build_method_menu(self, menu: QMenu) -> None:
        self.method_menu = menu.addMenu("Method")
        self.method_group = QActionGroup(self)
        for key in METHODS:
            a = QAction(METHOD_LABELS.get(key, key), self, checkable=True)
            a.setData(key)
            a.triggered.connect(lambda _c=False, k=key: self.fusion_panel.set_method(k))
            self.method_group.addAction(a)
            self.method_menu.addAction(a)

    def _build_panels_menu(self, menu: QMenu) -> None:
        panels = menu.addMenu("Panels")
        for d in self.my_docks:
            panels.addAction(d.toggleViewAction())

    def _connect(self) -> None:
        self.welcome.openSample.connect(self.open_sample)
        self.welcome.openPhotos.connect(self.open_dialog)
        fs = self.filmstrip
        fs.orderChanged.connect(lambda uids: self.session.set_order([int(u) for u in uids]))
        fs.toggled.connect(self.session.toggle_frame)
        fs.removeRequested.connect(self.remove_frames)
        fs.moveRequested.connect(self.move_frame)
        fs.addRequested.connect(self.add_dialog)
        fs.sortRequested.connect(self.session.sort_frames)
        fs.currentUidChanged.connect(self._film_current)
        fs.filesDropped.connect(lambda paths: self.open_paths(paths, replace=False))
        fp = self.fusion_panel
        fp.changed.connect(self.fusion_options_changed)
        fp.fuseRequested.connect(self.request_fusion)
        fp.browseRequested.connect(self.browse_model)
        op = self.overlay_panel
        op.kindChanged.connect(lambda _k: self.overlays.refresh())
        op.exposureChanged.connect(self.set_current_exposure)
        op.overChanged.connect(lambda _o: (self.refresh_main_image(), self.overlays.refresh()))
        op.opacityChanged.connect(self.viewer.set_overlay_opacity)
        op.colormapChanged.connect(lambda _c: self.overlays.refresh())
        op.gammaChanged.connect(self._gamma_params_changed)
        self.viewer.zoomChanged.connect(self._zoom_changed)
        self.viewer.hovered.connect(self.overlays.hovered)
        self.viewer.left.connect(lambda: self.overlays.set_hover(None))
        self.loader.result.connect(self._on_loaded)
        self.loader.error.connect(lambda _r, e: self.job_error("Loading", e))
        self.fusion.result.connect(self.show_fusion_output)
        self.fusion.partial.connect(lambda rid, out: self.show_fusion_output(rid, out) if getattr(out, "preview", False) else None)
        self.fusion.error.connect(self._on_fusion_error)
        self.fusion.cancelled.connect(self._on_fusion_cancelled)
        self.info_runner.result.connect(self._on_info)
        for r in (self.loader, self.fusion, self.exports.runner):
            r.progress.connect(self._on_progress)
            r.started.connect(lambda _rid, label: (self.progress.setValue(0), self.show_status(f"{label}…")))
            r.busyChanged.connect(self._busy_changed)
        self.session.subscribe(self._session_changed)

    # ================================================================ API (see hdrdesk.gui.host)
    @property
    def bracket(self):
        """Every loaded exposure, with its on/off state and alignment (the session's bracket)."""
        return self.session.bracket

    def frames(self) -> list[Frame]:
        return self.session.frames()

    def result(self) -> FusionResult | None:
        return self.session.result

    def fusion_output(self) -> FusionOutput | None:
        return self._output

    def gamma_output(self) -> GammaOutput | None:
        return self.overlays.gamma_output()

    def mertens_output(self) -> AnchorOutput | None:
        return self.analysis.mertens_output()

    def fusion_options(self) -> FusionOptions:
        """What the next fusion uses (the Fusion panel's values, as the session holds them)."""
        self._sync_fusion_settings()
        return self.session.fusion_options()

    def model_path(self) -> Path | None:
        return self.fusion_panel.model_path()

    def set_model_path(self, path: str | os.PathLike | None) -> None:
        self.models.set_model_path(path)

    def set_model_choices(self, models: Sequence[tuple[str, str | os.PathLike | None]]) -> None:
        self.models.set_model_choices(models)

    def refresh_model_choices(self) -> None:
        self.models.refresh_choices()

    def is_busy(self) -> bool:
        return self.loader.is_busy() or self.fusion.is_busy() or self.exports.runner.is_busy()

    # view, overlays, export, models: the controllers do it
    def set_view_target(self, target: str | int) -> None:
        self.views.set_view_target(target)

    def set_compare_target(self, target: str | int) -> None:
        self.views.set_compare_target(target)

    def set_compare_mode(self, mode: str) -> None:
        self.views.set_compare_mode(mode)

    def set_current_exposure(self, index: int) -> None:
        self.views.set_current_exposure(index)

    def step_exposure(self, step: int) -> None:
        self.views.step_exposure(step)

    def show_current_exposure(self) -> None:
        self.views.set_view_target(self.session.view.current)

    def refresh_main_image(self) -> None:
        self.views.refresh_main_image()

    def refresh_compare(self) -> None:
        self.views.refresh_compare()

    def toggle_overlay(self) -> None:
        self.overlays.toggle()

    def set_overlay(self, kind: str, index: int | None = None) -> None:
        """Show the "weights" or "gamma" map of exposure ``index`` (or "none")."""
        if index is not None:
            self.set_current_exposure(index)
        self.overlay_panel.set_kind(kind)

    def pixel_values(self, x: int, y: int) -> dict | None:
        return self.overlays.pixel_values(x, y)

    def export_dialog(self) -> None:
        self.exports.dialog()

    def export_to(self, options: ExportOptions, confirm: bool = True) -> int:
        return self.exports.export_to(options, confirm)

    def browse_model(self) -> None:
        self.models.browse()

    def show_finetune(self):
        return self.models.show_finetune()

    def show_model_manager(self):
        return self.models.show_model_manager()

    def refine_current(self):
        return self.models.refine_current()

    # ============================================================ loading
    def open_paths(self, paths: Sequence[str | os.PathLike], replace: bool = True) -> int:
        """Load files or folders on a worker. ``replace``: the loaded frames become the bracket."""
        paths = [Path(p) for p in paths]
        if not paths:
            return 0
        first = paths[0]
        cfg.put(self.settings, cfg.LAST_FOLDER, str(first if first.is_dir() else first.parent))
        # a new bracket's large JPEGs are first fused from scaled decodes (gui/early_preview.py)
        rid = self.loader.submit(load_job, paths, label="Loading", preview_options=self.fusion_options() if replace else None)
        self._load_modes[rid] = replace
        return rid

    def load_replaces(self, rid: int) -> bool:
        """Whether load ``rid`` (still running) replaces the bracket; False: it adds frames to it."""
        return self._load_modes.get(rid, True)

    def _on_loaded(self, rid: int, out: LoadOutput) -> None:
        replace, early = self._load_modes.pop(rid, True), self.early_previews.take(rid)
        for msg in out.errors:
            self.notify(msg)
        if out.frames:
            if replace and early is None:
                self.clear_result()
            entries = [FrameEntry(lf.frame, lf.thumb, lf.mean_luma, reduced=lf.reduced) for lf in out.frames]
            for msg in self.session.add_frames(entries, replace_bracket=replace):
                self.notify(msg, "warning")
            n = len(out.frames)
            self.show_status(f"Loaded {n} exposure{'s' if n != 1 else ''}")
        elif not out.errors:
            self.notify("No images found there.", "warning")
        if early is not None:  # kept only if the bracket now is what it shows
            self.early_previews.settle(early)
        self.loadFinished.emit()

    # ====================================================== bracket editing
    def close_bracket(self) -> None:
        self.cancel()
        self.clear_result()
        self.session.clear()

    def remove_frames(self, uids: Sequence[int]) -> None:
        self.session.remove_frames(list(uids))

    def set_frame_enabled(self, uid: int, enabled: bool) -> None:
        self.session.set_frame_enabled(uid, enabled)

    def move_frame(self, uid: int, offset: int) -> None:
        if self.session.move_frame(uid, offset):
            self.filmstrip.set_current_uid(uid)

    def _film_current(self, uid: int) -> None:
        e = self.session.bracket.get(uid)
        if e is None or self._output is None:
            return
        idx = self.session.result_index_of(e.frame.path)
        if idx is not None:
            self.set_current_exposure(idx)

    def _session_changed(self, change) -> None:
        if change.kind == "bracket":
            self._bracket_changed(fuse=change.fuse, refill=change.refill)

    def _bracket_changed(self, fuse: bool = True, refill: bool = True) -> None:
        bracket = self.session.bracket
        if refill:
            self.filmstrip.set_entries(bracket.entries, bracket.ev_labels())
        else:
            self.filmstrip.refresh()
        empty = len(bracket) == 0
        self.show_welcome(empty)
        n_on = len(bracket.enabled())
        folder = bracket.entries[0].frame.path.parent.name if not empty else ""
        self.setWindowTitle(f"{folder} — HDRDesk" if folder else "HDRDesk")
        self.film_dock.setWindowTitle(f"Exposures ({n_on} of {len(bracket)} included)" if not empty else "Exposures")
        self.update_actions()
        self.framesChanged.emit()
        if fuse and not empty:
            if n_on < 2:
                self.fusion.cancel()
                self.viewer.main.placeholder = "Include at least two exposures to fuse"
                self.viewer.main.viewport().update()
                if self._output is None:
                    self.notify("A bracket needs at least two exposures: add or include another one.", "info")
            else:
                self._fuse_timer.start()

    # ============================================================= fusion
    def _sync_fusion_settings(self) -> None:
        """The panel's widgets are where the user edits the settings: copy them into the session."""
        fp = self.fusion_panel
        self.session.set_fusion(method=fp.method_value(), model_path=fp.model_path(), working_size=fp.working.value(), align=fp.align.isChecked(), deghost=fp.deghost_value())

    def fusion_options_changed(self) -> None:
        self._sync_fusion_settings()
        self._sync_method_menu()
        cfg.put_state(self.settings, cfg.FUSION_STATE, self.fusion_panel.state())
        if self.session.can_fuse():
            self._fuse_timer.start()

    def request_fusion(self) -> int:
        """Fuse the included exposures now; supersedes any fusion in flight. Returns the request id (0: nothing to fuse)."""
        self._fuse_timer.stop()
        frames = self.frames()
        if len(frames) < 2:
            return 0
        if self._output is None:
            self.viewer.main.placeholder = "Fusing…"
            self.viewer.main.viewport().update()
        return self.fusion.submit(fusion_job, frames, self.fusion_options(), label="Fusing", reduced=self.session.bracket.reduced(),
                                  preview_long=self.early_previews.preview_long(frames))

    def fuse_with_model(self, model, label: str = "Fusing") -> int:
        """Fuse the bracket once with an in-memory network (e.g. a refined copy); the model choice stays as it is."""
        frames = self.frames()
        if len(frames) < 2:
            return 0
        options = self.fusion_options()
        options.method, options.model = "cnn", model
        return self.fusion.submit(fusion_job, frames, options, label=label, reduced=self.session.bracket.reduced())

    def cancel(self) -> None:
        for r in (self.loader, self.fusion, self.exports.runner):
            r.cancel()

    def show_fusion_output(self, _rid: int, out: FusionOutput) -> None:
        """Put a fusion's output (a preview or the full result) on display."""
        res = out.result
        self._output = out
        self.overlays.new_result(out)
        self.analysis.new_result()  # forgets the last Mertens result; the analysis starts below, once the picture is up
        by_path = {e.frame.path: e for e in self.session.bracket.entries}  # alignment state per filmstrip entry
        for path, info in zip(out.source_paths, [] if out.preview else res.alignment):  # a preview's is at its own scale
            e = by_path.get(path)
            if e is not None:
                e.align = info
                e.align_off = not out.options.align
        self.filmstrip.refresh()
        self.session.set_result(res)
        names = [f.path.name for f in res.frames]
        self.overlay_panel.set_exposures(names, self.session.view.current)
        self.overlay_panel.set_weights_available(res.weights is not None, "Mertens results have no weight maps")
        self.views.fill_combos(names)
        self.refresh_main_image()
        self.refresh_compare()
        self.overlays.refresh()
        if self.overlay_panel.kind_value() != "gamma":
            self.overlays.request_gamma(dragging=False)  # for the inspector, in the background
        self.histogram_panel.histogram.set_histogram(out.histogram)
        self.size_label.setText(f"{res.image.shape[1]} × {res.image.shape[0]}")
        self.set_device(res.device, res.method)
        how = f"network “{res.model_name}”" if res.method == "cnn" else METHOD_NAMES.get(res.method, res.method)
        self.show_status(f"Preview in {out.seconds:.1f} s; fusing at full resolution…" if out.preview else f"Fused {len(res.frames)} exposures with {how} in {out.seconds:.1f} s")
        self.viewer.main.placeholder = ""
        self.update_actions()
        self.overlays.refresh_inspector()
        self.analysis.start_if_enabled()
        (self.previewReady if out.preview else self.resultReady).emit(res)  # a preview (large brackets) comes first

    def _on_fusion_error(self, _rid: int, err: JobError) -> None:
        msg = err.message()
        details = err.traceback if not err.expected else ""
        if isinstance(err.exception, ModelError):
            msg = f"Model: {msg}. Using the shipped model instead."
            self.notify(msg, details=details)
            self.models.model_failed()
        else:
            self.notify(f"Fusion failed: {msg}", details=details)
        self.viewer.main.placeholder = "Fusion failed — see the message above" if self._output is None else ""
        self.viewer.main.viewport().update()
        self.show_status("Fusion failed")
        self.fusionFailed.emit(msg)

    def _on_fusion_cancelled(self, _rid: int) -> None:
        self.show_status("Fusion cancelled")
        if self._output is None:
            self.viewer.main.placeholder = "Fusion cancelled — press F5 to fuse"
            self.viewer.main.viewport().update()
        self.fusionCancelled.emit()

    def clear_result(self) -> None:
        """Forget the result on display (a new bracket comes, or the one shown went)."""
        self.fusion.cancel()
        self.overlays.clear()
        self.analysis.clear()
        self._output = None
        self.session.set_result(None)
        self.viewer.set_main(None)
        self.viewer.set_compare(None)
        self.viewer.set_overlay(None)
        self.histogram_panel.histogram.set_histogram(None)
        self.inspector.show_values(None)
        self.size_label.setText("")
        self.viewer.main.placeholder = "Fusing…"
        self.views.fill_combos([])
        self.update_actions()

    def _gamma_params_changed(self, dragging: bool) -> None:
        self.save_view_settings()
        self.overlays.gamma_params_changed(dragging)

    # =========================================================== status
    def notify(self, text: str, level: str = "error", details: str = "", action=None) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, "notification (%s): %s", level, text)
        self.notifications.notify(text, level, details, action)

    def job_error(self, what: str, err: JobError, level: str = "error") -> None:
        self.notify(f"{what}: {err.message()}", level, details=err.traceback if not err.expected else "")

    def show_status(self, text: str) -> None:
        self.status_label.setText(text)

    _status = show_status

    def _on_progress(self, _rid: int, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.show_status(message + "…" if fraction < 1.0 else message)

    def _busy_changed(self, _busy: bool) -> None:
        busy = self.is_busy()
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)
        self.busyChanged.emit(busy)

    def _zoom_changed(self, factor: float) -> None:
        prefix = "Fit · " if self.viewer.main.is_fit() else ""
        self.zoom_label.setText(f"{prefix}{factor * 100:.0f} %")

    def start_info(self) -> None:
        """Load the model, log versions, device and Qt platform (it may import torch: a worker does it)."""
        from hdrdesk.gui.jobs import info_job

        self.info_runner.submit(info_job, model_path=self.model_path(), label="Info")

    def _on_info(self, _rid: int, info: dict) -> None:
        dev = str(info.get("device", ""))
        if dev:
            self.device_label.setText(("GPU: " if dev.startswith("CUDA") or "MPS" in dev else "") + dev)
            self.device_label.setToolTip(f"Network device: {dev}\nModel: {info.get('model', '?')}")
        self._info = info

    def update_actions(self) -> None:
        has_result = self._output is not None
        action_table.update_enabled(self.actions_by_key, {
            "result": has_result, "frames": len(self.session.bracket) > 0, "busy": self.is_busy(),
            "fused_bracket": self.result() is not None and len(self.frames()) >= 2,
        })
        self.view_combo.setEnabled(has_result)
        self.compare_combo.setEnabled(has_result and self.viewer.mode() != "single")

    def _sync_method_menu(self) -> None:
        m = self.fusion_panel.method_value()
        for a in self.method_group.actions():
            a.setChecked(a.data() == m)

    # ============================================================ about
    def about(self) -> None:
        from hdrdesk.gui.about import show_about

        show_about(self, self._info)

    def about_qt(self) -> None:
        QApplication.aboutQt()

    def open_log_folder(self) -> None:
        from hdrdesk.paths import user_log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(user_log_dir())))

    # ========================================================== settings
    def restore_settings(self) -> None:
        s = self.settings
        geometry = s.value(cfg.WINDOW_GEOMETRY.name)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = s.value(cfg.WINDOW_STATE.name)
        self._default_layout = state is None or not self.restoreState(state)
        models = [("Default (shipped)", None)] + [(Path(m).stem, Path(m)) for m in self.models.user_models() if Path(m).is_file()]
        self.fusion_panel.set_state(cfg.get_state(s, cfg.FUSION_STATE), models)
        self._sync_fusion_settings()
        self._sync_method_menu()
        self.overlay_panel.set_state(cfg.get_state(s, cfg.OVERLAY_STATE))
        self.histogram_panel.set_state(cfg.get_state(s, cfg.HISTOGRAM_STATE))
        mode = cfg.get(s, cfg.COMPARE_MODE)
        self.set_compare_mode(mode if mode in self.viewer.MODES else "single")

    def save_view_settings(self) -> None:
        cfg.put_state(self.settings, cfg.OVERLAY_STATE, self.overlay_panel.state())
        cfg.put_state(self.settings, cfg.HISTOGRAM_STATE, self.histogram_panel.state())
        cfg.put(self.settings, cfg.COMPARE_MODE, self.viewer.mode())

    def save_settings(self) -> None:
        self.restore_docks_for_saving()
        self.settings.setValue(cfg.WINDOW_GEOMETRY.name, self.saveGeometry())
        self.settings.setValue(cfg.WINDOW_STATE.name, self.saveState())
        cfg.put_state(self.settings, cfg.FUSION_STATE, self.fusion_panel.state())
        self.save_view_settings()
        self.settings.sync()

    # ============================================================ events
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        for r in (self.loader, self.fusion, *self.overlays.runners(), *self.analysis.runners(), self.exports.runner, self.info_runner):
            r.cancel()
        self._fuse_timer.stop()
        self.shoots.close()
        # Jobs check for cancellation between steps; wait for them so no worker outlives the window.
        self.job_pool.waitForDone(30000)
        super().closeEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        self.show_drop_hint(False)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Dropped on the start screen or the image: a new bracket, or the shoot view if it holds several.
        # On the filmstrip: added (see Filmstrip).
        self.shoots.route_drop(paths)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1440, 900)

