"""The Fine-tune panel: fine-tune the fusion network on your own brackets, watch it learn, keep the result.

Training runs on a worker thread through :func:`hdrdesk.training.finetune.run_finetune`
(the same code as ``hdrdesk finetune``); its events arrive on the UI thread through a
queued signal, its progress, pause and cancel go through the job's
:class:`~hdrdesk.tasks.TaskState`. A share of the chosen brackets (at least one) is
held back and scores the starting and the fine-tuned model (MEF-SSIM); the preview
fuses the current bracket with the newest checkpoint every time the loop writes one.

A stopped run keeps its best checkpoint and ``last.pt`` in its run folder and can be
resumed; 'Keep as...' stores the best weights in the user's models (model_store).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRectF, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hdrdesk.core.gamma import GAMMA_VARIANTS
from hdrdesk.core.io import Frame
from hdrdesk.gui import style
from hdrdesk.gui.imaging import downscale, qimage_copy, to_uint8
from hdrdesk.gui.workers import JobError, JobRunner
from hdrdesk.tasks import TaskState
from hdrdesk.training.finetune import FinetuneOutcome, FinetuneRequest

PREVIEW_LONG = 480  # long side of the preview bracket
HEARTBEAT_MS = 20
PLOT_REFRESH_MS = 250  # curves are redrawn at most this often
# While training runs on a worker, the interpreter hands its lock over every 1 ms instead of 5:
# every return from Qt's C++ into Python on the UI thread waits at most that long.
TRAINING_SWITCH_INTERVAL = 0.001
VARIANT_LABELS = {
    "variance": "Variance",
    "gradient": "Gradient",
    "exposedness": "Well-exposedness",
    "hybrid": "Hybrid (variance + gradient)",
}
LR_PRESETS = ("1e-4", "2e-4", "5e-4", "1e-3")


# =================================================================== worker side


@dataclass
class ScanOutput:
    brackets: list[tuple[str, list[Path]]]  # (name, files darkest first)
    skipped: list[str]


def scan_job(folders: Sequence[str], task: TaskState) -> ScanOutput:
    """What training will find in ``folders`` (no pixels read; mixed folders grouped by capture time)."""
    from hdrdesk.training.data import DataReport, discover_scenes

    report = DataReport()
    task.report(0.1, "Looking for brackets")
    scenes = discover_scenes([f for f in folders if Path(f).is_dir()], report=report)
    missing = [f"{f}: folder not found" for f in folders if not Path(f).is_dir()]
    return ScanOutput([(s.name, list(s.files)) for s in scenes], missing + report.skipped)


@dataclass
class RunPlan:
    """One start (or resume) of a fine-tuning run."""

    request: FinetuneRequest
    resume: bool = False
    current_files: list[Path] = field(default_factory=list)  # the current bracket's included frames, darkest first
    current_dir: Path | None = None  # where they are linked/copied for training (a bracket folder)


class _Holder:
    """The outcome of the last run, also when the job ends cancelled (JobRunner drops its value then)."""

    outcome: FinetuneOutcome | None = None


def warm_up_job(task: TaskState) -> bool:
    """Run one tiny training step before a run starts.

    The first optimiser, backward pass and checkpoint pull in seconds of lazy imports
    (torch._dynamo, sympy, fake tensors, kornia...). Imports hold the interpreter lock and
    would stall the UI in the middle of a run; here they happen while the panel opens.
    """
    import io

    import torch

    import hdrdesk.core.fusion  # noqa: F401
    import hdrdesk.core.mefssim  # noqa: F401
    import hdrdesk.training.finetune  # noqa: F401
    import hdrdesk.training.validate  # noqa: F401
    from hdrdesk.core.gamma import GammaParams
    from hdrdesk.core.model import FusionNet, NetConfig
    from hdrdesk.training.loop import save_checkpoint  # noqa: F401
    from hdrdesk.training.objective import Objective

    import tempfile

    from PIL import Image

    import hdrdesk.gui.jobs  # noqa: F401  (the preview's MEF-SSIM)
    from hdrdesk.core.io import read_frame

    Image.init()  # every image format plugin, as reading brackets (and their EXIF) would import them
    with tempfile.TemporaryDirectory(prefix="hdrdesk-warm-") as tmp:
        probe = Path(tmp) / "probe.png"
        Image.new("RGB", (8, 8)).save(probe)
        read_frame(probe)
    task.check()
    net = FusionNet(NetConfig(widths=(4, 8)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    loss, _terms = Objective(GammaParams(), 1.0, 1.0, 0.5)(net, torch.rand(1, 2, 64, 64))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    task.check()
    buf = io.BytesIO()
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, buf)
    torch.load(io.BytesIO(buf.getvalue()), map_location="cpu", weights_only=True)
    global _WARM
    _WARM = True
    return True


_WARM = False  # once per process


def stage_bracket(files: Sequence[Path], dest: Path) -> Path:
    """Make ``dest`` a bracket folder holding ``files`` in this order (hard links, else copies)."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.iterdir():
        if old.is_file():
            old.unlink()
    for i, f in enumerate(files):
        target = dest / f"{i:02d}_{Path(f).name}"  # the index keeps darkest-first order by name
        try:
            os.link(f, target)
        except OSError:
            shutil.copy2(f, target)
    return dest


