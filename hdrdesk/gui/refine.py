"""'Refine this bracket': a few seconds of unsupervised adaptation to the bracket on screen,
then the bracket is fused again with the refinement; Revert and Apply switch between the two.

v2 models (the shipped default): :func:`hdrdesk.training.refine.refine_logits` learns a coarse
residual of the network's logits for this bracket alone (the model itself is not changed; the
refinement applies to this bracket only). v1 models: :func:`hdrdesk.training.finetune.refine_bracket`
fine-tunes a copy of the network, which 'Keep as...' can store. Either way a refinement that does
not raise the bracket's MEF-SSIM is discarded; the dialog says so and shows both scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget

from hdrdesk.core.io import Frame
from hdrdesk.gui import style
from hdrdesk.gui.finetune_jobs import PREVIEW_LONG, small_frames
from hdrdesk.gui.tool_widgets import ImageView, unique_model_name
from hdrdesk.gui.style import PRIMARY_DISABLED_CSS
from hdrdesk.gui.host import BracketHost
from hdrdesk.gui.imaging import qimage_copy, to_uint8
from hdrdesk.gui.workers import JobError, JobRunner
from hdrdesk.tasks import TaskState

REFINE_STEPS = 60  # v1 fine-tuning: steps at most
REFINE_SECONDS = 9.0  # the whole refinement, scoring included (issue 11: at most 10 s)
SCORE_SIZE = 512  # v1: refine_bracket works and scores at this short side (v2: refine_logits picks its own)


@dataclass
class RefineOutput:
    model: object  # the refined copy, or the original model when discarded
    base_name: str
    before: float
    after: float
    candidate: float | None
    kept: bool
    steps: int
    seconds: float
    before_image: QImage
    after_image: QImage | None
    bracket: str
    per_bracket: bool = False  # a logit residual for this bracket (v2), not a model to keep
    score_side: int = SCORE_SIZE


def _reduced_rgb(frames: Sequence[Frame], short: int = SCORE_SIZE) -> list[np.ndarray]:
    out = []
    for f in frames:
        rgb = f.rgb_float()
        h, w = rgb.shape[:2]
        s = short / min(h, w)
        if s < 1.0:
            rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        out.append(rgb)
    return out


def refine_job(frames: Sequence[Frame], model_path: Path | None, steps: int, seconds: float, task: TaskState) -> RefineOutput:
    """Refine the model's fusion of ``frames`` (aligned, darkest first) and fuse a preview with both."""
    from hdrdesk.core.fusion import FusionOptions, fuse_frames, get_model, is_spd_model
    from hdrdesk.core.gamma import GammaParams
    from hdrdesk.training.finetune import gamma_from_card, refine_bracket
    from hdrdesk.training.refine import refine_logits

    task.report(0.02, "Loading the model")
    model, card, _dev = get_model(model_path, torch_only=True)  # refined: needs the torch module
    base_name = str(card.get("name") or (Path(model_path).stem if model_path else "default"))
    task.report(0.05, "Refining on this bracket")
    per_bracket = is_spd_model(model)
    if per_bracket:  # v2: a residual of the logits, for this bracket
        out = refine_logits(model, [f.data for f in frames], seconds=seconds, task=task.sub(0.05, 0.85))
        score_side = out.score_side
    else:  # v1: refine_bracket works at SCORE_SIZE anyway: hand it reduced frames (bounded memory on big photos)
        gamma = GammaParams.for_window(gamma_from_card(card))  # the objective the model was trained with
        out = refine_bracket(model, _reduced_rgb(frames), steps=steps, seconds=seconds, gamma=gamma, score_size=SCORE_SIZE, task=task.sub(0.05, 0.85))
        score_side = SCORE_SIZE
    refined = out.model
    if out.kept:
        refined.card = {**dict(card), "name": f"{base_name} (refined on this bracket)" if per_bracket else f"{base_name} (refined, not saved)"}
    task.report(0.9, "Fusing the comparison")
    small = small_frames(frames, PREVIEW_LONG)
    opts = FusionOptions(method="cnn", working_size=PREVIEW_LONG, align=False, keep_weights=False)
    before_img = qimage_copy(to_uint8(fuse_frames(small, opts, model=model).image))
    after_img = qimage_copy(to_uint8(fuse_frames(small, opts, model=refined).image)) if out.kept else None
    name = Path(frames[0].path).parent.name if frames else "bracket"
    task.report(1.0, "Refined")
    return RefineOutput(refined, base_name, out.before, out.after, out.candidate, out.kept, out.steps, out.seconds, before_img, after_img, name,
                        per_bracket, score_side)


