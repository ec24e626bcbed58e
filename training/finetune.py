"""Fine-tuning on a user's photos, and one-bracket refinement (test-time adaptation).

Both use the training loop's objective; both keep the starting model unless
the new weights score better, so they never make things worse on the data
they were judged on.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GAMMA_VARIANTS, GammaParams
from hdrdesk.errors import InputError
from hdrdesk.tasks import TaskState, null_task
from hdrdesk.training.config import TrainConfig


@dataclass
class FinetuneRequest:
    folders: list[str]
    init: str = "default"  # default | model path
    steps: int = 200
    lr: float = 2e-4
    gamma: str | None = None  # None: the starting model's (its card's ``gamma``), see starting_model_gamma
    gamma_window: int = 11
    gamma_alpha: float = 0.5
    val_fraction: float = 0.25
    crop: int = 128
    frames_per_batch: int = 16
    name: str | None = None
    device: str | None = None
    out_dir: str | None = None  # run folder (default: user data folder/runs/<name>)
    save: bool = True  # CLI saves into the model folder; the GUI asks first ('Keep as...')
    val_every: int = 0  # 0: at the end only (and at the start)
    val_max_side: int = 0  # validate at this short side at most (0: full resolution)
    threads: int = 0  # torch threads (0: leave torch's default)
    seed: int = 0
    log_every: int = 0  # loss events every N steps (0: about 20 per run)


@dataclass
class FinetuneOutcome:
    name: str
    run_dir: Path
    best_path: Path | None
    saved_path: Path | None
    before: dict | None
    after: dict | None
    val_scenes: list[str] = field(default_factory=list)
    train_scenes: list[str] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    step: int = 0
    card: dict = field(default_factory=dict)  # what 'Keep as...' writes next to the model

    def summary(self) -> str:
        lines = [f"fine-tuned model: {self.name}"]
        if self.val_scenes:
            lines.append("held back for validation: " + ", ".join(self.val_scenes))
        if self.before and self.after:
            lines.append(f"validation MEF-SSIM: before {self.before['mean']:.4f}, after {self.after['mean']:.4f}")
            for track in ("pair", "seq"):
                for scene, q in (self.after.get("per_scene", {}).get(track, {}) or {}).items():
                    b = self.before["per_scene"][track][scene]
                    lines.append(f"  {track:4} {scene}: {b:.4f} -> {q:.4f}")
        if self.saved_path:
            lines.append(f"saved: {self.saved_path}")
        lines.append(f"time: {self.seconds:.0f} s")
        return "\n".join(lines)


def starting_model_gamma(init: str | None) -> str:
    """The gamma variant the starting model was trained with (its card), so fine-tuning and
    Refine keep its objective; the shipped default when the card does not say."""
    from hdrdesk.core.model import load_model
    from hdrdesk.paths import default_model_path

    path = default_model_path() if init in (None, "", "default") else Path(init)
    try:
        _, card = load_model(path)
    except Exception:  # noqa: BLE001 - a bad model is reported by training itself
        return DEFAULT_GAMMA_VARIANT
    return gamma_from_card(card)


def gamma_from_card(card: dict | None) -> str:
    """The gamma variant a model card records (``gamma``, or its training config's), else the shipped default."""
    card = card or {}
    gamma = card.get("gamma") or (card.get("config") or {}).get("gamma")
    return gamma if gamma in GAMMA_VARIANTS else DEFAULT_GAMMA_VARIANT


def finetune_config(req: FinetuneRequest) -> TrainConfig:
    from hdrdesk.paths import user_data_dir

    name = req.name or datetime.now().strftime("finetune-%Y%m%d-%H%M%S")
    init = req.init
    return TrainConfig(
        data=list(req.folders), val_scenes=None, val_fraction=req.val_fraction, crop=req.crop,
        frames_per_batch=req.frames_per_batch, gamma=req.gamma or starting_model_gamma(init), gamma_window=req.gamma_window,
        gamma_alpha=req.gamma_alpha, init=init, steps=req.steps, lr=req.lr, schedule="constant", warmup=0,
        device=req.device or "auto", out=req.out_dir or str(_fresh_run_dir(user_data_dir() / "runs", name)),
        val_every=req.val_every or req.steps, name=name, log_every=req.log_every or max(1, min(10, req.steps // 20 or 1)),
        val_max_side=req.val_max_side, threads=req.threads, seed=req.seed,
    )


def _fresh_run_dir(root: Path, name: str) -> Path:
    """``root/name``, or ``root/name-2``... when that already holds a run (never replaced silently)."""
    cand, i = root / name, 2
    while cand.exists():
        cand, i = root / f"{name}-{i}", i + 1
    return cand


RUN_INFO = "finetune.json"  # in the run folder: the starting model's scores and the split, for resume


def run_finetune(
    req: FinetuneRequest, task: TaskState | None = None, on_event: Callable[[dict], None] | None = None, resume: bool = False
) -> FinetuneOutcome:
    """Fine-tune, validate on held-back brackets, and (if ``req.save``) store the best model.

    ``resume``: continue a stopped run in ``req.out_dir`` from its last checkpoint (the
    request must name the same run folder and settings). A cancelled run returns an
    outcome with ``cancelled=True``; its best checkpoint is kept in the run folder.
    """
    import json

    from hdrdesk.core.io import atomic_write_bytes
    from hdrdesk.core.model import load_model
    from hdrdesk.training.loop import train

    cfg = finetune_config(req)
    if resume and not req.out_dir:
        raise InputError("resuming needs the run folder of the stopped run")
    t0 = time.perf_counter()
    names: dict[str, list[str]] = {}
    info_path = Path(cfg.out) / RUN_INFO
    saved_info: dict = {}
    if resume and info_path.is_file():
        try:
            saved_info = json.loads(info_path.read_text())
        except (OSError, ValueError):
            saved_info = {}

    def relay(e: dict) -> None:
        if e["type"] == "data":
            names["train"], names["val"] = e["train"], e["val"]
        if on_event:
            on_event(e)

    result = train(cfg, task=task, on_event=relay, resume=resume)
    before = result.initial_scores if result.initial_scores is not None else saved_info.get("before")
    try:  # remember the starting scores: a resumed run does not score the starting model again
        info = {"name": cfg.name, "before": before, "train": names.get("train", []), "val": names.get("val", [])}
        atomic_write_bytes(info_path, json.dumps(info, indent=1).encode(), overwrite=True)
    except Exception:  # noqa: BLE001 - bookkeeping only
        pass
    after = result.final_scores
    best_step = result.step
    if result.best_path is not None:
        try:
            ck = torch.load(result.best_path, map_location="cpu", weights_only=True)
            after = ck.get("scores", after)
            best_step = int(ck.get("step", best_step))
        except Exception:  # noqa: BLE001
            pass
    card = finetune_card(cfg, before, after, names, best_step)
    saved = None
    if req.save and result.best_path is not None and not result.cancelled:
        from hdrdesk.model_store import save_model

        model, _ = load_model(result.best_path)
        saved = save_model(model, cfg.name, card)
    return FinetuneOutcome(cfg.name, Path(cfg.out), result.best_path, saved, before, after,
                           names.get("val", []), names.get("train", []), result.cancelled, time.perf_counter() - t0,
                           result.step, card)


def keep_finetuned(outcome: FinetuneOutcome, name: str, folder: Path | None = None, overwrite: bool = False) -> Path:
    """'Keep as...': store the run's best model under ``name`` in the user's models (atomic)."""
    from hdrdesk.core.model import load_model
    from hdrdesk.model_store import save_model

    if outcome.best_path is None or not Path(outcome.best_path).is_file():
        raise InputError("this run has no model to keep")
    model, _ = load_model(outcome.best_path)
    return save_model(model, name, dict(outcome.card), folder, overwrite)


def finetune_card(cfg: TrainConfig, before: dict | None, after: dict | None, names: dict, step: int) -> dict:
    strip = lambda s: {k: v for k, v in (s or {}).items() if k != "per_scene"} or None  # noqa: E731
    return {
        "base": cfg.init, "data": cfg.data, "train_brackets": names.get("train", []), "val_brackets": names.get("val", []),
        "steps": cfg.steps, "best_step": step, "lr": cfg.lr, "gamma": cfg.gamma,
        "scores_before": strip(before), "scores": strip(after),
    }


# ------------------------------------------------------------------ refine one bracket


@dataclass
class RefineOutcome:
    model: torch.nn.Module  # the refined copy (or the original when discarded)
    before: float
    after: float  # score of the returned model (equals ``before`` when discarded)
    kept: bool
    steps: int
    seconds: float
    candidate: float | None = None  # what the refined copy scored, kept or not (shows why it was discarded)


def _bracket_luma(frames_rgb: Sequence[np.ndarray], size: int) -> np.ndarray:
    from hdrdesk.core.color import luma

    out = []
    for rgb in frames_rgb:
        y = luma(rgb)
        h, w = y.shape
        if min(h, w) > size:
            s = size / min(h, w)
            y = cv2.resize(y, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        out.append(y)
    return np.stack(out)


def _resize_short_side(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) <= side:
        return img
    s = side / min(h, w)
    return cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)


def refine_bracket(
    model: torch.nn.Module,
    frames_rgb: Sequence[np.ndarray],
    steps: int = 40,
    seconds: float = 20.0,
    lr: float | None = None,
    gamma: GammaParams | None = None,
    score_size: int = 512,
    task: TaskState | None = None,
    on_event: Callable[[dict], None] | None = None,
) -> RefineOutcome:
    """Adapt a copy of ``model`` to one bracket (float RGB frames, darkest first) for a few seconds
    (``seconds`` in all, scoring before and after included; ``steps`` steps at most).

    The bracket's MEF-SSIM (at ``score_size`` short side) is measured before and after; a
    refinement that does not raise it is discarded and the original model returned.
    ``gamma`` None: the objective's gamma from the model's card (``model.card``, when the
    loader attached one), else the shipped default.
    """
    from hdrdesk.core.io import to_uint
    from hdrdesk.training.data import CropSampler, Scene
    from hdrdesk.training.loop import make_optimizer, optimizer_step
    from hdrdesk.training.objective import Objective
    from hdrdesk.core.fusion import is_spd_model
    from hdrdesk.training.validate import Validator, make_case

    task = task or null_task()
    if len(frames_rgb) < 2:
        raise InputError("refining needs a bracket of two or more exposures")
    t0 = time.perf_counter()
    small = []
    for rgb in frames_rgb:
        h, w = rgb.shape[:2]
        s = min(1.0, score_size / min(h, w))
        small.append(to_uint(cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else rgb, 8))
    case = make_case("bracket", "seq", small)
    scorer = Validator([], (), working_size=score_size)  # the validation's scoring: the app's fusion path, 8-bit MEF-SSIM

    def score(m: torch.nn.Module) -> float:
        m.eval()
        return scorer.score_case(m, case)

    t_score = time.perf_counter()
    before = score(model)
    # ``seconds`` bounds the whole refinement: the score after costs about what the score before did
    budget = seconds - 2.0 * (time.perf_counter() - t_score) - (t_score - t0)
    t_train = time.perf_counter()
    work = copy.deepcopy(model).cpu().train()
    if gamma is None:
        gamma = GammaParams.for_window(gamma_from_card(getattr(model, "card", None)))
    if is_spd_model(model):  # v2: whole (small) bracket in colour, the spd objective
        from hdrdesk.training.data import WholeSceneSampler
        from hdrdesk.training.objective import SPDObjective

        train_side = min(256, min(small[0].shape[:2]))  # training copies: small, so that steps are fast
        stack = np.stack([_resize_short_side(x, train_side) for x in small])
        if min(stack.shape[1:3]) < 32:
            raise InputError("the bracket is too small to refine on (at least 32 pixels a side)")
        scene = Scene("bracket", [], None, rgb=stack)
        sampler = WholeSceneSampler([scene], 0, 1, stack.shape[0], 0.0, 0.8, 0)
        objective = SPDObjective(gamma, 0.2, 1.0, 1e-3, getattr(model.config, "working_size", 0) or 256)
    else:
        luma_stack = _bracket_luma(frames_rgb, score_size)
        crop = min(128, min(luma_stack.shape[1:]) // 16 * 16)
        if crop < 32:
            raise InputError("the bracket is too small to refine on (at least 32 pixels a side)")
        sampler = CropSampler([Scene("bracket", [], None, luma_stack)], crop, 16, luma_stack.shape[0], 0.0, 0.7, 0)
        sampler.max_exposures = luma_stack.shape[0]
        objective = Objective(gamma, 1.0, 1.0, 0.3)
    if lr is None:  # v2 heads start near zero and need larger steps to move within a few seconds
        lr = 1e-3 if is_spd_model(model) else 3e-4
    opt = make_optimizer(work, lr)  # the training loop's optimiser and step (gradient clipping included)
    done = 0
    for done in range(1, steps + 1):
        task.check()
        y = sampler.sample()
        loss, terms = objective(work, y)
        if not torch.isfinite(loss):
            break
        optimizer_step(work, opt, loss, TrainConfig.grad_clip)
        task.report(done / steps, f"refining: step {done}/{steps}")
        if on_event:
            on_event({"type": "step", "step": done, "loss": float(loss.detach()), **terms})
        if time.perf_counter() - t_train > budget:
            break
    work.eval()
    after = score(work)
    kept = after > before
    return RefineOutcome(work if kept else model, before, after if kept else before, kept, done, time.perf_counter() - t0, after)