def finetune_job(plan: RunPlan, holder: _Holder, emit: Callable[[dict], None], task: TaskState, preview: Sequence[Frame] = ()) -> FinetuneOutcome:
    """Run :func:`run_finetune` and relay its events; also make the previews, on this same thread.

    ``preview``: the bracket to preview (the current one, full size); without it, the first
    held-back bracket. A preview is made with the starting model, then each time the loop
    writes a checkpoint (``last.pt``), right here between two steps: fusing on another worker
    at the same time would make two threads compete for the interpreter lock with the UI.
    """
    from hdrdesk.training.data import discover_scenes
    from hdrdesk.training.finetune import run_finetune

    holder.outcome = None
    if plan.current_files and plan.current_dir is not None and not plan.resume:
        task.report(0.0, "Preparing the current bracket")
        stage_bracket(plan.current_files, plan.current_dir)
    scenes: dict[str, list[str]] = {}
    try:  # names -> files, for the preview and the side-by-side (the loop reports names only)
        scenes = {s.name: [str(f) for f in s.files] for s in discover_scenes([f for f in plan.request.folders if Path(f).is_dir()])}
        emit({"type": "scenes", "files": scenes})
    except Exception:  # noqa: BLE001 - training reports data problems itself
        pass
    run = Path(plan.request.out_dir) if plan.request.out_dir else None
    state: dict = {"frames": [], "files": [], "mtime": None, "step": 0}

    def make_preview(source, step: int, what: str = "") -> None:
        try:
            out = preview_job(state["frames"], state["files"], source, step, TaskState(), what)
        except Exception as exc:  # noqa: BLE001 - a preview never stops training
            emit({"type": "preview_error", "message": f"{type(exc).__name__}: {exc}"})
            return
        state["frames"] = out.frames
        emit({"type": "preview", "output": out})

    def checkpoint_mtime():
        try:
            return (run / "last.pt").stat().st_mtime_ns if run is not None else None
        except OSError:
            return None

    if len(preview) >= 2:
        state["frames"] = small_frames(preview)
        make_preview(plan.request.init, 0)
    state["mtime"] = checkpoint_mtime()

    def relay(e: dict) -> None:
        emit(e)
        kind = e.get("type")
        if kind == "data" and not state["frames"] and e.get("val"):
            state["files"] = scenes.get(e["val"][0], [])
            if state["files"]:
                make_preview(plan.request.init, 0)
        elif kind == "step" and (state["frames"] or state["files"]):
            mtime = checkpoint_mtime()
            if mtime is not None and mtime != state["mtime"]:
                state["mtime"] = mtime
                every = max(1, plan.request.val_every or plan.request.steps)
                make_preview(run / "last.pt", int(e["step"]) // every * every)  # last.pt is written every val_every steps

    outcome = run_finetune(plan.request, task=task, on_event=relay, resume=plan.resume)
    holder.outcome = outcome
    if (state["frames"] or state["files"]) and outcome.best_path is not None and not outcome.cancelled:
        best = int(outcome.card.get("best_step", outcome.step) or 0)
        make_preview(outcome.best_path, outcome.step, "starting weights (still the best)" if best == 0 else f"best weights (step {best})")  # what 'Keep as...' keeps
    return outcome


def small_frames(frames: Sequence[Frame], long_side: int = PREVIEW_LONG) -> list[Frame]:
    return [Frame(f.path, np.ascontiguousarray(downscale(f.data, long_side)), f.exposure, None) for f in frames]


def _load_for_preview(source: str | Path):
    """A model from 'default', a model file or a training checkpoint (retrying a file being replaced)."""
    from hdrdesk.core.model import load_model
    from hdrdesk.errors import ModelError
    from hdrdesk.paths import default_model_path

    path = default_model_path() if str(source) == "default" else Path(source)
    for attempt in range(3):
        try:
            return load_model(path)[0]
        except ModelError:
            if attempt == 2:
                raise
            time.sleep(0.05)


@dataclass
class PreviewOutput:
    fused: QImage
    weights: list[QImage]
    names: list[str]
    score: float | None
    step: int
    frames: list[Frame]  # the reduced bracket (reused by later previews)
    what: str = ""  # which weights, for the caption


def preview_job(frames: Sequence[Frame], files: Sequence[str], model_source: str | Path, step: int, task: TaskState, what: str = "") -> PreviewOutput:
    """Fuse the preview bracket with a model and colour its weight maps."""
    from hdrdesk.core.fusion import FusionOptions, fuse_frames
    from hdrdesk.core.io import load_bracket
    from hdrdesk.gui.imaging import colorize
    from hdrdesk.gui.jobs import mef_ssim_at

    if not frames:
        task.report(0.05, "Reading the preview bracket")
        frames = small_frames(load_bracket(list(files)))
    elif max(frames[0].size) > PREVIEW_LONG:
        frames = small_frames(frames)
    task.check()
    model = _load_for_preview(model_source)
    res = fuse_frames(frames, FusionOptions(method="cnn", working_size=PREVIEW_LONG, align=False, keep_weights=True), task, model=model)
    weights = [qimage_copy(colorize(w, "Viridis")) for w in res.weights]
    try:
        score = mef_ssim_at(frames, res.image, PREVIEW_LONG)
    except Exception:  # noqa: BLE001 - the score is a nicety here
        score = None
    what = what or ("starting model" if step == 0 else f"weights at step {step}")
    return PreviewOutput(qimage_copy(to_uint8(res.image)), weights, [f.path.name for f in frames], score, step, list(frames), what)


@dataclass
class CompareOutput:
    name: str
    before: QImage
    after: QImage
    before_score: float | None
    after_score: float | None


def compare_job(name: str, files: Sequence[str], frames: Sequence[Frame], base: str | Path, best: str | Path, task: TaskState) -> CompareOutput:
    """One bracket fused with the starting and with the fine-tuned model, side by side."""
    from hdrdesk.core.fusion import FusionOptions, fuse_frames
    from hdrdesk.core.io import load_bracket
    from hdrdesk.gui.jobs import mef_ssim_at

    if not frames:
        frames = small_frames(load_bracket(list(files)))
    out = []
    for i, src in enumerate((base, best)):
        task.report(0.5 * i, "Fusing the comparison")
        res = fuse_frames(frames, FusionOptions(method="cnn", working_size=PREVIEW_LONG, align=False, keep_weights=False), task, model=_load_for_preview(src))
        try:
            score = mef_ssim_at(frames, res.image, PREVIEW_LONG)
        except Exception:  # noqa: BLE001
            score = None
        out.append((qimage_copy(to_uint8(res.image)), score))
    return CompareOutput(name, out[0][0], out[1][0], out[0][1], out[1][1])


# =================================================================== small widgets


class Heartbeat(QObject):
    """A QTimer on the UI thread; records the longest gap between its ticks (responsiveness)."""

    def __init__(self, interval_ms: int = HEARTBEAT_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._last = self._t0 = 0.0
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.long_gaps: list[tuple[float, float]] = []  # (seconds since start, gap in ms) above 100 ms

    def start(self) -> None:
        self.max_gap_ms, self.ticks, self.long_gaps = 0.0, 0, []
        self._last = self._t0 = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self.max_gap_ms = max(self.max_gap_ms, gap)
        if gap > 100.0:
            self.long_gaps.append((round(now - self._t0, 3), round(gap, 1)))
        self._last = now
        self.ticks += 1


class ImageView(QWidget):
    """A picture scaled to fit (aspect kept) on a dark ground, with an optional caption."""

    def __init__(self, caption: str = "", placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.caption = caption
        self.placeholder = placeholder
        self.setMinimumSize(80, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None, caption: str | None = None) -> None:
        self._image = image
        if caption is not None:
            self.caption = caption
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 210)

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(style.BG_DARKEST))
        r = QRectF(self.rect())
        if self._image is not None and not self._image.isNull():
            iw, ih = self._image.width(), self._image.height()
            s = min(r.width() / iw, r.height() / ih)
            w, h = iw * s, ih * s
            target = QRectF(r.x() + (r.width() - w) / 2, r.y() + (r.height() - h) / 2, w, h)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
        elif self.placeholder:
            p.setPen(QColor(style.TEXT_DIM))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        if self.caption:
            f = QFont(self.font())
            f.setPointSizeF(max(7.0, f.pointSizeF() - 1))
            p.setFont(f)
            tw = p.fontMetrics().horizontalAdvance(self.caption) + 12
            th = p.fontMetrics().height() + 4
            box = QRectF(4, 4, min(tw, r.width() - 8), th)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor("#ffffff"))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.caption)
        p.end()


