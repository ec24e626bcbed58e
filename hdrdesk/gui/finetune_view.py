"""The Fine-tune panel's widgets and their layout (no behaviour: see finetune_panel)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


from hdrdesk.core.gamma import GAMMA_VARIANTS
from hdrdesk.gui import style
from hdrdesk.gui.panels import VARIANT_LABELS
from hdrdesk.gui.tool_widgets import ImageView, _dim, _heading, _plot

LR_PRESETS = ("1e-4", "2e-4", "5e-4", "1e-3")


class FinetuneView:
    """Mixed into FinetunePanel (a QWidget): creates every widget as an attribute and lays them out."""

    def _build(self) -> None:
        # ---------------- left: photos and settings
        self.use_current = QCheckBox("The current bracket")
        self.use_current.setChecked(True)
        self.current_info = _dim()
        self.folders = QListWidget()
        self.folders.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.folders.setMinimumHeight(70)
        self.folders.setMaximumHeight(110)
        self.folders.setToolTip(
            "Folders training reads: a folder of bracket folders, one bracket folder,\n"
            "or a folder of mixed shots (grouped into brackets by capture time)."
        )
        self.add_folder_button = QPushButton("Add Folder…")
        self.add_folder_button.setToolTip("A bracket folder, a folder of bracket folders, or a folder of mixed shots")
        self.remove_folder_button = QPushButton("Remove")
        self.found_label = _dim("No folders yet.")

        photos = QGroupBox("Photos")
        pl = QVBoxLayout(photos)
        pl.setSpacing(5)
        pl.addWidget(self.use_current)
        pl.addWidget(self.current_info)
        pl.addWidget(self.folders)
        row = QHBoxLayout()
        row.addWidget(self.add_folder_button)
        row.addWidget(self.remove_folder_button)
        row.addStretch(1)
        pl.addLayout(row)
        pl.addWidget(self.found_label)

        self.base_model = QComboBox()
        self.base_model.setToolTip("The model to start from")
        self.gamma = QComboBox()
        self.gamma.addItem("As trained", None)  # the starting model's own gamma, from its card (training.finetune)
        for v in GAMMA_VARIANTS:
            self.gamma.addItem(VARIANT_LABELS.get(v, v), v)
        self.gamma.setCurrentIndex(0)
        self.gamma.setToolTip("Which detail measure weights the SSIM loss (the 'gamma' maps).\n"
                              "As trained: the one the starting model was trained with (from its model card).")
        self.gamma_window = QSpinBox()
        self.gamma_window.setRange(3, 31)
        self.gamma_window.setSingleStep(2)
        self.gamma_window.setValue(11)
        self.gamma_window.setSuffix(" px")
        self.gamma_window.setToolTip("Window of the gamma maps (odd)")
        self.gamma_alpha = QDoubleSpinBox()
        self.gamma_alpha.setRange(0.0, 1.0)
        self.gamma_alpha.setSingleStep(0.05)
        self.gamma_alpha.setDecimals(2)
        self.gamma_alpha.setValue(0.5)
        self.gamma_alpha.setToolTip("Hybrid: weight of the variance measure (the rest is gradient)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 100000)
        self.steps.setSingleStep(50)
        self.steps.setValue(200)
        self.steps.setToolTip("Optimisation steps")
        self.lr = QComboBox()
        self.lr.setEditable(True)
        self.lr.addItems(LR_PRESETS)
        self.lr.setCurrentText("2e-4")
        self.lr.setToolTip("Learning rate (constant). Small values change the model gently.")
        self.device = QComboBox()
        self._fill_devices()

        settings = QGroupBox("Training")
        form = self._form()
        form.addWidget(QLabel("Start from"), 0, 0)
        form.addWidget(self.base_model, 0, 1)
        form.addWidget(QLabel("Gamma"), 1, 0)
        form.addWidget(self.gamma, 1, 1)
        gp = QHBoxLayout()
        gp.setSpacing(6)
        gp.addWidget(self.gamma_window)
        self.alpha_label = QLabel("α")
        gp.addWidget(self.alpha_label)
        gp.addWidget(self.gamma_alpha)
        form.addWidget(QLabel("Window"), 2, 0)
        form.addLayout(gp, 2, 1)
        form.addWidget(QLabel("Steps"), 3, 0)
        form.addWidget(self.steps, 3, 1)
        form.addWidget(QLabel("Learning rate"), 4, 0)
        form.addWidget(self.lr, 4, 1)
        form.addWidget(QLabel("Device"), 5, 0)
        form.addWidget(self.device, 5, 1)
        settings.setLayout(form)

        # advanced
        self.val_share = QSpinBox()
        self.val_share.setRange(5, 50)
        self.val_share.setValue(25)
        self.val_share.setSuffix(" %")
        self.val_share.setToolTip("Share of the brackets held back to validate (at least one)")
        self.crop = QSpinBox()
        self.crop.setRange(32, 512)
        self.crop.setSingleStep(16)
        self.crop.setValue(128)
        self.crop.setSuffix(" px")
        self.crop.setToolTip("Side of the random training crops")
        self.frames_per_batch = QSpinBox()
        self.frames_per_batch.setRange(2, 128)
        self.frames_per_batch.setValue(16)
        self.frames_per_batch.setToolTip("Exposures per batch (batch size = this / exposures per crop)")
        self.val_every = QSpinBox()
        self.val_every.setRange(0, 100000)
        self.val_every.setValue(0)
        self.val_every.setSpecialValueText("auto (8 times a run)")
        self.val_every.setToolTip("Validate (and refresh the preview) every N steps")
        self.val_size = QSpinBox()
        self.val_size.setRange(0, 4096)
        self.val_size.setSingleStep(128)
        self.val_size.setValue(0)
        self.val_size.setSpecialValueText("full resolution")
        self.val_size.setToolTip("Validate at this short side at most (faster on large photos)")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.threads.setToolTip("CPU threads for training (automatic: all cores but one, which stays with the app)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 1_000_000)
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced = QWidget()
        af = self._form()
        for i, (label, w) in enumerate(
            (("Validation", self.val_share), ("Crop", self.crop), ("Exposures / batch", self.frames_per_batch),
             ("Validate every", self.val_every), ("Validation size", self.val_size), ("CPU threads", self.threads), ("Seed", self.seed))
        ):
            af.addWidget(QLabel(label), i, 0)
            af.addWidget(w, i, 1)
        self.advanced.setLayout(af)
        self.advanced.setVisible(False)

        self.start_button = QPushButton("Start Fine-tuning")
        self.start_button.setProperty("primary", True)
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume Run")
        self.resume_button.setToolTip("Continue the stopped run from its last checkpoint")

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(12, 10, 8, 10)
        ll.setSpacing(8)
        ll.addWidget(photos)
        ll.addWidget(settings)
        ll.addWidget(self.advanced_toggle)
        ll.addWidget(self.advanced)
        ll.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # the run buttons stay in view below the (scrolling) settings
        brow = QGridLayout()
        brow.setContentsMargins(12, 6, 8, 10)
        brow.setSpacing(6)
        brow.addWidget(self.start_button, 0, 0, 1, 2)
        brow.addWidget(self.pause_button, 1, 0)
        brow.addWidget(self.stop_button, 1, 1)
        brow.addWidget(self.resume_button, 2, 0, 1, 2)
        left_column = QWidget()
        left_column.setMinimumWidth(340)
        lc = QVBoxLayout(left_column)
        lc.setContentsMargins(0, 0, 0, 0)
        lc.setSpacing(0)
        lc.addWidget(scroll, 1)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color: {style.BORDER}")
        lc.addWidget(line)
        lc.addLayout(brow)

        # ---------------- right: progress, curves, preview / summary
        self.status = QLabel("Choose photos, then start.")
        f = self.status.font()
        f.setPointSizeF(f.pointSizeF() + 1.5)
        f.setBold(True)
        self.status.setFont(f)
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.eta = _dim("", wrap=False)
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.data_label = _dim()
        self.data_label.setTextFormat(Qt.TextFormat.RichText)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.loss_plot = _plot("Training loss (smoothed; raw faint)", "loss")
        self.val_plot = _plot("Validation MEF-SSIM (held back; dashed: start)", "MEF-SSIM")
        import pyqtgraph as pg

        self.loss_raw_curve = self.loss_plot.plot([], [], pen=pg.mkPen(QColor(61, 143, 214, 90), width=1))
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(style.ACCENT, width=2))  # smoothed (EMA)
        self.val_curve = self.val_plot.plot(
            [], [], pen=pg.mkPen("#e0a03a", width=2), symbol="o", symbolSize=6, symbolBrush="#e0a03a", symbolPen=None
        )
        self.val_start_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#777777", width=1, style=Qt.PenStyle.DashLine))
        self.val_start_line.setVisible(False)
        self.val_plot.addItem(self.val_start_line)

        # preview page
        self.preview_fused = ImageView("Fused", "The preview appears when training starts.")
        self.preview_weights = QWidget()
        self.weights_layout = QHBoxLayout(self.preview_weights)
        self.weights_layout.setContentsMargins(0, 0, 0, 0)
        self.weights_layout.setSpacing(4)
        self.weight_views: list[ImageView] = []
        self.preview_caption = _dim()
        preview_page = QWidget()
        pv = QVBoxLayout(preview_page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.setSpacing(4)
        pv.addWidget(_heading("Preview · latest weights"))
        pv.addWidget(self.preview_fused, 3)
        pv.addWidget(self.preview_weights, 1)
        pv.addWidget(self.preview_caption)

        # summary page
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Bracket", "Track", "Before", "After", "Change"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, 5):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMaximumHeight(200)
        self.before_view = ImageView("Starting model", "Fusing…")
        self.after_view = ImageView("Fine-tuned", "Fusing…")
        sbs = QHBoxLayout()
        sbs.setSpacing(4)
        sbs.addWidget(self.before_view)
        sbs.addWidget(self.after_view)
        self.keep_name = QLineEdit()
        self.keep_name.setPlaceholderText("Name of the new model")
        self.keep_button = QPushButton("Keep as…")
        self.keep_button.setProperty("primary", True)
        self.keep_button.setToolTip("Store the best weights of this run in your models")
        self.use_button = QPushButton("Use for Fusion")
        self.use_button.setVisible(False)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Forget this run (its folder is deleted); nothing is stored")
        krow = QHBoxLayout()
        krow.addWidget(self.keep_name, 1)
        krow.addWidget(self.keep_button)
        krow.addWidget(self.use_button)
        krow.addWidget(self.discard_button)
        summary_page = QWidget()
        sv = QVBoxLayout(summary_page)
        sv.setContentsMargins(0, 0, 0, 0)
        sv.setSpacing(6)
        sv.addWidget(_heading("Before / after · validation MEF-SSIM"))
        sv.addWidget(self.summary_label)
        sv.addWidget(self.table)
        self.compare_heading = _heading("Side by side")
        sv.addWidget(self.compare_heading)
        sv.addLayout(sbs, 1)
        sv.addLayout(krow)
        self.pages = QStackedWidget()
        self.pages.addWidget(preview_page)
        self.pages.addWidget(summary_page)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 10, 12, 10)
        rl.setSpacing(6)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.eta)
        rl.addLayout(top)
        rl.addWidget(self.progress)
        rl.addWidget(self.data_label)
        rl.addWidget(self.message)
        plots = QHBoxLayout()
        plots.setSpacing(6)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.val_plot)
        rl.addLayout(plots, 2)
        rl.addWidget(self.pages, 3)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left_column)
        split.addWidget(right)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([350, 800])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

    @staticmethod
    def _form() -> QGridLayout:
        g = QGridLayout()
        g.setHorizontalSpacing(10)
        g.setVerticalSpacing(6)
        g.setColumnStretch(1, 1)
        return g

    def _fill_devices(self) -> None:
        self.device.clear()
        self.device.addItem("Automatic", "auto")
        self.device.addItem("CPU", "cpu")
        try:
            import torch

            if torch.cuda.is_available():
                for i in range(torch.cuda.device_count()):
                    self.device.addItem(f"GPU {i}: {torch.cuda.get_device_name(i)}", f"cuda:{i}")
            if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
                self.device.addItem("Apple GPU (MPS)", "mps")
        except Exception:  # noqa: BLE001
            pass
        self.device.setToolTip("Where training runs (Automatic: a GPU if there is one)")
