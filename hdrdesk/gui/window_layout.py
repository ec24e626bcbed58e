"""The main window's widgets and their arrangement: central view, docks, toolbar widgets and
the status bar, the start screen, the drop hint. No application logic (see main_window)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QLabel,
    QProgressBar,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.gui.analysis_panels import HistogramPanel, InspectorPanel
from hdrdesk.gui.filmstrip import FilmstripPanel
from hdrdesk.gui.notify import NotificationArea
from hdrdesk.gui.panels import METHOD_NAMES, NETWORK_METHODS, FusionPanel, OverlayPanel
from hdrdesk.gui.viewer import ViewerArea
from hdrdesk.gui.welcome import WelcomeView


class WindowLayout:
    """Mixed into MainWindow (a QMainWindow): builds and arranges its widgets."""

    def build_widgets(self) -> None:
        self._docks_hidden: list[QDockWidget] = []
        self._welcome_shown: bool | None = None
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
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.film_dock = self._dock("Exposures", "dock_filmstrip", self.film, Qt.DockWidgetArea.BottomDockWidgetArea, scroll=False)
        self.film_dock.setFeatures(self.film_dock.features() & ~QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.fusion_dock = self._dock("Fusion", "dock_fusion", self.fusion_panel, right, scroll=False)
        self.overlay_dock = self._dock("Overlay", "dock_overlay", self.overlay_panel, right)
        self.inspector_dock = self._dock("Pixel inspector", "dock_inspector", self.inspector, right, scroll=False)
        self.histogram_dock = self._dock("Histogram", "dock_histogram", self.histogram_panel, right, scroll=False)
        # the right-hand panels run the full height; the filmstrip sits under the image only
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.my_docks = [self.film_dock, self.fusion_dock, self.overlay_dock, self.inspector_dock, self.histogram_dock]
        self.resizeDocks([self.fusion_dock], [340], Qt.Orientation.Horizontal)

        self.view_combo = QComboBox()
        self.view_combo.setToolTip("Show the fused result or one of the exposures (R / E, [ and ])")
        self.view_combo.setMinimumContentsLength(14)
        self.view_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare_combo = QComboBox()
        self.compare_combo.setToolTip("What to compare the result with")
        self.compare_combo.setMinimumContentsLength(12)
        self.compare_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._build_statusbar()

    def _dock(self, title: str, name: str, widget: QWidget, area, scroll: bool = True) -> QDockWidget:
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
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, d)
        return d

    @staticmethod
    def toolbar_label(text: str) -> QLabel:
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
        self.cancel_button.clicked.connect(lambda: self.cancel())
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

    def add_tool_dock(self, dock: QDockWidget, area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea, tabify: bool = True) -> None:
        """Add a tool panel; it gets a toggle entry in the Tools menu."""
        if not dock.objectName():
            dock.setObjectName(f"dock_tool_{dock.windowTitle().lower().replace(' ', '_')}")
        self.addDockWidget(area, dock)
        if tabify and area == Qt.DockWidgetArea.RightDockWidgetArea:
            self.tabifyDockWidget(self.histogram_dock, dock)
        self.tools_menu.addAction(dock.toggleViewAction())

    # ------------------------------------------------------------ start screen
    def show_welcome(self, show: bool) -> None:
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

    def restore_docks_for_saving(self) -> None:
        """Save the panel layout as the user left it, not the start screen's."""
        if self._welcome_shown and self._docks_hidden:
            for d in self._docks_hidden:
                d.show()

    # ------------------------------------------------------------ status bar
    def set_device(self, device: str, method: str | None = None) -> None:
        text = self.device_text(device)
        classic = method is not None and method not in NETWORK_METHODS
        self.device_label.setText(f"{text} · {METHOD_NAMES.get(method, method)} on CPU" if classic else text)

    @staticmethod
    def device_text(device: str) -> str:
        d = device.lower()
        if d.startswith("cuda"):
            return f"GPU: {device}"
        if d.startswith("mps"):
            return "GPU: Apple MPS"
        if d.startswith("cpu") and "(" not in device:
            import sys

            import cv2

            # never import torch here (seconds on the UI thread); on a CPU the network runs in OpenCV
            torch = sys.modules.get("torch")
            threads = torch.get_num_threads() if torch is not None and hasattr(torch, "get_num_threads") else cv2.getNumThreads()
            return f"CPU ({threads} threads)"
        return device if device.upper().startswith(("CPU", "GPU")) else f"Device: {device}"

    # ------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self.show_drop_hint(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        self.show_drop_hint(False)
        super().dragLeaveEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def show_drop_hint(self, show: bool) -> None:
        if show:
            self.drop_hint.setGeometry(self.centralWidget().rect().adjusted(24, 24, -24, -24))
            self.drop_hint.raise_()
        self.drop_hint.setVisible(show)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if getattr(self, "_default_layout", False):
            self._default_layout = False
            # first start: share the right-hand column sensibly (the overlay controls need the most room)
            QTimer.singleShot(0, lambda: self.resizeDocks(
                [self.overlay_dock, self.inspector_dock, self.histogram_dock], [400, 180, 170], Qt.Orientation.Vertical))