def _heading(text: str) -> QLabel:
    lab = QLabel(text.upper())
    lab.setProperty("heading", True)
    return lab


def _dim(text: str = "", wrap: bool = True) -> QLabel:
    lab = QLabel(text)
    lab.setProperty("dim", True)
    lab.setWordWrap(wrap)
    return lab


def _plot(title: str, ylabel: str):
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True)
    w = pg.PlotWidget(background=style.BG_DARK)
    w.setMinimumHeight(150)
    item = w.getPlotItem()
    item.setTitle(f"<span style='color:{style.TEXT_DIM};font-size:9pt'>{title}</span>")
    for side in ("left", "bottom"):
        ax = item.getAxis(side)
        ax.setPen(pg.mkPen(style.BORDER))
        ax.setTextPen(pg.mkPen(style.TEXT_DIM))
        ax.enableAutoSIPrefix(False)
    item.setLabel("bottom", "step", color=style.TEXT_DIM)
    item.setLabel("left", ylabel, color=style.TEXT_DIM)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    w.setMouseEnabled(x=False, y=False)
    item.hideButtons()
    return w


def format_duration(seconds: float) -> str:
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def unique_model_name(base: str) -> str:
    from hdrdesk.model_store import list_models, safe_name

    try:
        base = safe_name(base)
    except Exception:  # noqa: BLE001
        base = "fine-tuned"
    taken = {e.name.lower() for e in list_models()}
    name, i = base, 2
    while name.lower() in taken:
        name = f"{base}-{i}"
        i += 1
    return name


