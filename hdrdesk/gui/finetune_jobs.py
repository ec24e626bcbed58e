"""The Fine-tune panel's worker side: scanning folders, the warm-up, the training job with its
previews, and the before/after comparison. Plain functions run by JobRunners; the training
job hands its events to the panel through ``TaskState.publish``.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtGui import QImage

from hdrdesk.core.io import Frame
from hdrdesk.gui.imaging import downscale, qimage_copy, to_uint8
from hdrdesk.tasks import TaskState
from hdrdesk.training.finetune import FinetuneOutcome, FinetuneRequest

PREVIEW_LONG = 480  # long side of the preview bracket


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
    from hdrdesk.training.objective import Objective, SPDObjective

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
    # one step of each kind of model: v1 (pyramid) and the shipped kind (spd, with its mix head and whole-bracket
    # branch), whose objective runs other ops (their first calls are slow too)
    spd = NetConfig(widths=(4, 8), fusion="spd", working_size=32, extra_levels=1, coarse_mix=0.25, learned_mix=True, global_context=True)
    for config, objective, batch in (
        (NetConfig(widths=(4, 8)), Objective(GammaParams(), 1.0, 1.0, 0.5), torch.rand(1, 2, 64, 64)),
        (spd, SPDObjective(GammaParams.for_window("variance", 11, 0.5), working_size=32), torch.rand(1, 2, 3, 64, 64)),
    ):
        net = FusionNet(config)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        loss, _terms = objective(net, batch)
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


def finetune_job(plan: RunPlan, holder: _Holder, task: TaskState, preview: Sequence[Frame] = ()) -> FinetuneOutcome:
    """Run :func:`run_finetune` and publish its events (``task.publish``: the runner's ``partial``
    signal); also make the previews, on this same thread.

    ``preview``: the bracket to preview (the current one, full size); without it, the first
    held-back bracket. A preview is made with the starting model, then each time the loop
    writes a checkpoint (``last.pt``), right here between two steps: fusing on another worker
    at the same time would make two threads compete for the interpreter lock with the UI.
    """
    from hdrdesk.training.data import discover_scenes
    from hdrdesk.training.finetune import run_finetune

    emit = task.publish
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


def is_warm() -> bool:
    """Whether :func:`warm_up_job` has run in this process."""
    return _WARM