class RefineDialog(QDialog):
    """Runs the refinement of the main window's bracket and shows the outcome."""

    finished = Signal(object)  # RefineOutput
    failed = Signal(str)
    modelKept = Signal(object)  # Path

    def __init__(self, window: BracketHost | None, parent: QWidget | None = None, steps: int = REFINE_STEPS, seconds: float = REFINE_SECONDS) -> None:
        super().__init__(parent or window)
        self.main_window = window
        self.steps, self.seconds = steps, seconds
        self.setWindowTitle("Refine this bracket")
        self.setModal(False)
        self.setStyleSheet(PRIMARY_DISABLED_CSS)
        self.runner = JobRunner("refine", getattr(window, "job_pool", None), latest_wins=True, parent=self)
        self._out: RefineOutput | None = None
        self._kept: Path | None = None
        self._applied = False  # the main window shows the refined fusion

        self.status = QLabel("")
        f = self.status.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() + 1)
        self.status.setFont(f)
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.scores = QLabel("")
        self.scores.setWordWrap(True)
        self.scores.setTextFormat(Qt.TextFormat.RichText)
        self.before_view = ImageView("Current model", "…")
        self.after_view = ImageView("Refined", "…")
        views = QHBoxLayout()
        views.setSpacing(4)
        views.addWidget(self.before_view)
        views.addWidget(self.after_view)
        self.name = QLineEdit()
        self.name.setPlaceholderText("Name of the refined model")
        self.keep_button = QPushButton("Keep as…")
        self.keep_button.setProperty("primary", True)
        self.keep_button.setToolTip("Store the refined copy in your models and fuse with it")
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Fuse with the stored model again; 'Apply' brings the refinement back")
        self.again_button = QPushButton("Refine Again")
        self.close_button = QPushButton("Close")
        row = QHBoxLayout()
        row.addWidget(self.name, 1)
        row.addWidget(self.keep_button)
        row.addWidget(self.revert_button)
        row.addWidget(self.again_button)
        row.addWidget(self.close_button)
        self.note = QLabel(
            f"For up to {self.seconds:g} seconds the fusion adapts to this bracket alone (unsupervised; MEF-SSIM of the bracket, or of a "
            "copy of about 1 megapixel for larger photos). "
            "Your stored model is not changed."
        )
        self.note.setProperty("dim", True)
        self.note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.status)
        lay.addWidget(self.progress)
        lay.addWidget(self.scores)
        lay.addLayout(views, 1)
        lay.addWidget(self.note)
        lay.addLayout(row)
        self.resize(760, 480)

        self.runner.progress.connect(lambda _r, f, m: (self.progress.setValue(int(f * 1000)), m and self.status.setText(m + "…")))
        self.runner.result.connect(self._on_result)
        self.runner.error.connect(self._on_error)
        self.runner.cancelled.connect(lambda _r: self._set_idle("Refinement cancelled"))
        self.keep_button.clicked.connect(lambda: self.keep_as())
        self.revert_button.clicked.connect(self._revert_or_apply)
        self.again_button.clicked.connect(lambda: self.start())
        self.close_button.clicked.connect(self.close)
        self._set_buttons(False)

    def _set_buttons(self, done: bool) -> None:
        out = self._out
        kept = bool(done and out is not None and out.kept)
        keepable = kept and not out.per_bracket and self._kept is None  # a v1 model copy can be stored
        self.keep_button.setVisible(out is None or not out.per_bracket)
        self.name.setVisible(out is None or not out.per_bracket)
        self.keep_button.setEnabled(keepable)
        self.name.setEnabled(keepable)
        self.revert_button.setEnabled(kept and self._kept is None)
        self.revert_button.setText("Revert" if self._applied or not kept else "Apply")
        self.again_button.setEnabled(done or self._out is None and not self.runner.is_busy())

    def _set_idle(self, text: str) -> None:
        self.status.setText(text)
        self._set_buttons(True)

    def start(self) -> int:
        """Refine the main window's current bracket. Returns the job id (0: nothing to refine)."""
        w = self.main_window
        res = w.result() if w is not None else None
        frames = list(res.frames) if res is not None and len(res.frames) >= 2 else list(w.frames() if w is not None else [])
        if len(frames) < 2:
            self.status.setText("Open a bracket of two or more exposures first.")
            return 0
        self._out, self._kept, self._applied = None, None, False
        self.before_view.set_image(None, "Current model")
        self.after_view.set_image(None, "Refined")
        self.after_view.placeholder = "…"
        self.scores.setText("")
        self.progress.setValue(0)
        self.status.setText(f"Refining on {frames[0].path.parent.name}…")
        self._set_buttons(False)
        self.again_button.setEnabled(False)
        return self.runner.submit(refine_job, frames, w.model_path(), self.steps, self.seconds, label="Refine")

    def output(self) -> RefineOutput | None:
        return self._out

    def _on_result(self, _rid: int, out: RefineOutput) -> None:
        self._out = out
        self.progress.setValue(1000)
        d = (out.candidate if out.candidate is not None else out.after) - out.before
        if out.kept:
            self.status.setText(f"Refined in {out.seconds:.1f} s ({out.steps} steps): MEF-SSIM {out.before:.4f} → {out.after:.4f}")
            what = (f"the refinement of “{out.base_name}” for this bracket; Revert and Apply switch between the two"
                    if out.per_bracket else f"the refined copy of “{out.base_name}”; keep it to use it again, or revert")
            self.scores.setText(
                f"<span style='color:#7cc47f'>▲ {d:+.4f}</span> on {out.bracket} (MEF-SSIM at {out.score_side} px). "
                f"The bracket on screen is now fused with {what}."
            )
            self.after_view.set_image(out.after_image, f"Refined · {out.after:.4f}")
            self.name.setText(unique_model_name(f"{out.bracket}-refined"))
            self.apply()
        else:
            cand = f"{out.candidate:.4f}" if out.candidate is not None else "no better"
            self.status.setText(f"Refinement discarded: it did not raise the score ({out.before:.4f} → {cand})")
            self.scores.setText(
                f"<span style='color:{style.WARNING}'>▼ {d:+.4f}</span> The refined copy scored lower than the current model on "
                f"{out.bracket}, so it was discarded automatically; the current model and the result on screen are unchanged."
            )
            self.after_view.set_image(None, "Refined · discarded")
            self.after_view.placeholder = "Discarded: it scored lower"
        self.before_view.set_image(out.before_image, f"Current model · {out.before:.4f}")
        self._set_buttons(True)
        self.finished.emit(out)

    def _on_error(self, _rid: int, err: JobError) -> None:
        self.status.setText(f"Refinement failed: {err.message()}")
        self._set_buttons(True)
        self.failed.emit(err.message())

    def keep_as(self, name: str | None = None) -> Path | None:
        from hdrdesk.errors import HDRDeskError
        from hdrdesk.model_store import save_model

        out = self._out
        if out is None or not out.kept or self._kept is not None:
            return None
        name = (name or self.name.text()).strip()
        w = self.main_window
        base = str(w.model_path()) if w is not None and w.model_path() else "default"
        card = {
            "kind": "refined", "base": base, "refined_on": out.bracket, "steps": out.steps,
            "scores_before": {"bracket": out.before}, "scores": {"bracket": out.after},
        }
        try:
            path = save_model(out.model, name, card)
        except HDRDeskError as exc:
            self.scores.setText(f"<span style='color:{style.ERROR}'>Not kept: {exc}</span>")
            return None
        self._kept = path
        self.status.setText(f"Kept as “{path.stem}”: the main window now fuses with it")
        self._set_buttons(True)
        if w is not None:
            w.refresh_model_choices()
            w.set_model_path(path)
        self.modelKept.emit(path)
        return path

    def apply(self) -> int:
        """Fuse the main window's bracket with the refinement (again). Returns the fusion's request id."""
        out, w = self._out, self.main_window
        if out is None or not out.kept or w is None:
            return 0
        self._applied = True
        self._set_buttons(True)
        return w.fuse_with_model(out.model, label="Fusing with the refinement")

    def _revert_or_apply(self) -> None:
        if self._applied:
            self.revert()
        elif self.apply():
            self.status.setText("Applied the refinement again")

    def revert(self) -> None:
        """Fuse with the stored model again (the refinement stays here: Apply brings it back)."""
        w = self.main_window
        if w is not None:
            w.request_fusion()
        self._applied = False
        self.status.setText("Reverted: fused with the stored model again")
        self._set_buttons(True)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.runner.cancel()
        super().closeEvent(event)