class _EventBridge(QObject):
    """Carries training events from the worker thread to the UI thread (queued)."""

    event = Signal(object)


# =================================================================== the panel


class FinetunePanel(QWidget):
    """Sources, settings, live progress (curves, preview), before/after summary and 'Keep as...'.

    ``window`` (optional): the main window, for the current bracket, its worker pool and the
    model in use. Without it the panel works on folders only (tests, scripts).
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

    def __init__(self, window=None, pool: QThreadPool | None = None, parent: QWidget | None = None) -> None:
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
        self.is_warm = _WARM
        self.bridge = _EventBridge(self)
        self.bridge.event.connect(self._on_event)
        self._holder = _Holder()
        self._state = "idle"  # idle | running | paused | stopping | finished | stopped | failed
        self._plan: RunPlan | None = None
        self._rid = 0
        self._step = 0
        self._steps_total = 0
        self._scene_files: dict[str, list[str]] = {}
        self._val_names: list[str] = []
        self._train_names: list[str] = []
        self._loss: tuple[list[float], list[float]] = ([], [])
        self._val: tuple[list[float], list[float]] = ([], [])
        self._best: float | None = None
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

    # ------------------------------------------------------------------ build
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
        self.gamma.addItem("As the starting model was trained", None)  # its card's gamma (training.finetune)
        for v in GAMMA_VARIANTS:
            self.gamma.addItem(VARIANT_LABELS.get(v, v), v)
        self.gamma.setCurrentIndex(0)
        self.gamma.setToolTip("Which detail measure weights the SSIM loss (the 'gamma' maps)")
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
        if _WARM:
            QTimer.singleShot(0, self._on_warm)
        else:
            self.warm_runner.submit(warm_up_job, label="Warm-up")
        self.scan_runner.error.connect(lambda _r, e: self.found_label.setText(e.message()))
        self._gamma_changed()
        if self.main_window is not None:
            for sig in ("framesChanged", "resultReady"):
                s = getattr(self.main_window, sig, None)
                if s is not None:
                    s.connect(self.refresh_sources)

    def _on_warm(self, *_a) -> None:
        self.is_warm = True
        plan, self._deferred = self._deferred, None
        if plan is not None:
            self._launch(plan)
        self.warmed.emit()

    # ------------------------------------------------------------- sources
    def current_frames(self) -> list[Frame]:
        """The main window's included exposures (aligned and darkest first once fused)."""
        w = self.main_window
        if w is None:
            return []
        res = w.result() if hasattr(w, "result") else None
        if res is not None and res.frames and len(res.frames) >= 2:
            return list(res.frames)
        return list(w.frames()) if hasattr(w, "frames") else []

    def current_files(self) -> list[Path]:
        frames = self.main_window.frames() if self.main_window is not None and hasattr(self.main_window, "frames") else []
        files = [Path(f.path) for f in frames]
        res = self.main_window.result() if self.main_window is not None and hasattr(self.main_window, "result") else None
        if res is not None and res.frames and {Path(f.path) for f in res.frames} == set(files):
            files = [Path(f.path) for f in res.frames]  # darkest first, as fused
        return [f for f in files if f.is_file()]

    def current_name(self) -> str:
        files = self.current_files()
        return files[0].parent.name if files else ""

    def refresh_sources(self, *_args) -> None:
        files = self.current_files()
        has = len(files) >= 2
        self.use_current.setEnabled(has)
        if has:
            self.current_info.setText(f"{self.current_name()} · {len(files)} exposures")
        else:
            self.current_info.setText("No bracket open" if self.main_window is not None else "No main window")
        self.current_info.setVisible(True)
        self._update_found()

    def folders_list(self) -> list[str]:
        return [self.folders.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.folders.count())]

    def add_folder(self, folder: str | os.PathLike) -> None:
        folder = str(Path(folder))
        if folder in self.folders_list():
            return
        item = QListWidgetItem(Path(folder).name or folder)
        item.setData(Qt.ItemDataRole.UserRole, folder)
        item.setToolTip(folder)
        self.folders.addItem(item)
        self._scan()

    def _browse_folder(self) -> None:
        start = str(Path(self.folders_list()[-1]).parent) if self.folders.count() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of brackets (or of mixed shots)", start)
        if folder:
            self.add_folder(folder)

    def _remove_folders(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))
        self._scan()

    def clear_folders(self) -> None:
        self.folders.clear()
        self._scan()

    def _scan(self) -> None:
        folders = self.folders_list()
        if not folders:
            self._scan_out = None
            self._update_found()
            return
        self.found_label.setText("Looking for brackets…")
        self.scan_runner.submit(scan_job, folders, label="Scan")

    _scan_out: ScanOutput | None = None

    def _on_scan(self, _rid: int, out: ScanOutput) -> None:
        self._scan_out = out
        self._update_found()

    def bracket_count(self) -> int:
        n = len(self._scan_out.brackets) if self._scan_out else 0
        if self.use_current.isChecked() and self.use_current.isEnabled():
            n += 1
        return n

    def _update_found(self) -> None:
        out = self._scan_out
        parts = []
        if out is not None:
            names = [n for n, _ in out.brackets]
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            parts.append(f"Found {len(names)} bracket{'s' if len(names) != 1 else ''} in the folders" + (f": {shown}" if names else ""))
            if out.skipped:
                parts.append(f"skipped {len(out.skipped)}: " + "; ".join(out.skipped[:2]))
        n = self.bracket_count()
        if n:
            held = max(1, round(n * self.val_share.value() / 100)) if n >= 2 else 0
            parts.append(f"{n} bracket{'s' if n != 1 else ''} in all; {held} held back to validate" if n >= 2 else
                         "One bracket is not enough to fine-tune (one is held back to validate): add a folder, or use Refine on the current bracket.")
        elif not self.folders.count():
            parts.append("Add folders of brackets, or a folder of mixed shots.")
        self.found_label.setText(". ".join(parts))
        if self._state in ("idle", "finished", "stopped", "failed"):
            self.start_button.setEnabled(n >= 2 or (self.folders.count() > 0 and out is None))

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

        current = self.main_window.model_path() if self.main_window is not None and hasattr(self.main_window, "model_path") else None
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
        return self._state in ("running", "paused", "stopping")

    def state(self) -> str:
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
        self._steps_total = req.steps
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
        self._rid = self.runner.submit(finetune_job, plan, self._holder, self.bridge.event.emit, preview=frames if len(frames) >= 2 else (), label="Fine-tuning")
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
        self.status.setText(f"Paused at step {self._step} of {self._steps_total}")

    def resume(self) -> None:
        """Continue a paused run."""
        if self._state != "paused":
            return
        self.runner.resume()
        self._set_state("running")
        self.status.setText(f"Step {self._step} of {self._steps_total}")

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
        self._step = 0
        self._loss = ([], [])
        self._val = ([], [])
        self._best = None
        self._val_names, self._train_names = [], []
        self._scene_files = {}
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

    def _set_state(self, state: str) -> None:
        self._state = state
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
        self.stateChanged.emit(state)

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
        if self._step == 0 and message:
            self.status.setText(message + "…")

    def _on_event(self, e: dict) -> None:
        kind = e.get("type")
        if kind == "scenes":
            self._scene_files = dict(e.get("files", {}))
            return
        if kind == "data":
            self._train_names, self._val_names = list(e.get("train", [])), list(e.get("val", []))
            val = ", ".join(f"<b>{n}</b>" for n in self._val_names) or "<i>none</i>"
            self.data_label.setText(
                f"Training on {len(self._train_names)} bracket{'s' if len(self._train_names) != 1 else ''}; "
                f"held back for validation (never trained on): {val}"
                + (f"<br><span style='color:{style.WARNING}'>{e['report']}</span>" if "skipped" in str(e.get("report", "")) else "")
            )
            if not self._val_names:
                self._show_message("No bracket could be held back for validation: add more brackets for a before/after score.", "warning")
            self.dataReady.emit(e)
            return
        if kind == "preview":
            self._on_preview(e["output"])
            return
        if kind == "preview_error":
            self.preview_caption.setText(f"Preview failed: {e['message']}")
            return
        if kind == "step":
            step = int(e["step"])
            self._step = step
            self._loss[0].append(step)
            self._loss[1].append(float(e["loss"]))
            self._schedule_redraw()
            total = self._steps_total or 1
            self.progress.setValue(int(1000 * step / total))
            if self._state == "running":
                self.status.setText(f"Step {step} of {total} · loss {float(e['loss']):.4f}")
            self.eta.setText(f"about {format_duration(float(e.get('eta_s', 0.0)))} left")
            self.stepped.emit(step)
            return
        if kind == "val":
            step, mean = int(e["step"]), float(e["mean"])
            self._val[0].append(step)
            self._val[1].append(mean)
            self._schedule_redraw()
            if step == 0:
                self.val_start_line.setPos(mean)
                self.val_start_line.setVisible(True)
            self.validated.emit(step, mean)
            return
        if kind == "best":
            self._best = float(e.get("score", 0.0))
            return
        if kind == "cancelled":
            self._step = int(e.get("step", self._step))
            return
        if kind == "done":
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
        xs, ys = self._loss
        self.loss_raw_curve.setData(xs, ys)
        smooth, acc = [], None
        for y in ys:  # exponential moving average: the trend through the noise of random crops
            acc = y if acc is None else 0.85 * acc + 0.15 * y
            smooth.append(acc)
        self.loss_curve.setData(xs, smooth)
        self.val_curve.setData(self._val[0], self._val[1])
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
        step = outcome.step if outcome else self._step
        run = self.run_dir()
        has_best = outcome is not None and outcome.best_path is not None
        self.status.setText(f"Stopped at step {step} of {self._steps_total}")
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
        files = self._scene_files.get(name, [])
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

    # ----------------------------------------------------- window closing
    def confirm_stop(self) -> bool:
        """Ask whether to stop a running fine-tune (tests replace this)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Stop fine-tuning?")
        box.setText(f"Fine-tuning is running (step {self._step} of {self._steps_total}).")
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
