"""The training loop (nanoGPT-style): config in, one checkpoint dict out, resume, keep the best.

Runs the same from the CLI, the GUI (a worker thread passing a TaskState and
an event callback) and tests. Under ``torchrun`` it uses
DistributedDataParallel (gloo on CPU, NCCL on GPUs) with no code changes.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from hdrdesk import __version__
from hdrdesk.core.device import pick_device
from hdrdesk.core.gamma import GammaParams
from hdrdesk.core.io import atomic_write_bytes
from hdrdesk.core.model import ARCHES, FusionNet, NetConfig, load_model
from hdrdesk.errors import Cancelled, HDRDeskError, InputError, ModelError, OutputError
from hdrdesk.tasks import TaskState, null_task
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.data import CropSampler, DataReport, WholeSceneSampler, discover_scenes, load_scenes, read_scene_list
from hdrdesk.training.distill import DistillObjective, DistillSampler, load_targets
from hdrdesk.training.objective import Objective, SPDObjective

EventCallback = Callable[[dict], None]


class TrainingError(HDRDeskError):
    """Training stopped on a fault (NaN loss, out of memory); the last good checkpoint is kept."""


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    best_score: float | None
    best_path: Path | None
    last_path: Path
    initial_scores: dict | None = None
    final_scores: dict | None = None
    history: list[dict] = field(default_factory=list)
    cancelled: bool = False
    model: torch.nn.Module | None = None  # the trained weights in memory (last step)


# ------------------------------------------------------------------ helpers


def _dist() -> tuple[bool, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world > 1, int(os.environ.get("RANK", "0")), world


def lr_at(cfg: TrainConfig, step: int) -> float:
    if cfg.schedule == "constant":
        return cfg.lr
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * min(1.0, t)))


def save_checkpoint(path: Path, ckpt: dict) -> Path:
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return atomic_write_bytes(path, buf.getvalue(), overwrite=True)


def export_model(path: Path, model: FusionNet, card: dict | None = None, overwrite: bool = True) -> Path:
    """A stand-alone model file (weights and a card, no optimizer): what the app loads."""
    buf = io.BytesIO()
    torch.save({"arch": model.config.arch, "net_config": model.config.to_dict(), "model": model.state_dict(), **(card or {})}, buf)
    return atomic_write_bytes(path, buf.getvalue(), overwrite=overwrite)


def load_checkpoint(path: Path) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("arch") not in ARCHES:
        raise ModelError(f"{path}: checkpoint of another architecture ({ckpt.get('arch') if isinstance(ckpt, dict) else type(ckpt).__name__})")
    return ckpt


def _rng_state(sampler: CropSampler) -> dict:
    v, state, gauss = sampler.rng.getstate()
    return {"py": [v, list(state), gauss], "torch": torch.get_rng_state()}


def _set_rng_state(sampler: CropSampler, st: dict) -> None:
    v, state, gauss = st["py"]
    sampler.rng.setstate((v, tuple(state), gauss))
    torch.set_rng_state(st["torch"])


def initial_model(cfg: TrainConfig) -> FusionNet:
    if cfg.init == "scratch":
        if cfg.fusion == "spd":
            return FusionNet(NetConfig(widths=tuple(cfg.widths), exposedness_prior=False, fusion="spd", working_size=cfg.net_working_size,
                                       extra_levels=max(0, cfg.extra_levels), global_context=cfg.global_context,
                                       coarse_mix=max(0.0, cfg.coarse_mix)))
        return FusionNet(NetConfig(widths=tuple(cfg.widths)))
    from hdrdesk.paths import default_model_path

    path = default_model_path() if cfg.init == "default" else Path(cfg.init)
    model, _ = load_model(path)
    if model.config.fusion == "spd" and cfg.extra_levels >= 0 and cfg.extra_levels != model.config.extra_levels:
        model.config = dataclasses.replace(model.config, extra_levels=cfg.extra_levels)  # same weights, deeper decomposition
    if model.config.fusion == "spd" and cfg.coarse_mix >= 0 and cfg.coarse_mix != model.config.coarse_mix:
        model.config = dataclasses.replace(model.config, coarse_mix=cfg.coarse_mix)  # same weights, another base mix
    if model.config.fusion == "spd" and cfg.learned_mix and not model.config.learned_mix:
        start = min(max(model.config.coarse_mix, 1e-3), 1 - 1e-3)
        model = _grown(model, path, "the learned mix", "mix_head.", learned_mix=True)
        with torch.no_grad():
            model.mix_head.weight.zero_()
            model.mix_head.bias.fill_(math.log(start / (1 - start)))  # the mix starts as the constant
    if model.config.fusion == "spd" and cfg.global_context and not model.config.global_context:
        # the starting weights plus a whole-bracket branch that starts at zero: the same function
        model = _grown(model, path, "the whole-bracket branch", "context.", global_context=True)
    return model


def _grown(model: FusionNet, path: Path, what: str, prefix: str, **part: bool) -> FusionNet:
    """``model`` with a new part switched on in its config (its parameters named ``prefix``...), all its own
    weights kept; the new part keeps its initial weights."""
    grown = FusionNet(dataclasses.replace(model.config, **part))
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    if unexpected or any(not name.startswith(prefix) for name in missing):
        raise ModelError(f"{path}: cannot add {what} to this model")
    return grown.eval()


def keep_reference(cfg: TrainConfig, model: FusionNet) -> FusionNet | None:
    """The frozen model whose pictures of two-frame brackets ``w_keep_pair`` holds the run to (None when off)."""
    if not cfg.w_keep_pair:
        return None
    from hdrdesk.paths import default_model_path

    ref, _ = load_model(default_model_path() if cfg.keep_model == "default" else Path(cfg.keep_model))
    if ref.config.fusion != "spd":
        raise InputError(f"keep_model {cfg.keep_model}: not an spd model; the pair term compares spd fusions")
    return ref.to(next(model.parameters()).device)


def prepare_data(cfg: TrainConfig, report: DataReport | None = None) -> tuple[list, list]:
    """Training and validation scenes (validation never trained on)."""
    report = report or DataReport()
    if not cfg.data:
        raise InputError("no training data given (--data DIR)")
    val_names: list[str] = []
    val_file = cfg.val_scenes
    if val_file is None:
        for d in cfg.data:
            cand = Path(d) / "val_scenes.txt"
            if cand.is_file():
                val_file = str(cand)
                break
    if val_file:
        if not Path(val_file).is_file():
            raise InputError(f"{val_file}: validation list not found")
        val_names = read_scene_list(val_file)
    train_sc = discover_scenes(cfg.data, exclude=val_names, report=report)
    if val_names:
        val_sc = discover_scenes([cfg.val_root] if cfg.val_root else cfg.data, only=val_names)
        if not val_sc:
            raise InputError(f"{val_file}: none of its {len(val_names)} validation scenes is in " + ", ".join(cfg.data))
        val_sc = load_scenes(val_sc, 0)
    else:
        rng = random.Random(cfg.seed)
        n_val = max(1, round(len(train_sc) * cfg.val_fraction)) if cfg.val_fraction > 0 and len(train_sc) > 1 else 0
        order = list(range(len(train_sc)))
        rng.shuffle(order)
        held = set(order[:n_val])
        val_sc = load_scenes([s for i, s in enumerate(train_sc) if i in held], 0)
        train_sc = [s for i, s in enumerate(train_sc) if i not in held]
    if not cfg.distill:  # a distillation run trains on its targets: the brackets' pixels are not needed
        train_sc = load_scenes(train_sc, cfg.max_side, report, colour=cfg.fusion == "spd")
    if not train_sc:
        raise InputError("no usable training brackets found in " + ", ".join(cfg.data) + (f" ({report.summary()})" if report.skipped else ""))
    return train_sc, val_sc



RUN_FILES = ("last.pt", "best.pt", "log.csv")  # what a run folder holds (what a new run would replace)


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings that cannot train (one-line :class:`InputError`), before any work."""
    from hdrdesk.core.gamma import GAMMA_VARIANTS

    def need(ok: bool, what: str, value) -> None:
        if not ok:
            raise InputError(f"{what} (got {value!r})")

    def is_int(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_num(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    need(is_int(cfg.steps) and cfg.steps >= 1, "steps must be at least 1", cfg.steps)
    need(is_int(cfg.crop) and cfg.crop >= 16, "crop must be at least 16 pixels", cfg.crop)
    need(is_int(cfg.frames_per_batch) and cfg.frames_per_batch >= 2, "frames_per_batch must be at least 2", cfg.frames_per_batch)
    need(is_int(cfg.max_exposures) and cfg.max_exposures >= 2, "max_exposures must be at least 2", cfg.max_exposures)
    need(is_int(cfg.accum) and cfg.accum >= 1, "accum must be a whole number of at least 1", cfg.accum)
    need(is_int(cfg.max_side) and cfg.max_side >= cfg.crop, "max_side must be at least the crop size", cfg.max_side)
    need(is_num(cfg.lr) and cfg.lr > 0, "lr must be a positive number", cfg.lr)
    need(is_num(cfg.lr_min) and cfg.lr_min >= 0, "lr_min must be a number >= 0", cfg.lr_min)
    need(is_int(cfg.warmup) and cfg.warmup >= 0, "warmup must be 0 or more steps", cfg.warmup)
    need(is_int(cfg.val_every) and cfg.val_every >= 1, "val_every must be at least 1", cfg.val_every)
    need(is_int(cfg.log_every) and cfg.log_every >= 1, "log_every must be at least 1", cfg.log_every)
    need(is_int(cfg.threads) and cfg.threads >= 0, "threads must be 0 (default) or more", cfg.threads)
    for name in ("pair_prob", "whole_prob", "val_fraction"):
        v = getattr(cfg, name)
        need(is_num(v) and 0 <= v <= 1, f"{name} must be between 0 and 1", v)
    need(is_num(cfg.scale_min) and 0 < cfg.scale_min <= 1, "scale_min must be in (0, 1]", cfg.scale_min)
    need(cfg.gamma in GAMMA_VARIANTS, f"gamma must be one of {', '.join(GAMMA_VARIANTS)}", cfg.gamma)
    need(cfg.schedule in ("cosine", "constant"), "schedule must be cosine or constant", cfg.schedule)
    need(isinstance(cfg.widths, list) and len(cfg.widths) >= 2 and all(is_int(w) and w > 0 for w in cfg.widths),
         "widths must be a list of positive integers", cfg.widths)
    need(isinstance(cfg.val_tracks, list) and set(cfg.val_tracks) <= {"pair", "seq"}, "val_tracks must list pair and/or seq", cfg.val_tracks)
    need(isinstance(cfg.whole_size, list) and len(cfg.whole_size) == 2 and all(is_int(v) and v >= 16 for v in cfg.whole_size),
         "whole_size must be two sizes of at least 16", cfg.whole_size)
    need(cfg.fusion in ("pyramid", "spd"), "fusion must be pyramid or spd", cfg.fusion)
    need(is_int(cfg.net_working_size) and cfg.net_working_size >= 16, "net_working_size must be at least 16", cfg.net_working_size)
    for name in ("w_wssim", "w_mefssim", "w_luminance", "w_clip", "w_logit", "w_hinge", "w_keep", "w_keep_pair"):
        v = getattr(cfg, name)
        need(is_num(v) and v >= 0, f"{name} must be a number >= 0", v)
    need(is_int(cfg.keep_cell) and cfg.keep_cell >= 1, "keep_cell must be a whole number of at least 1", cfg.keep_cell)
    need(is_int(cfg.distill_cell) and cfg.distill_cell >= 1, "distill_cell must be a whole number of at least 1", cfg.distill_cell)
    need(isinstance(cfg.distill, str) and (not cfg.distill or Path(cfg.distill).is_dir()),
         "distill must name a folder of distillation targets (scripts/distill_targets.py)", cfg.distill)
    need(isinstance(cfg.keep_model, str) and (cfg.keep_model == "default" or not cfg.w_keep_pair or Path(cfg.keep_model).is_file()),
         "keep_model must be default or a model file", cfg.keep_model)


def prepare_run_folder(out: Path, resume: bool, overwrite: bool) -> list[Path]:
    """Check and create the run folder before any work; returns the folders created (to
    remove again if the run fails before writing anything).

    A folder holding a run is only continued (``resume``) or replaced (``overwrite``),
    never silently overwritten; a resume with nothing to resume creates nothing.
    """
    from hdrdesk.core.io import probe_writable

    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: run folder (--out) is not a folder")
    if resume:
        if not (out / "last.pt").is_file():
            raise InputError(f"{out / 'last.pt'}: nothing to resume")
    elif out.is_dir():
        held = [n for n in RUN_FILES if (out / n).exists()]
        if held and not overwrite:
            raise OutputError(f"{out}: holds a run ({', '.join(held)}); pass --resume or --overwrite")
    created: list[Path] = []
    probe = out
    while not probe.exists() and probe != probe.parent:
        created.append(probe)
        probe = probe.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: run folder cannot be created ({exc.strerror or exc})") from None
    try:
        probe_writable(out)
    except OutputError:
        remove_empty_folders(created)
        raise
    if overwrite and not resume:
        for n in RUN_FILES:
            (out / n).unlink(missing_ok=True)
    return created


def remove_empty_folders(created: list[Path]) -> None:
    for folder in created:  # innermost first
        try:
            folder.rmdir()
        except OSError:
            break


LOG_FIELDS = ["step", "loss", "lr", "k", "wssim", "mefssim", "luminance", "clipping", "logit", "hinge", "distill", "keep", "val_pair", "val_seq", "val_mean"]


def append_log(log_csv: Path, row: dict) -> None:
    """Append ``row`` (a step's terms or a validation's scores) to ``log.csv`` by column name, under the
    file's own header when it has one (a run resumed from an older version keeps its columns)."""
    fields = LOG_FIELDS
    if log_csv.is_file():
        with log_csv.open(newline="") as fh:
            fields = next(csv.reader(fh), None) or LOG_FIELDS
    new = not log_csv.is_file() or log_csv.stat().st_size == 0
    with log_csv.open("a", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        if new:
            wr.writeheader()
        wr.writerow(row)


def truncate_log(log_csv: Path, step: int) -> None:
    """Keep the log's rows up to ``step`` (the checkpoint resumed from): rows a killed run
    wrote after its last checkpoint are written again by the resumed run."""
    if not log_csv.is_file():
        return
    lines = log_csv.read_text().splitlines(keepends=True)
    keep = lines[:1]
    for line in lines[1:]:
        if not line.endswith("\n"):  # cut off mid-write
            continue
        try:
            row_step = int(line.split(",", 1)[0])
        except ValueError:
            continue
        if row_step <= step:
            keep.append(line)
    if len(keep) != len(lines):
        atomic_write_bytes(log_csv, "".join(keep).encode(), overwrite=True)


# ------------------------------------------------------------------ the loop


MIX_LR_SCALE = 10.0  # the learned mix's head starts at zero and its signal is weak: a larger step


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimiser of training, fine-tuning and Refine (AdamW); a learned mix's head gets ``MIX_LR_SCALE`` x ``lr``."""
    net = getattr(model, "module", model)
    mix = list(net.mix_head.parameters()) if getattr(net, "mix_head", None) is not None else []
    rest = [p for p in model.parameters() if all(p is not q for q in mix)]
    groups = [{"params": rest, "lr_scale": 1.0}] + ([{"params": mix, "lr_scale": MIX_LR_SCALE}] if mix else [])
    for g in groups:
        g["lr"] = lr * g["lr_scale"]
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def optimizer_step(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float = 1.0) -> None:
    """One step: gradients of ``loss``, clipped to norm ``grad_clip`` (0: no clipping), applied."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    apply_gradients(model, opt, grad_clip)


def apply_gradients(model: torch.nn.Module, opt: torch.optim.Optimizer, grad_clip: float = 1.0) -> None:
    """Apply the gradients already accumulated in ``model``, clipped to norm ``grad_clip`` (0: no clipping)."""
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()


def train(
    cfg: TrainConfig, task: TaskState | None = None, on_event: EventCallback | None = None, resume: bool = False, overwrite: bool = False
) -> TrainResult:
    """Train (or fine-tune) a model as ``cfg`` says. See module doc.

    The run folder ``cfg.out`` must not hold a run unless ``resume`` (continue it) or
    ``overwrite`` (start afresh); a run that fails before writing anything leaves no folder.
    """
    check_config(cfg)
    created = prepare_run_folder(Path(cfg.out), resume, overwrite) if _dist()[1] == 0 else []
    try:
        return _train(cfg, task, on_event, resume)
    except BaseException:
        out = Path(cfg.out)
        if created and out.is_dir() and not any(out.iterdir()):
            remove_empty_folders(created)
        raise


def _train(cfg: TrainConfig, task: TaskState | None, on_event: EventCallback | None, resume: bool) -> TrainResult:
    from hdrdesk.training.validate import Validator

    task = task or null_task()
    emit = on_event or (lambda e: None)
    distributed, rank, world = _dist()
    if distributed and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() and cfg.device != "cpu" else "gloo"
        torch.distributed.init_process_group(backend)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if distributed and torch.cuda.is_available() and cfg.device != "cpu":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    else:
        device = pick_device(cfg.device)
    main = rank == 0
    out = Path(cfg.out)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)

    model = initial_model(cfg).to(device)
    cfg.fusion = model.config.fusion  # what the data and objective must suit: the model decides (fine-tuning a v2 model)
    task.report(0.0, "Reading brackets")
    report = DataReport()
    train_sc, val_sc = prepare_data(cfg, report)
    if cfg.distill:  # the training brackets are the targets'
        targets = load_targets(cfg.distill, exclude={s.name for s in val_sc})
        train_names = [name for name, _, _ in targets]
        summary = f"{len(targets)} distillation targets, {sum(len(luma) for _, luma, _ in targets)} frames"
        sampler = DistillSampler(targets, cfg.seed + 1000 * rank)
    else:
        train_names, summary = [s.name for s in train_sc], report.summary()
        sampler_cls = WholeSceneSampler if cfg.fusion == "spd" else CropSampler
        sampler = sampler_cls(train_sc, cfg.crop, cfg.frames_per_batch, cfg.max_exposures, cfg.pair_prob, cfg.scale_min, cfg.seed + 1000 * rank,
                              whole_prob=cfg.whole_prob, whole_size=tuple(cfg.whole_size))
    emit({"type": "data", "train": train_names, "val": [s.name for s in val_sc], "report": summary})
    validator = Validator(val_sc, cfg.val_tracks, cfg.val_max_side) if (main and val_sc) else None

    model.train()
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    start, best = 0, None
    last_path, best_path = out / "last.pt", out / "best.pt"
    if resume:
        if not last_path.is_file():
            raise InputError(f"{last_path}: nothing to resume")
        ck = load_checkpoint(last_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start, best = int(ck["step"]), ck.get("best_score")
        if "rng" in ck:
            _set_rng_state(sampler, ck["rng"])
        if main:
            truncate_log(out / "log.csv", start)
    ddp_model = model
    if distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    gamma = GammaParams.for_window(cfg.gamma, cfg.gamma_window, cfg.gamma_alpha)
    if cfg.distill:
        objective = DistillObjective(copy.deepcopy(model), cfg.w_keep, cfg.distill_cell)
    elif model.config.fusion == "spd":
        objective = SPDObjective(gamma, cfg.w_wssim, cfg.w_mefssim, cfg.w_logit, model.config.working_size or cfg.net_working_size, cfg.w_hinge,
                                 keep_model=keep_reference(cfg, model), w_keep_pair=cfg.w_keep_pair, keep_cell=cfg.keep_cell)
    else:
        objective = Objective(gamma, cfg.w_wssim, cfg.w_mefssim, cfg.w_luminance, cfg.lum_sigma, cfg.w_clip)

    def checkpoint(step: int) -> dict:
        return {
            "arch": model.config.arch, "net_config": model.config.to_dict(), "model": model.state_dict(),
            "optimizer": opt.state_dict(), "config": cfg.to_dict(), "step": step, "best_score": best,
            "code_version": __version__, "rng": _rng_state(sampler), "name": cfg.name,
        }

    initial_scores = None
    if validator is not None and start == 0 and cfg.val_at_start:
        task.report(0.0, "Scoring the starting model")
        initial_scores = validator.score(model)
        emit({"type": "val", "step": 0, **{k: v for k, v in initial_scores.items() if k != "per_scene"}})
        # The starting weights are the bar to clear: best.pt never scores below them.
        best = initial_scores["mean"]
        save_checkpoint(best_path, {**checkpoint(0), "scores": initial_scores})
    history: list[dict] = []
    log_csv = out / "log.csv"
    t0 = time.perf_counter()
    step = start
    final_scores = None
    good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        for step in range(start, cfg.steps):
            task.check()
            lr = lr_at(cfg, step)
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            try:
                opt.zero_grad(set_to_none=True)
                for _ in range(cfg.accum):
                    y = sampler.sample().to(device)
                    loss, terms = objective(ddp_model, y)
                    if not torch.isfinite(loss):
                        raise TrainingError(f"loss became {float(loss.detach())} at step {step}; stopped and kept the last good weights")
                    (loss / cfg.accum).backward()
                apply_gradients(model, opt, cfg.grad_clip)
            except torch.cuda.OutOfMemoryError:
                raise TrainingError("the GPU ran out of memory: lower frames per batch or crop size, or train on the CPU") from None
            if not all(torch.isfinite(p).all() for p in model.parameters()):
                model.load_state_dict(good_state)
                raise TrainingError(f"weights became non-finite at step {step}; stopped and kept the last good weights")
            if step % 50 == 0:
                good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            done = step + 1
            step = done  # from here on, a cancel or fault checkpoints the weights after this step
            elapsed = time.perf_counter() - t0
            rate = (done - start) / max(elapsed, 1e-6)
            eta = (cfg.steps - done) / max(rate, 1e-9)
            if done % cfg.log_every == 0 or done == cfg.steps:
                rec = {"type": "step", "step": done, "loss": float(loss.detach()), "lr": lr, "k": int(y.shape[1]), "eta_s": eta, **terms}
                history.append(rec)
                emit(rec)
                if main:
                    append_log(log_csv, rec)
            task.report(done / cfg.steps, f"step {done}/{cfg.steps}, loss {float(loss.detach()):.4f}, about {eta:.0f} s left")
            if validator is not None and (done % cfg.val_every == 0 or done == cfg.steps):
                scores = validator.score(model)
                final_scores = scores
                val_rec = {"type": "val", "step": done, **{k: v for k, v in scores.items() if k != "per_scene"}}
                emit(val_rec)
                append_log(log_csv, {"step": done, "val_pair": scores.get("pair", ""), "val_seq": scores.get("seq", ""), "val_mean": scores["mean"]})
                if best is None or scores["mean"] > best:
                    best = scores["mean"]
                    save_checkpoint(best_path, {**checkpoint(done), "scores": scores})
                    emit({"type": "best", "step": done, "score": best})
            if main and (done % cfg.val_every == 0):
                save_checkpoint(last_path, checkpoint(done))
    except Cancelled:
        if main:
            save_checkpoint(last_path, checkpoint(step))
        emit({"type": "cancelled", "step": step})
        return TrainResult(out, step, best, best_path if best_path.exists() else None, last_path, initial_scores, final_scores, history, cancelled=True, model=model)
    except TrainingError:
        if main:
            model.load_state_dict(good_state)
            save_checkpoint(last_path, checkpoint(step))
        raise
    if main:
        save_checkpoint(last_path, checkpoint(step))
        if validator is None:  # nothing to choose by: the last weights are the best we know
            save_checkpoint(best_path, checkpoint(step))
    if distributed:
        torch.distributed.barrier()
    emit({"type": "done", "step": step, "best": best})
    return TrainResult(out, step, best, best_path if best_path.exists() else None, last_path, initial_scores, final_scores, history, model=model)
