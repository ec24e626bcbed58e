"""HDRDesk's main window.

Public API (for tool panels such as the Fine-tune panel; everything else is private):

Properties and methods
    ``frames() -> list[Frame]``
        the exposures the next fusion uses (included in the filmstrip, in order).
    ``bracket`` (:class:`~hdrdesk.gui.bracket.Bracket`)
        every loaded exposure, with its on/off state and alignment.
    ``result() -> FusionResult | None``
        the full-resolution result on display (what Export writes).
    ``fusion_output() -> FusionOutput | None``
        the result with its display images and histogram.
    ``fusion_options() -> FusionOptions``
        what the next fusion uses (method, model, working size, alignment).
    ``model_path() -> Path | None`` / ``set_model_path(path)``
        the model in use (None: the shipped default); setting it fuses again.
    ``set_model_choices([(label, path or None), ...])``
        refill the model combo (a model manager can call it at any time).
    ``open_paths(paths, replace=True)``
        load image files or folders (on a worker; errors go to the notification area).
    ``set_frame_enabled(uid, on)``, ``move_frame(uid, offset)``, ``remove_frames(uids)``
        edit the bracket (uids are ``FrameEntry.uid`` from ``bracket.entries``); each fuses again.
    ``request_fusion() -> int``
        fuse now; a newer request supersedes an older one (latest wins).
    ``set_view_target("result" | index)``, ``set_compare_mode("single" | "side" | "split")``,
    ``set_compare_target("mertens" | index)``, ``set_overlay("none" | "weights" | "gamma", index)``
        what the viewer shows.
    ``pixel_values(x, y) -> dict | None``
        what the pixel inspector shows at an image pixel (read from the engine's arrays).
    ``export_to(ExportOptions, confirm=True) -> int``
        export the result on display on a worker (asks before replacing files).
    ``cancel()``
        cancel loading, fusion and export in flight.
    ``add_tool_dock(dock, area=RightDockWidgetArea, tabify=True)``
        add a dock widget (tabbed with the Histogram panel on the right) with a toggle in the Tools menu.
    ``tools_menu`` (QMenu)
        the Tools menu, for tool actions.
    ``notify(text, level="error"|"warning"|"info"|"success")``
        show a message in the notification area.
    ``job_pool`` (QThreadPool)
        the pool the window's workers run on (tools may use it for their own JobRunner).

Signals
    ``resultReady(object)``   a new FusionResult is on display (UI thread).
    ``framesChanged()``       the bracket changed (loaded, removed, reordered, toggled).
    ``fusionFailed(str)``     a fusion failed; the message was shown.
    ``fusionCancelled()``     the latest fusion was cancelled.
    ``qualityReady(str, object)``  ("result" | "mertens", MEF-SSIM or None).
    ``exportFinished(list)``  paths written by an export.
    ``busyChanged(bool)``     loading, fusion or export started or ended.
    ``loadFinished()``        a load request ended (frames added and/or messages shown).
    ``overlayShown(str)``     an overlay ("weights" | "gamma" | "none") is on screen.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QPointF, QSize, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.core.fusion import FusionOptions, FusionResult
from hdrdesk.core.io import IMAGE_SUFFIXES, Frame
from hdrdesk.export import check_targets
from hdrdesk.errors import ModelError, OutputError
from hdrdesk.gui import settings as settings_mod
from hdrdesk.gui.bracket import Bracket, FrameEntry
from hdrdesk.gui.export_dialog import ExportDialog
from hdrdesk.gui.filmstrip import FilmstripPanel
from hdrdesk.gui.imaging import DisplayImage
from hdrdesk.gui.jobs import (
    GAMMA_DRAG_SIZE,
    GAMMA_SETTLED_SIZE,
    ExportOptions,
    FusionOutput,
    GammaOutput,
    LoadOutput,
    LumaCache,
    MertensOutput,
    QualityOutput,
    export_job,
    export_targets,
    fusion_job,
    gamma_job,
    load_job,
    mertens_job,
    overlay_job,
    quality_job,
)
from hdrdesk.gui.notify import NotificationArea
from hdrdesk.gui.panels import FusionPanel, HistogramPanel, InspectorPanel, OverlayPanel
from hdrdesk.gui.viewer import ViewerArea
from hdrdesk.gui.welcome import WelcomeView, app_icon
from hdrdesk.gui.workers import JobError, JobRunner

log = logging.getLogger("hdrdesk.gui")

FUSE_DELAY_MS = 150  # coalesce quick successive changes into one fusion request
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + " " + " ".join(f"*{s.upper()}" for s in IMAGE_SUFFIXES) + ");;All files (*)"


class MainWindow(QMainWindow):
    resultReady = Signal(object)
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
        self.analysis_enabled = analysis  # MEF-SSIM and the Mertens comparison after each fusion
        self.settings = settings_mod.make_settings()
        self.setWindowTitle("HDRDesk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)

        self.bracket = Bracket()
        self._output: FusionOutput | None = None
        self._luma: LumaCache | None = None
        self._gamma: GammaOutput | None = None
        self._mertens: MertensOutput | None = None
        self._overlay_cache: dict[tuple, DisplayImage] = {}
        self._overlay_key: tuple | None = None
        self._view_target: str | int = "result"  # "result" or an exposure index
        self._compare_target: str | int = "mertens"
        self._current = 0  # current exposure (index into the result's frames)
        self._hover: tuple[int, int] | None = None
        self._last_overlay_kind = "weights"
        self._load_modes: dict[int, bool] = {}
        self._docks_hidden: list[QDockWidget] = []
        self._welcome_shown: bool | None = None
        self._gamma_refine = None  # GammaParams awaiting their settled-size maps

        self.job_pool = QThreadPool(self)
        self.job_pool.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        self.loader = JobRunner("load", self.job_pool, latest_wins=False, parent=self)
        self.fusion = JobRunner("fusion", self.job_pool, parent=self)
        # small background jobs run PyTorch on one thread (see JobRunner)
        self.gamma = JobRunner("gamma", self.job_pool, parent=self, torch_threads=1, max_stale=1)
        self.overlay_runner = JobRunner("overlay", self.job_pool, parent=self, torch_threads=1)
        self.quality = JobRunner("quality", self.job_pool, parent=self, torch_threads=1)
        self.mertens = JobRunner("mertens", self.job_pool, parent=self, torch_threads=1)
        self.exporter = JobRunner("export", self.job_pool, latest_wins=False, parent=self)
        self.info_runner = JobRunner("info", self.job_pool, parent=self, torch_threads=1)

        self._build_widgets()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()
        self._connect()
        self._fuse_timer = QTimer(self)
        self._fuse_timer.setSingleShot(True)
        self._fuse_timer.setInterval(FUSE_DELAY_MS)
        self._fuse_timer.timeout.connect(self.request_fusion)
        self._restore_settings()
        self._show_welcome(True)
        self._update_actions()
        self._init_training_tools()  # Tools: Fine-tune, Refine, Models (section below)

    # ================================================================ build
    def _build_widgets(self) -> None:
        self.notifications = NotificationArea()
        self.welcome = WelcomeView()
        self.viewer = ViewerArea()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.viewer)
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.notifications)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.drop_hint = QLabel("Drop to open these exposures", central)
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setStyleSheet(
            "background: rgba(30, 60, 90, 170); color: white; font-size: 16pt; border: 2px dashed #7fb2e0; border-radius: 12px;"
        )
        self.drop_hint.hide()

        self.film = FilmstripPanel()
        self.filmstrip = self.film.strip
        self.fusion_panel = FusionPanel()
        self.overlay_panel = OverlayPanel()
        self.inspector = InspectorPanel()
        self.quality_panel = self.fusion_panel.quality
        self.histogram_panel = HistogramPanel()

        def dock(title: str, name: str, widget: QWidget, area, scroll: bool = True) -> QDockWidget:
            d = QDockWidget(title, self)
            d.setObjectName(name)
            if scroll:  # panels scroll rather than force the window taller than the screen
                area_widget = QScrollArea()
                area_widget.setWidget(widget)
                area_widget.setWidgetResizable(True)
                area_widget.setFrameShape(QFrame.Shape.NoFrame)
                area_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
                area_widget.setMinimumWidth(widget.minimumSizeHint().width() + 12)
                area_widget.setMinimumHeight(120)
                d.setWidget(area_widget)
            else:
                d.setWidget(widget)
            d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(area, d)
            return d

        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.film_dock = dock("Exposures", "dock_filmstrip", self.film, Qt.DockWidgetArea.BottomDockWidgetArea, scroll=False)
        self.film_dock.setFeatures(self.film_dock.features() & ~QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.fusion_dock = dock("Fusion", "dock_fusion", self.fusion_panel, right, scroll=False)
        self.overlay_dock = dock("Overlay", "dock_overlay", self.overlay_panel, right)
        self.inspector_dock = dock("Pixel inspector", "dock_inspector", self.inspector, right, scroll=False)
        self.histogram_dock = dock("Histogram", "dock_histogram", self.histogram_panel, right, scroll=False)
        # the right-hand panels run the full height; the filmstrip sits under the image only
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.my_docks = [self.film_dock, self.fusion_dock, self.overlay_dock, self.inspector_dock, self.histogram_dock]
        self.resizeDocks([self.fusion_dock], [340], Qt.Orientation.Horizontal)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, (list, tuple)):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            a.setToolTip(f"{tip} ({keys})" if keys else tip)
            a.setStatusTip(tip)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        A = self._action
        K = QKeySequence.StandardKey
        self.act_open = A("&Open…", self.open_dialog, K.Open, "Open exposures (files) of one scene")
        self.act_open_folder = A("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O", "Open a folder holding one bracket")
        self.act_add = A("&Add Exposures…", self.add_dialog, "Ctrl+Shift+A", "Add exposures to the current bracket")
        self.act_sample = A("Open &Sample", self.open_sample, None, "Open the bracket that ships with HDRDesk")
        self.act_export = A("&Export…", self.export_dialog, "Ctrl+E", "Export the fused image (and maps)")
        self.act_close = A("&Close Bracket", self.close_bracket, K.Close, "Close the bracket and return to the start screen")
        self.act_quit = A("&Quit", self.close, K.Quit, "Quit HDRDesk")
        self.act_fuse = A("&Fuse", self.request_fusion, ["F5", "Ctrl+R"], "Fuse the included exposures again")
        self.act_cancel = A("&Cancel", self.cancel, "Esc", "Cancel loading, fusion or export")
        self.act_zoom_in = A("Zoom &In", self.viewer.zoom_in, [K.ZoomIn, "Ctrl+="], "Zoom in")
        self.act_zoom_out = A("Zoom &Out", self.viewer.zoom_out, K.ZoomOut, "Zoom out")
        self.act_fit = A("&Fit", self.viewer.fit, "Ctrl+0", "Fit the image in the window")
        self.act_100 = A("&100 %", lambda: self.viewer.zoom_to(1.0), "Ctrl+1", "One image pixel per screen pixel")
        self.act_overlay = A("Toggle &Overlay", self.toggle_overlay, "O", "Show or hide the weight/gamma overlay")
        self.act_next = A("&Next Exposure", lambda: self.step_exposure(1), ["]", "Alt+Right"], "Next exposure")
        self.act_prev = A("&Previous Exposure", lambda: self.step_exposure(-1), ["[", "Alt+Left"], "Previous exposure")
        self.act_show_result = A("Show &Result", lambda: self.set_view_target("result"), "R", "Show the fused result")
        self.act_show_exposure = A("Show &Exposure", lambda: self.set_view_target(self._current), "E", "Show the current exposure")
        self.act_about = A("&About HDRDesk", self.about, None, "Versions and credits")
        self.act_about_qt = A("About &Qt", QApplication.aboutQt, None)
        self.act_log = A("Show &Log Folder", self.open_log_folder, None, "Open the folder holding HDRDesk's log files")
        self.act_model = A("Use &Model File…", self.browse_model, None, "Fuse with a model file of your own")
        self.mode_group = QActionGroup(self)
        self.mode_actions: dict[str, QAction] = {}
        for key, text, sc, tip in (
            ("single", "&Single", "1", "One image"),
            ("side", "Side &by Side", "2", "The result beside an exposure or Mertens, zoom and pan linked"),
            ("split", "S&plit", "3", "Before/after split; drag the line"),
        ):
            a = A(text, lambda _c=False, k=key: self.set_compare_mode(k), sc, tip, checkable=True)
            self.mode_group.addAction(a)
            self.mode_actions[key] = a
        self.mode_actions["single"].setChecked(True)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_open, self.act_open_folder, self.act_add, None, self.act_export, None, self.act_close, self.act_quit):
            m.addSeparator() if a is None else m.addAction(a)
        m = mb.addMenu("&Image")
        m.addAction(self.act_fuse)
        m.addAction(self.act_cancel)
        m.addSeparator()
        self.method_menu = m.addMenu("Method")
        self.method_group = QActionGroup(self)
        for key, text in (("cnn", "Network (CNN)"), ("mertens", "Mertens (classic)")):
            a = QAction(text, self, checkable=True)
            a.setData(key)
            a.triggered.connect(lambda _c=False, k=key: self.fusion_panel.set_method(k))
            self.method_group.addAction(a)
            self.method_menu.addAction(a)
        m.addAction(self.act_model)
        m = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_100, None):
            m.addSeparator() if a is None else m.addAction(a)
        for a in self.mode_actions.values():
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_overlay, self.act_show_result, self.act_show_exposure, self.act_next, self.act_prev):
            m.addAction(a)
        m.addSeparator()
        panels = m.addMenu("Panels")
        for d in self.my_docks:
            panels.addAction(d.toggleViewAction())
        self.tools_menu = mb.addMenu("&Tools")
        self.tools_menu.addAction(self.act_model)
        self.tools_menu.addSeparator()
        m = mb.addMenu("&Help")
        m.addAction(self.act_sample)
        m.addAction(self.act_log)
        m.addSeparator()
        m.addAction(self.act_about)
        m.addAction(self.act_about_qt)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        tb.addAction(self.act_open)
        tb.addAction(self.act_export)
        tb.addSeparator()
        tb.addAction(self.act_fuse)
        tb.addSeparator()
        tb.addWidget(self._tb_label("View"))
        self.view_combo = QComboBox()
        self.view_combo.setToolTip("Show the fused result or one of the exposures (R / E, [ and ])")
        self.view_combo.setMinimumContentsLength(14)
        self.view_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        tb.addWidget(self.view_combo)
        tb.addSeparator()
        for a in self.mode_actions.values():
            tb.addAction(a)
        tb.addWidget(self._tb_label("with"))
        self.compare_combo = QComboBox()
        self.compare_combo.setToolTip("What to compare the result with")
        self.compare_combo.setMinimumContentsLength(12)
        self.compare_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        tb.addWidget(self.compare_combo)
        tb.addSeparator()
        tb.addAction(self.act_fit)
        tb.addAction(self.act_100)
        tb.addAction(self.act_zoom_out)
        tb.addAction(self.act_zoom_in)
        self.toolbar = tb
        self.act_zoom_in.setIconText("+")
        self.act_zoom_out.setIconText("−")
        self.act_100.setIconText("100%")
        self.act_open.setIconText("Open")
        self.act_export.setIconText("Export")
        self.act_fuse.setIconText("Fuse")
        self.mode_actions["side"].setIconText("Side by side")
        self.mode_actions["single"].setIconText("Single")
        self.mode_actions["split"].setIconText("Split")

    @staticmethod
    def _tb_label(text: str) -> QLabel:
        lab = QLabel(text)
        lab.setProperty("dim", True)
        lab.setContentsMargins(6, 0, 4, 0)
        return lab

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        sb.setSizeGripEnabled(False)
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.zoom_label = QLabel("")
        self.size_label = QLabel("")
        self.device_label = QLabel("Device: …")
        self.device_label.setToolTip("Where the network runs")
        sb.addWidget(self.status_label, 1)
        sb.addWidget(self.progress)
        sb.addWidget(self.cancel_button)
        for w in (self.size_label, self.zoom_label, self.device_label):
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        self.welcome.openSample.connect(self.open_sample)
        self.welcome.openPhotos.connect(self.open_dialog)
        fs = self.filmstrip
        fs.orderChanged.connect(self._film_order_changed)
        fs.toggled.connect(self._film_toggled)
        fs.removeRequested.connect(self.remove_frames)
        fs.moveRequested.connect(self._film_move)
        fs.addRequested.connect(self.add_dialog)
        fs.sortRequested.connect(self._film_sort)
        fs.currentUidChanged.connect(self._film_current)
        fs.filesDropped.connect(lambda paths: self.open_paths(paths, replace=False))

        fp = self.fusion_panel
        fp.changed.connect(self._fusion_options_changed)
        fp.fuseRequested.connect(self.request_fusion)
        fp.browseRequested.connect(self.browse_model)

        op = self.overlay_panel
        op.kindChanged.connect(lambda _k: self._refresh_overlay())
        op.exposureChanged.connect(self.set_current_exposure)
        op.overChanged.connect(lambda _o: (self._refresh_main_image(), self._refresh_overlay()))
        op.opacityChanged.connect(self.viewer.set_overlay_opacity)
        op.colormapChanged.connect(lambda _c: self._refresh_overlay())
        op.gammaChanged.connect(self._gamma_params_changed)

        self.view_combo.currentIndexChanged.connect(self._view_combo_changed)
        self.compare_combo.currentIndexChanged.connect(self._compare_combo_changed)
        self.viewer.zoomChanged.connect(self._zoom_changed)
        self.viewer.hovered.connect(self._hovered)
        self.viewer.left.connect(lambda: self._set_hover(None))

        self.loader.result.connect(self._on_loaded)
        self.loader.error.connect(lambda _r, e: self._job_error("Loading", e))
        self.fusion.result.connect(self._on_fusion_result)
        self.fusion.error.connect(self._on_fusion_error)
        self.fusion.cancelled.connect(self._on_fusion_cancelled)
        self.gamma.result.connect(self._on_gamma)
        self.gamma.error.connect(lambda _r, e: self._job_error("Gamma maps", e))
        self.overlay_runner.result.connect(self._on_overlay_image)
        self.overlay_runner.error.connect(lambda _r, e: self._job_error("Overlay", e))
        self.quality.result.connect(self._on_quality)
        self.quality.error.connect(lambda _r, e: self._job_error("MEF-SSIM", e, level="warning"))
        self.mertens.result.connect(self._on_mertens)
        self.mertens.error.connect(lambda _r, e: self._job_error("Mertens comparison", e, level="warning"))
        self.exporter.result.connect(self._on_exported)
        self.exporter.error.connect(lambda _r, e: self._job_error("Export", e))
        self.exporter.cancelled.connect(lambda _r: self._status("Export cancelled"))
        self.info_runner.result.connect(self._on_info)
        for r in (self.loader, self.fusion, self.exporter):
            r.progress.connect(self._on_progress)
            r.started.connect(self._on_started)
            r.busyChanged.connect(self._busy_changed)

    # ================================================================ API
    def frames(self) -> list[Frame]:
        """The exposures the next fusion uses, in order."""
        return self.bracket.frames()

    def result(self) -> FusionResult | None:
        """The full-resolution result on display."""
        return self._output.result if self._output else None

    def fusion_output(self) -> FusionOutput | None:
        return self._output

    def gamma_output(self) -> GammaOutput | None:
        return self._gamma

    def mertens_output(self) -> MertensOutput | None:
        return self._mertens

    def fusion_options(self) -> FusionOptions:
        fp = self.fusion_panel
        return FusionOptions(
            method=fp.method_value(),
            model_path=fp.model_path(),
            working_size=fp.working.value(),
            align=fp.align.isChecked(),
            keep_weights=True,
        )

    def model_path(self) -> Path | None:
        return self.fusion_panel.model_path()

    def set_model_path(self, path: str | os.PathLike | None) -> None:
        """Fuse with this model file (None: the shipped default)."""
        self.fusion_panel.select_model(Path(path) if path else None)
        if path:
            self._remember_model(Path(path))

    def set_model_choices(self, models: Sequence[tuple[str, str | os.PathLike | None]]) -> None:
        """Refill the model combo; keeps the current model selected if it is still listed."""
        current = self.model_path()
        self.fusion_panel.set_models([(label, Path(p) if p else None) for label, p in models], current)

    def notify(self, text: str, level: str = "error", details: str = "", action=None) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, "notification (%s): %s", level, text)
        self.notifications.notify(text, level, details, action)

    def add_tool_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea, tabify: bool = True) -> None:
        """Add a tool panel; it gets a toggle entry in the Tools menu."""
        if not dock.objectName():
            dock.setObjectName(f"dock_tool_{dock.windowTitle().lower().replace(' ', '_')}")
        self.addDockWidget(area, dock)
        if tabify and area == Qt.DockWidgetArea.RightDockWidgetArea:
            self.tabifyDockWidget(self.histogram_dock, dock)
        self.tools_menu.addAction(dock.toggleViewAction())

    def is_busy(self) -> bool:
        return self.loader.is_busy() or self.fusion.is_busy() or self.exporter.is_busy()

    # ============================================================ loading
    def open_paths(self, paths: Sequence[str | os.PathLike], replace: bool = True) -> int:
        """Load files or folders on a worker. ``replace``: the loaded frames become the bracket."""
        paths = [Path(p) for p in paths]
        if not paths:
            return 0
        first = paths[0]
        self.settings.setValue("last_folder", str(first if first.is_dir() else first.parent))
        rid = self.loader.submit(load_job, paths, label="Loading")
        self._load_modes[rid] = replace
        return rid

    def open_sample(self) -> None:
        from hdrdesk.paths import sample_bracket_dir

        folder = sample_bracket_dir()
        if not folder.is_dir():
            self.notify(f"The sample bracket is missing from this installation ({folder}).")
            return
        self.open_paths([folder])

    def _last_folder(self) -> str:
        folder = settings_mod.read(self.settings, "last_folder", str(Path.home()))
        return folder if Path(folder).is_dir() else str(Path.home())

    def open_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open exposures", self._last_folder(), IMAGE_FILTER)
        if files:
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a bracket folder", self._last_folder())
        if folder:
            self.open_paths([folder])

    def add_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add exposures", self._last_folder(), IMAGE_FILTER)
        if files:
            self.open_paths(files, replace=False)

    def _on_loaded(self, rid: int, out: LoadOutput) -> None:
        replace = self._load_modes.pop(rid, True)
        for msg in out.errors:
            self.notify(msg)
        if out.frames:
            if replace:
                self._clear_result()
                self.bracket.clear()
            entries = [FrameEntry(lf.frame, lf.thumb, lf.mean_luma) for lf in out.frames]
            for msg in self.bracket.add(entries):
                self.notify(msg, "warning")
            self._bracket_changed()
            n = len(out.frames)
            self._status(f"Loaded {n} exposure{'s' if n != 1 else ''}")
        elif not out.errors:
            self.notify("No images found there.", "warning")
        self.loadFinished.emit()

    def close_bracket(self) -> None:
        self.cancel()
        self.bracket.clear()
        self._clear_result()
        self._bracket_changed(fuse=False)

    def remove_frames(self, uids: Sequence[int]) -> None:
        if not uids:
            return
        self.bracket.remove(uids)
        self._bracket_changed()

    def _film_order_changed(self, uids: list) -> None:
        self.bracket.set_order([int(u) for u in uids])
        self._bracket_changed(refill=False)

    def _film_toggled(self, uid: int) -> None:
        e = self.bracket.get(uid)
        if e is not None:
            self.bracket.set_enabled(uid, not e.enabled)
            self._bracket_changed()

    def set_frame_enabled(self, uid: int, enabled: bool) -> None:
        self.bracket.set_enabled(uid, enabled)
        self._bracket_changed()

    def _film_move(self, uid: int, offset: int) -> None:
        if self.bracket.move(uid, offset):
            self._bracket_changed()
            self.filmstrip.set_current_uid(uid)

    def move_frame(self, uid: int, offset: int) -> None:
        self._film_move(uid, offset)

    def _film_sort(self) -> None:
        self.bracket.sort()
        self._bracket_changed()

    def _film_current(self, uid: int) -> None:
        e = self.bracket.get(uid)
        if e is None or self._output is None:
            return
        idx = self._result_index_of(e.frame.path)
        if idx is not None:
            self.set_current_exposure(idx)

    def _bracket_changed(self, fuse: bool = True, refill: bool = True) -> None:
        if refill:
            self.filmstrip.set_entries(self.bracket.entries, self.bracket.ev_labels())
        else:
            self.filmstrip.refresh()
        empty = len(self.bracket) == 0
        self._show_welcome(empty)
        n_on = len(self.bracket.enabled())
        folder = self.bracket.entries[0].frame.path.parent.name if not empty else ""
        self.setWindowTitle(f"{folder} — HDRDesk" if folder else "HDRDesk")
        self.film_dock.setWindowTitle(f"Exposures ({n_on} of {len(self.bracket)} included)" if not empty else "Exposures")
        self._update_actions()
        self.framesChanged.emit()
        if fuse and not empty:
            if n_on < 2:
                self.fusion.cancel()
                self.viewer.main.placeholder = "Include at least two exposures to fuse"
                self.viewer.main.viewport().update()
                if self._output is None:
                    self.notify("A bracket needs at least two exposures: add or include another one.", "info")
            else:
                self._schedule_fusion()

    def _show_welcome(self, show: bool) -> None:
        if show == self._welcome_shown:
            return
        self._welcome_shown = show
        if show:
            self._docks_hidden = [d for d in self.my_docks if not d.isHidden()]
            for d in self._docks_hidden:
                d.hide()
            self.stack.setCurrentWidget(self.welcome)
        else:
            for d in self._docks_hidden or self.my_docks:
                d.show()
            self._docks_hidden = []
            self.stack.setCurrentWidget(self.viewer)

    # ============================================================= fusion
    def _schedule_fusion(self) -> None:
        self._fuse_timer.start()

    def _fusion_options_changed(self) -> None:
        self._sync_method_menu()
        self._save_fusion_settings()
        if len(self.bracket.enabled()) >= 2:
            self._schedule_fusion()

    def request_fusion(self) -> int:
        """Fuse the included exposures now; supersedes any fusion in flight. Returns the request id (0: nothing to fuse)."""
        self._fuse_timer.stop()
        frames = self.frames()
        if len(frames) < 2:
            return 0
        options = self.fusion_options()
        if self._output is None:
            self.viewer.main.placeholder = "Fusing…"
            self.viewer.main.viewport().update()
        return self.fusion.submit(fusion_job, frames, options, label="Fusing")

    def cancel(self) -> None:
        for r in (self.loader, self.fusion, self.exporter):
            r.cancel()

    def _on_fusion_result(self, rid: int, out: FusionOutput) -> None:
        res = out.result
        self._output = out
        self._overlay_cache.clear()
        self._overlay_key = None
        self._gamma = None
        self._mertens = None
        self._luma = out.luma or LumaCache(res.frames)
        # alignment state per filmstrip entry
        by_path = {e.frame.path: e for e in self.bracket.entries}
        for path, info in zip(out.source_paths, res.alignment):
            e = by_path.get(path)
            if e is not None:
                e.align = info
                e.align_off = not out.options.align
        self.filmstrip.refresh()
        names = [f.path.name for f in res.frames]
        self._current = min(self._current, len(names) - 1)
        self.overlay_panel.set_exposures(names, self._current)
        self.overlay_panel.set_weights_available(res.weights is not None, "Mertens results have no weight maps")
        self._fill_view_combos(names)
        self._refresh_main_image()
        self._refresh_compare()
        self._refresh_overlay()
        if self.overlay_panel.kind_value() != "gamma":
            self._request_gamma(dragging=False)  # for the inspector, in the background
        self.histogram_panel.histogram.set_histogram(out.histogram)
        w, h = res.image.shape[1], res.image.shape[0]
        self.size_label.setText(f"{w} × {h}")
        self._set_device(res.device, res.method)
        how = f"network “{res.model_name}”" if res.method == "cnn" else "Mertens"
        self._status(f"Fused {len(res.frames)} exposures with {how} in {out.seconds:.1f} s")
        self.viewer.main.placeholder = ""
        self._update_actions()
        self._refresh_inspector()
        if self.analysis_enabled:
            self._start_analysis()
        self.resultReady.emit(res)

    def _on_fusion_error(self, rid: int, err: JobError) -> None:
        msg = err.message()
        if isinstance(err.exception, ModelError):
            msg = f"Model: {msg}. Using the shipped model instead."
            bad = self.model_path()
            self.notify(msg, details=err.traceback if not err.expected else "")
            if bad is not None:
                self._forget_model(bad)
                self.fusion_panel.select_model(None)
        else:
            self.notify(f"Fusion failed: {msg}", details=err.traceback if not err.expected else "")
        self.viewer.main.placeholder = "Fusion failed — see the message above" if self._output is None else ""
        self.viewer.main.viewport().update()
        self._status("Fusion failed")
        self.fusionFailed.emit(msg)

    def _on_fusion_cancelled(self, rid: int) -> None:
        self._status("Fusion cancelled")
        if self._output is None:
            self.viewer.main.placeholder = "Fusion cancelled — press F5 to fuse"
            self.viewer.main.viewport().update()
        self.fusionCancelled.emit()

    def _clear_result(self) -> None:
        self.fusion.cancel()
        for r in (self.gamma, self.overlay_runner, self.quality, self.mertens):
            r.cancel()
        self._output = None
        self._gamma = None
        self._mertens = None
        self._luma = None
        self._overlay_cache.clear()
        self._overlay_key = None
        self.viewer.set_main(None)
        self.viewer.set_compare(None)
        self.viewer.set_overlay(None)
        self.histogram_panel.histogram.set_histogram(None)
        self.quality_panel.clear()
        self.inspector.show_values(None)
        self.size_label.setText("")
        self.viewer.main.placeholder = "Fusing…"
        self._fill_view_combos([])
        self._update_actions()

    def _result_index_of(self, path: Path) -> int | None:
        if self._output is None:
            return None
        for i, f in enumerate(self._output.result.frames):
            if f.path == path:
                return i
        return None

    # ===================================================== quality/compare
    def _start_analysis(self) -> None:
        out = self._output
        if out is None:
            return
        res = out.result
        self.quality_panel.reset(res.method)
        self.quality.submit(quality_job, res.frames, res.image, label="MEF-SSIM")
        if res.method == "mertens":
            self.mertens.submit(mertens_job, res.frames, image=res.image, label="Mertens")
        else:
            self.mertens.submit(mertens_job, res.frames, label="Mertens")

    def _on_quality(self, rid: int, q: QualityOutput) -> None:
        self.quality_panel.set_score("result", q.score, q.long_side, q.error)
        self.qualityReady.emit("result", q.score)

    def _on_mertens(self, rid: int, m: MertensOutput) -> None:
        self._mertens = m
        if self._output is not None and self._output.result.method != "mertens":
            self.quality_panel.set_score("mertens", m.quality.score, m.quality.long_side, m.quality.error)
        self._refresh_compare()
        self.qualityReady.emit("mertens", m.quality.score)

    def _fill_view_combos(self, names: list[str]) -> None:
        for combo, first in ((self.view_combo, ("Fused result", "result")), (self.compare_combo, ("Mertens", "mertens"))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(*first)
            for i, n in enumerate(names):
                combo.addItem(f"Exposure {i + 1}: {n}", i)
            combo.blockSignals(False)
        if isinstance(self._view_target, int) and self._view_target >= len(names):
            self._view_target = "result"
        if isinstance(self._compare_target, int) and self._compare_target >= len(names):
            self._compare_target = "mertens"
        self._select_combo(self.view_combo, self._view_target)
        self._select_combo(self.compare_combo, self._compare_target)

    @staticmethod
    def _select_combo(combo: QComboBox, data) -> None:
        for i in range(combo.count()):
            if combo.itemData(i) == data:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
                return

    def _view_combo_changed(self, i: int) -> None:
        data = self.view_combo.itemData(i)
        if data is not None:
            self.set_view_target(data)

    def _compare_combo_changed(self, i: int) -> None:
        data = self.compare_combo.itemData(i)
        if data is not None:
            self._compare_target = data
            self._refresh_compare()

    def set_view_target(self, target: str | int) -> None:
        """Show the fused result ("result") or exposure ``target`` (an index) in the main view."""
        if isinstance(target, int):
            n = len(self._output.result.frames) if self._output else 0
            if not 0 <= target < n:
                return
            self._current = target
            self.overlay_panel.set_exposure_index(target)
        self._view_target = target
        self._select_combo(self.view_combo, target)
        self._refresh_main_image()
        self._refresh_inspector()

    def set_compare_target(self, target: str | int) -> None:
        """Compare with "mertens" or exposure ``target`` (an index)."""
        self._compare_target = target
        self._select_combo(self.compare_combo, target)
        self._refresh_compare()

    def set_compare_mode(self, mode: str) -> None:
        """"single", "side" (side by side, synchronised) or "split" (before/after)."""
        self.viewer.set_mode(mode)
        a = self.mode_actions.get(mode)
        if a is not None and not a.isChecked():
            a.setChecked(True)
        self.compare_combo.setEnabled(mode != "single" and self._output is not None)
        self._refresh_compare()
        self.settings.setValue("view/compare_mode", mode)

    def _main_label(self) -> str:
        out = self._output
        if out is None:
            return ""
        t = self._base_target()
        if t == "result":
            return "Fused · network" if out.result.method == "cnn" else "Fused · Mertens"
        return f"Exposure {t + 1}: {out.result.frames[t].path.name}"

    def _base_target(self) -> str | int:
        if self.overlay_panel.kind_value() != "none" and self.overlay_panel.over_value() == "exposure":
            return self._current
        return self._view_target

    def _refresh_main_image(self) -> None:
        out = self._output
        if out is None:
            self.viewer.set_main(None)
            return
        t = self._base_target()
        image = out.fused if t == "result" else out.exposures[t]
        self.viewer.set_main(image, self._main_label())

    def _refresh_compare(self) -> None:
        out = self._output
        if out is None:
            self.viewer.set_compare(None)
            return
        t = self._compare_target
        if t == "mertens":
            if out.result.method == "mertens":
                self.viewer.set_compare(out.fused, "Mertens")
            elif self._mertens is not None:
                self.viewer.set_compare(self._mertens.display, "Mertens")
            else:
                self.viewer.set_compare(None, "Mertens (computing…)")
                self.viewer.second.placeholder = "Computing the Mertens result…"
                if self.viewer.mode() != "single" and not self.analysis_enabled and not self.mertens.is_busy():
                    self.mertens.submit(mertens_job, out.result.frames, label="Mertens")
        else:
            self.viewer.set_compare(out.exposures[t], f"Exposure {t + 1}: {out.result.frames[t].path.name}")

    # ============================================================ overlay
    def set_current_exposure(self, index: int) -> None:
        """Make exposure ``index`` (of the result) current: overlay, filmstrip, exposure view."""
        out = self._output
        if out is None or not 0 <= index < len(out.result.frames):
            return
        changed = index != self._current
        self._current = index
        self.overlay_panel.set_exposure_index(index)
        # filmstrip selection follows
        path = out.result.frames[index].path
        for e in self.bracket.entries:
            if e.frame.path == path and self.filmstrip.current_uid() != e.uid:
                self.filmstrip.blockSignals(True)
                self.filmstrip.set_current_uid(e.uid)
                self.filmstrip.blockSignals(False)
        if isinstance(self._view_target, int):
            self._view_target = index
            self._select_combo(self.view_combo, index)
        if changed:
            self._refresh_main_image()
            self._refresh_overlay()
            self._refresh_inspector()

    def step_exposure(self, step: int) -> None:
        out = self._output
        if out is None:
            return
        n = len(out.result.frames)
        self.set_current_exposure((self._current + step) % n)

    def toggle_overlay(self) -> None:
        op = self.overlay_panel
        if op.kind_value() == "none":
            kind = self._last_overlay_kind
            if kind == "weights" and (self.result() is None or self.result().weights is None):
                kind = "gamma"
            op.set_kind(kind)
        else:
            self._last_overlay_kind = op.kind_value()
            op.set_kind("none")

    def set_overlay(self, kind: str, index: int | None = None) -> None:
        """Show the "weights" or "gamma" map of exposure ``index`` (or "none")."""
        if index is not None:
            self.set_current_exposure(index)
        self.overlay_panel.set_kind(kind)

    def _refresh_overlay(self) -> None:
        kind = self.overlay_panel.kind_value()
        out = self._output
        self._refresh_main_image()
        if kind == "none" or out is None:
            self._overlay_key = None
            self.viewer.set_overlay(None)
            if kind != "none":
                return
            self.overlayShown.emit("none")
            return
        self._last_overlay_kind = kind
        cmap = self.overlay_panel.colormap_name()
        k = self._current
        res = out.result
        w, h = res.image.shape[1], res.image.shape[0]
        if kind == "weights":
            if res.weights is None:
                self.viewer.set_overlay(None)
                return
            key = ("weights", id(out), k, cmap)
            self._overlay_key = key
            if key in self._overlay_cache:
                self._show_overlay(key)
            else:
                self.overlay_runner.submit(overlay_job, res.weights[k], cmap, (w, h), label="Overlay")
        else:
            self._request_gamma(dragging=False, recolour_only=True)

    def _show_overlay(self, key: tuple) -> None:
        image = self._overlay_cache.get(key)
        self.viewer.set_overlay(image, self.overlay_panel.opacity_value())
        self.overlayShown.emit(key[0])

    def _on_overlay_image(self, rid: int, image: DisplayImage) -> None:
        key = self._overlay_key
        if key is None:
            return
        # keep a few entries only (full-resolution colourings are big)
        while len(self._overlay_cache) >= 4:
            self._overlay_cache.pop(next(iter(self._overlay_cache)))
        self._overlay_cache[key] = image
        self._show_overlay(key)

    def _gamma_params_changed(self, dragging: bool) -> None:
        self._save_view_settings()
        if self._output is None:
            return
        if self.overlay_panel.kind_value() == "gamma" or self._gamma is not None:
            self._request_gamma(dragging=dragging)

    def _request_gamma(self, dragging: bool, recolour_only: bool = False) -> int:
        """Compute the gamma maps (latest wins) or, if current, just recolour the overlay.

        While a slider moves the maps are computed at GAMMA_DRAG_SIZE; any other
        change gets a quick map at that size first, then one at GAMMA_SETTLED_SIZE.
        """
        out, luma = self._output, self._luma
        if out is None or luma is None:
            return 0
        params = self.overlay_panel.gamma_params()
        cmap = self.overlay_panel.colormap_name()
        k = self._current
        quick, settled = luma.resolution(GAMMA_DRAG_SIZE), luma.resolution(GAMMA_SETTLED_SIZE)
        g = self._gamma
        same = g is not None and g.params == params
        if recolour_only and same:
            key = ("gamma", id(g), k, cmap)
            self._overlay_key = key
            if g.overlay is not None and g.index == k and g.colormap == cmap:
                self._overlay_cache[key] = g.overlay
            if key in self._overlay_cache:
                self._show_overlay(key)
            else:
                self.overlay_runner.submit(overlay_job, g.maps[k], cmap, g.full_size, label="Overlay")
            return 0
        if dragging:
            self._gamma_refine = None
            return self.gamma.submit(gamma_job, luma, params, GAMMA_DRAG_SIZE, k, cmap, label="Gamma maps")
        if quick == settled or (same and g.long_side >= quick):
            self._gamma_refine = None
            return self.gamma.submit(gamma_job, luma, params, GAMMA_SETTLED_SIZE, k, cmap, label="Gamma maps")
        self._gamma_refine = params  # quick now, the settled maps when it lands
        return self.gamma.submit(gamma_job, luma, params, GAMMA_DRAG_SIZE, k, cmap, label="Gamma maps")

    def _on_gamma(self, rid: int, g: GammaOutput) -> None:
        if self._luma is None or self._output is None or g.full_size != (self._luma.width, self._luma.height):
            return
        self._gamma = g
        if self._gamma_refine is not None and g.params == self._gamma_refine:
            self._gamma_refine = None
            if g.long_side < self._luma.resolution(GAMMA_SETTLED_SIZE):
                self.gamma.submit(gamma_job, self._luma, g.params, GAMMA_SETTLED_SIZE, self._current,
                                  self.overlay_panel.colormap_name(), label="Gamma maps")
        w, h = g.full_size
        gh, gw = g.maps.shape[1:]
        if (gw, gh) == (w, h):
            note = f"Gamma maps at full resolution ({w} × {h})"
        else:
            note = f"Gamma maps computed at {gw} × {gh} px (a preview of {w} × {h}; export computes them at full resolution)"
        op = self.overlay_panel
        op.resolution_label.setText(note)
        op.variant.setToolTip(f"How the gamma detail maps measure each exposure's local detail.\n{note}")
        if self.overlay_panel.kind_value() == "gamma":
            key = ("gamma", id(g), self._current, self.overlay_panel.colormap_name())
            self._overlay_key = key
            if g.overlay is not None and g.index == self._current and g.colormap == self.overlay_panel.colormap_name():
                self._overlay_cache[key] = g.overlay
                self._show_overlay(key)
            else:
                self.overlay_runner.submit(overlay_job, g.maps[self._current], key[3], g.full_size, label="Overlay")
        self._refresh_inspector()

    # ========================================================== inspector
    def _hovered(self, pos: QPointF) -> None:
        self._set_hover((int(math.floor(pos.x())), int(math.floor(pos.y()))))

    def _set_hover(self, xy: tuple[int, int] | None) -> None:
        self._hover = xy
        self._refresh_inspector()

    def _refresh_inspector(self) -> None:
        if self._hover is None:
            self.inspector.show_values(None)
            return
        self.inspector.show_values(self.pixel_values(*self._hover))

    def pixel_values(self, x: int, y: int) -> dict | None:
        """What the inspector shows at image pixel (x, y): read straight from the engine's arrays."""
        out = self._output
        if out is None:
            return None
        res = out.result
        h, w = res.image.shape[:2]
        if not (0 <= x < w and 0 <= y < h):
            return None
        g = self._gamma
        gamma_note = ""
        gx = gy = 0
        if g is not None:
            gh, gw = g.maps.shape[1:]
            gx, gy = min(gw - 1, x * gw // w), min(gh - 1, y * gh // h)
            if (gw, gh) != (w, h):
                gamma_note = f"gamma at {gw}×{gh}"
        rows = []
        evs = self.bracket.ev_labels()
        ev_by_path = {e.frame.path: evs.get(e.uid, "") for e in self.bracket.entries}
        for k, f in enumerate(res.frames):
            ev = ev_by_path.get(f.path, "")
            rows.append(
                {
                    "name": f.path.name,
                    "label": ev if ev and ev != "EV n/a" else f.path.name,
                    "value": f.data[y, x].copy(),
                    "weight": None if res.weights is None else float(res.weights[k, y, x]),
                    "gamma": None if g is None else float(g.maps[k, gy, gx]),
                    "highlight": k == self._current,
                }
            )
        fr, fg, fb = (float(v) for v in res.image[y, x])
        return {"x": x, "y": y, "fused": (fr, fg, fb), "exposures": rows, "gamma_note": gamma_note}

    # ============================================================= export
    def export_dialog(self) -> None:
        res = self.result()
        if res is None:
            self.notify("Nothing to export yet: open a bracket and let it fuse.", "info")
            return
        ref = res.frames[len(res.frames) // 2].path
        folder = settings_mod.read(self.settings, "export/folder", str(ref.parent))
        if not Path(folder).is_dir():
            folder = str(Path.home())
        suffix = settings_mod.read(self.settings, "export/suffix", ".jpg")
        default = Path(folder) / f"{ref.parent.name or ref.stem}_fused{suffix}"
        dlg = ExportDialog(
            default,
            self.overlay_panel.gamma_params(),
            res.weights is not None,
            self,
            bits=settings_mod.read(self.settings, "export/bits", 8, int),
            quality=settings_mod.read(self.settings, "export/quality", 95, int),
        )
        if dlg.exec() != ExportDialog.DialogCode.Accepted:
            return
        options = dlg.options()
        self.settings.setValue("export/folder", str(options.path.parent))
        self.settings.setValue("export/suffix", options.path.suffix.lower())
        self.settings.setValue("export/bits", options.bits)
        self.settings.setValue("export/quality", options.quality)
        self.export_to(options)

    def export_to(self, options: ExportOptions, confirm: bool = True) -> int:
        """Export the result on display on a worker. Asks before replacing files. Returns the request id (0: not started)."""
        res = self.result()
        if res is None:
            self.notify("Nothing to export yet.", "info")
            return 0
        inputs = [e.frame.path for e in self.bracket.entries]
        targets = export_targets(options, res)
        try:  # never an input or a repeated name, even when the user agrees to replace files
            check_targets(targets, inputs, overwrite=True)
        except OutputError as exc:
            self.notify(f"Export: {exc}")
            return 0
        existing = [t for t in targets if t.exists()]
        if existing and not options.overwrite:
            if not confirm or not self._confirm_overwrite(existing):
                self._status("Export cancelled: nothing was replaced")
                return 0
            options.overwrite = True
        return self.exporter.submit(export_job, res, options, inputs=inputs, label="Exporting")

    def _confirm_overwrite(self, existing: list[Path]) -> bool:
        names = "\n".join(str(p) for p in existing[:6]) + ("\n…" if len(existing) > 6 else "")
        answer = QMessageBox.question(
            self,
            "Replace files?",
            f"{len(existing)} file{'s' if len(existing) > 1 else ''} already exist{'s' if len(existing) == 1 else ''}:\n\n{names}\n\nReplace {'them' if len(existing) > 1 else 'it'}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _on_exported(self, rid: int, written: list) -> None:
        first = Path(written[0])
        extra = f" and {len(written) - 1} map{'s' if len(written) > 2 else ''}" if len(written) > 1 else ""
        self.notify(
            f"Exported {first.name}{extra} to {first.parent}",
            "success",
            action=("Show folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(first.parent)))),
        )
        self._status(f"Exported {first}")
        self.exportFinished.emit([Path(p) for p in written])

    # ============================================================ models
    def browse_model(self) -> None:
        start = settings_mod.read(self.settings, "model_folder", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Use a model file", start, "HDRDesk models (*.pt *.pth);;All files (*)")
        if path:
            self.settings.setValue("model_folder", str(Path(path).parent))
            self.set_model_path(Path(path))

    def _user_models(self) -> list[str]:
        value = self.settings.value("models/user", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def _remember_model(self, path: Path) -> None:
        models = [m for m in self._user_models() if Path(m) != path]
        models.insert(0, str(path))
        self.settings.setValue("models/user", models[:8])

    def _forget_model(self, path: Path) -> None:
        self.settings.setValue("models/user", [m for m in self._user_models() if Path(m) != path])
        choices = [(label, p) for label, p in self.fusion_panel.models() if p is None or Path(p) != path]
        self.fusion_panel.set_models(choices, None)


    # ---- fine-tuning, refine, model manager: hdrdesk.gui.finetune_panel / refine / model_manager ----
    def _init_training_tools(self) -> None:
        self._finetune_dialog = None
        self._refine_dialog = None
        self._model_manager = None
        A = self._action
        self.act_finetune = A("&Fine-tune…", self.show_finetune, None, "Fine-tune the network on your own brackets")
        self.act_refine = A("&Refine This Bracket", self.refine_current, "Ctrl+Shift+R", "A few seconds of fine-tuning on this bracket alone, then fuse again")
        self.act_models = A("&Models…", self.show_model_manager, None, "Your models: choose, rename, delete, import, export")
        self.act_refine.setIconText("Refine")
        first = self.tools_menu.actions()[0] if self.tools_menu.actions() else None
        for a in (self.act_finetune, self.act_refine, self.act_models):
            self.tools_menu.insertAction(first, a)
        self.tools_menu.insertSeparator(first)
        acts = self.toolbar.actions()
        i = acts.index(self.act_fuse) + 1 if self.act_fuse in acts else len(acts)
        self.toolbar.insertAction(acts[i] if i < len(acts) else None, self.act_refine)
        update = lambda *_: self.act_refine.setEnabled(self.result() is not None and len(self.frames()) >= 2)  # noqa: E731
        self.resultReady.connect(update)
        self.framesChanged.connect(update)
        update()
        self.refresh_model_choices()

    def refresh_model_choices(self) -> None:
        """Refill the model combo from the model store (plus model files used from elsewhere)."""
        from hdrdesk.gui.model_manager import store_choices

        before = self.model_path()
        current = before if before is not None and before.is_file() else None
        fp = self.fusion_panel
        fp.blockSignals(True)
        fp.set_models(store_choices(extra=[Path(m) for m in self._user_models()]), current)
        fp.blockSignals(False)
        if self.model_path() != before:
            self._fusion_options_changed()

    def show_finetune(self):
        from hdrdesk.gui.finetune_panel import FinetuneDialog

        if self._finetune_dialog is None:
            d = FinetuneDialog(self)
            d.panel.guard_close(self)  # closing the window during training asks first
            d.panel.modelKept.connect(lambda _p: self.refresh_model_choices())
            d.panel.useModel.connect(self.set_model_path)
            self._finetune_dialog = d
        d = self._finetune_dialog
        if not d.panel.is_running():
            d.panel.refresh_base_models()
        d.panel.refresh_sources()
        d.show()
        d.raise_()
        d.activateWindow()
        return d

    def show_model_manager(self):
        from hdrdesk.gui.model_manager import ModelManagerDialog

        d = ModelManagerDialog(self, current=self.model_path())
        d.modelChosen.connect(self.set_model_path)
        d.modelsChanged.connect(self.refresh_model_choices)
        self._model_manager = d
        d.open()
        return d

    def refine_current(self):
        from hdrdesk.gui.refine import RefineDialog

        if self._refine_dialog is None:
            self._refine_dialog = RefineDialog(self)  # keeping a refined copy selects it here
        d = self._refine_dialog
        d.show()
        d.raise_()
        d.start()
        return d

    def fuse_with_model(self, model, label: str = "Fusing") -> int:
        """Fuse the bracket once with an in-memory network (e.g. a refined copy); the model choice stays as it is."""
        frames = self.frames()
        if len(frames) < 2:
            return 0
        options = self.fusion_options()
        options.method, options.model = "cnn", model
        return self.fusion.submit(fusion_job, frames, options, label=label)

    # ---- end of fine-tuning, refine, model manager ----

    # =========================================================== status
    def _status(self, text: str) -> None:
        self.status_label.setText(text)

    def _on_started(self, rid: int, label: str) -> None:
        self.progress.setValue(0)
        self._status(f"{label}…")

    def _on_progress(self, rid: int, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self._status(message + "…" if fraction < 1.0 else message)

    def _busy_changed(self, _busy: bool) -> None:
        busy = self.is_busy()
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.act_cancel.setEnabled(busy)
        self.busyChanged.emit(busy)

    def _job_error(self, what: str, err: JobError, level: str = "error") -> None:
        self.notify(f"{what}: {err.message()}", level, details=err.traceback if not err.expected else "")

    def _zoom_changed(self, factor: float) -> None:
        prefix = "Fit · " if self.viewer.main.is_fit() else ""
        self.zoom_label.setText(f"{prefix}{factor * 100:.0f} %")

    def _set_device(self, device: str, method: str | None = None) -> None:
        text = self._device_text(device)
        self.device_label.setText(text if method != "mertens" else f"{text} · Mertens on CPU")

    @staticmethod
    def _device_text(device: str) -> str:
        d = device.lower()
        if d.startswith("cuda"):
            return f"GPU: {device}"
        if d.startswith("mps"):
            return "GPU: Apple MPS"
        if d.startswith("cpu") and "(" not in device:
            import torch

            return f"CPU ({torch.get_num_threads()} threads)"
        return device if device.upper().startswith(("CPU", "GPU")) else f"Device: {device}"

    def start_info(self) -> None:
        """Log versions, device and Qt platform (collect_info loads torch and the model: a worker does it)."""
        from hdrdesk.gui.app import info_job

        self.info_runner.submit(info_job, label="Info")

    def _on_info(self, rid: int, info: dict) -> None:
        dev = str(info.get("device", ""))
        if dev:
            self.device_label.setText(("GPU: " if dev.startswith("CUDA") or "MPS" in dev else "") + dev)
            self.device_label.setToolTip(f"Network device: {dev}\nModel: {info.get('model', '?')}")
        self._info = info

    def _update_actions(self) -> None:
        has_result = self._output is not None
        has_frames = len(self.bracket) > 0
        for a in (self.act_export,):
            a.setEnabled(has_result)
        for a in (self.act_fuse, self.act_add, self.act_close):
            a.setEnabled(has_frames)
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_100, self.act_overlay, self.act_next, self.act_prev, self.act_show_result, self.act_show_exposure, *self.mode_actions.values()):
            a.setEnabled(has_result)
        self.view_combo.setEnabled(has_result)
        self.compare_combo.setEnabled(has_result and self.viewer.mode() != "single")
        self.act_cancel.setEnabled(self.is_busy())

    def _sync_method_menu(self) -> None:
        m = self.fusion_panel.method_value()
        for a in self.method_group.actions():
            a.setChecked(a.data() == m)

    # ============================================================ about
    def about(self) -> None:
        import platform

        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        from hdrdesk import __version__

        try:
            import cv2
            import numpy
            import torch

            libs = f"PyTorch {torch.__version__} · NumPy {numpy.__version__} · OpenCV {cv2.__version__}"
        except Exception:  # noqa: BLE001
            libs = ""
        info = getattr(self, "_info", {})
        QMessageBox.about(
            self,
            "About HDRDesk",
            f"<h3>HDRDesk {__version__}</h3>"
            "<p>Exposure fusion of bracketed photos with a small unsupervised CNN "
            "(after arXiv 2510.21815), with the weight maps and gamma detail maps that explain the result.</p>"
            f"<p>Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}<br>{libs}</p>"
            f"<p>Device: {info.get('device', self.device_label.text())}<br>Model: {info.get('model', 'shipped default')}<br>"
            f"Qt platform: {QApplication.platformName()}</p>"
            "<p>Sample bracket: synthetic, CC0. MIT licence.</p>",
        )

    def open_log_folder(self) -> None:
        from hdrdesk.paths import user_log_dir

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(user_log_dir())))

    # ========================================================== settings
    def _restore_settings(self) -> None:
        s = self.settings
        read = settings_mod.read
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = s.value("window/state")
        self._default_layout = state is None or not self.restoreState(state)
        fp = self.fusion_panel
        fp.blockSignals(True)
        fp.set_method(read(s, "fusion/method", "cnn"))
        fp.working.setValue(read(s, "fusion/working_size", 512, int))
        fp._last_working = fp.working.value()
        fp.align.setChecked(read(s, "fusion/align", True, bool))
        models = [("Default (shipped)", None)] + [(Path(m).stem, Path(m)) for m in self._user_models() if Path(m).is_file()]
        current = read(s, "fusion/model", "", str)
        fp.set_models(models, Path(current) if current and Path(current).is_file() else None)
        fp.blockSignals(False)
        cnn = fp.method_value() == "cnn"
        for w in (fp.model, fp.browse, fp.working):
            w.setEnabled(cnn)
        self._sync_method_menu()
        op = self.overlay_panel
        op.blockSignals(True)
        op.set_kind(read(s, "view/overlay", "none"))
        op.opacity.setValue(read(s, "view/overlay_opacity", 60, int))
        op.colormap.setCurrentText(read(s, "view/colormap", "Viridis"))
        over = op.over.findData(read(s, "view/overlay_over", "result"))
        op.over.setCurrentIndex(max(0, over))
        try:
            from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GammaParams

            w = read(s, "view/gamma_window", 11, int)
            op.set_gamma_params(GammaParams.for_window(read(s, "view/gamma_variant", DEFAULT_GAMMA_VARIANT), w, read(s, "view/gamma_alpha", 0.5, float)))
        except ValueError:
            pass
        op.blockSignals(False)
        op._sync_enabled()
        op._update_labels()
        op.legend.set_colormap(op.colormap_name())
        op._opacity_changed(op.opacity.value())
        self.histogram_panel.rgb.setChecked(read(s, "view/histogram_rgb", True, bool))
        mode = read(s, "view/compare_mode", "single")
        self.set_compare_mode(mode if mode in ViewerArea.MODES else "single")

    def _save_fusion_settings(self) -> None:
        s = self.settings
        fp = self.fusion_panel
        s.setValue("fusion/method", fp.method_value())
        s.setValue("fusion/working_size", fp.working.value())
        s.setValue("fusion/align", fp.align.isChecked())
        s.setValue("fusion/model", str(fp.model_path() or ""))

    def _save_view_settings(self) -> None:
        s = self.settings
        op = self.overlay_panel
        s.setValue("view/overlay", op.kind_value())
        s.setValue("view/overlay_opacity", op.opacity.value())
        s.setValue("view/colormap", op.colormap_name())
        s.setValue("view/overlay_over", op.over_value())
        p = op.gamma_params()
        s.setValue("view/gamma_variant", p.variant)
        s.setValue("view/gamma_window", p.window)
        s.setValue("view/gamma_alpha", p.alpha)
        s.setValue("view/histogram_rgb", self.histogram_panel.rgb.isChecked())
        s.setValue("view/compare_mode", self.viewer.mode())

    def save_settings(self) -> None:
        if self._welcome_shown and self._docks_hidden:
            for d in self._docks_hidden:
                d.show()  # save the panel layout as the user left it, not the start screen's
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self._save_fusion_settings()
        self._save_view_settings()
        self.settings.sync()

    # ============================================================ events
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        for r in (self.loader, self.fusion, self.gamma, self.overlay_runner, self.quality, self.mertens, self.exporter, self.info_runner):
            r.cancel()
        self._fuse_timer.stop()
        # Jobs check for cancellation between steps; wait for them so no worker outlives the window.
        self.job_pool.waitForDone(30000)
        super().closeEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self._show_drop_hint(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self._show_drop_hint(False)
        super().dragLeaveEvent(event)

    def _show_drop_hint(self, show: bool) -> None:
        if show:
            self.drop_hint.setGeometry(self.centralWidget().rect().adjusted(24, 24, -24, -24))
            self.drop_hint.raise_()
        self.drop_hint.setVisible(show)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self._show_drop_hint(False)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Dropped on the start screen or the image: a new bracket. On the filmstrip: added (see Filmstrip).
        self.open_paths(paths, replace=True)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if getattr(self, "_default_layout", False):
            self._default_layout = False
            # first start: share the right-hand column sensibly (the overlay controls need the most room)
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [self.overlay_dock, self.inspector_dock, self.histogram_dock], [400, 180, 170], Qt.Orientation.Vertical))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1440, 900)
