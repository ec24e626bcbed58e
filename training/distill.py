"""Distilling per-bracket refinements into the network (v2 models).

'Refine this bracket' (:mod:`hdrdesk.training.refine`) finds, for one bracket, logits that fuse
it with a higher MEF-SSIM than the network's, by optimising them against the bracket itself.
``scripts/distill_targets.py`` runs it on every training bracket and saves the network's input
(luma at its working size) with the refined logits. Training on those targets teaches the
network what the per-bracket optimisation found, with a clean, per-pixel signal where the
fusion objective gives a weak one through the decomposition (the network alone scored below
its own zero-logit rule on half of the training brackets).

Still trained without ground truth: the targets come from the bracket's own MEF-SSIM, never
from a reference picture. The targets are for whole brackets (the validation track ``seq``);
a second term keeps the network's logits on the bracket's darkest/brightest pair where the
starting network put them, so that what it does on pairs does not drift.
"""

from __future__ import annotations

import io
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from hdrdesk.errors import InputError
from hdrdesk.training.data import Scene


def write_targets(model: torch.nn.Module, scenes: Sequence[Scene], out: str | Path, seconds: float = 12.0, max_steps: int = 10_000,
                  grid: int | None = None, on_row: Callable[[dict], None] | None = None) -> int:
    """Refine ``model`` on every scene's whole bracket and save ``out/SCENE.seq.npz``: the network's input
    (``luma``, K x h x w), its logits and the refined ones (``target``; the network's own where the guard
    kept nothing). Scenes whose file exists are skipped (a resumable pass). ``grid``: the residual's cells
    (default: Refine's). Returns the files written."""
    from hdrdesk.core.atomic import atomic_write_bytes
    from hdrdesk.core.io import read_frame
    from hdrdesk.training.refine import GRID, refine_logits, upsample_residual

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for sc in scenes:
        dest = out / f"{sc.name}.seq.npz"
        if dest.exists():
            continue
        frames = [read_frame(f, colour_manage=False).data for f in sc.files]  # as stored, as `hdrdesk eval` fuses them
        t0 = time.perf_counter()
        # one detail map for all scales: the network predicts one (a per-scale residual has no target to train)
        refined = refine_logits(model, frames, seconds=seconds, max_steps=max_steps, grid=grid or GRID, per_scale=False, gain_scales=0)
        luma, logits = refined.network_input, refined.network_logits  # what the network saw and said on Refine's copy
        target = logits.copy()
        if refined.kept:
            target += upsample_residual(torch.from_numpy(refined.residual), logits.shape[-2:]).numpy()
        buf = io.BytesIO()
        np.savez_compressed(buf, luma=luma, logits=logits, target=target, before=refined.before, after=refined.after)
        atomic_write_bytes(dest, buf.getvalue())
        written += 1
        if on_row:
            on_row({"scene": sc.name, "k": len(frames), "before": round(refined.before, 5), "after": round(refined.after, 5),
                    "kept": refined.kept, "steps": refined.steps, "seconds": round(time.perf_counter() - t0, 1)})
    return written


@dataclass
class DistillBatch:
    """One bracket: the network's input and the logits it should give."""

    luma: torch.Tensor  # (1, K, h, w)
    target: torch.Tensor  # (1, K, 2, h, w)

    @property
    def shape(self) -> torch.Size:
        return self.luma.shape

    def to(self, device) -> "DistillBatch":
        return DistillBatch(self.luma.to(device), self.target.to(device))


def load_targets(folder: str | Path, exclude: set[str] = frozenset()) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(scene, luma (K, h, w), target logits (K, 2, h, w)) of every ``*.seq.npz`` in ``folder``.
    ``exclude``: scene names never to train on (the validation scenes)."""
    files = sorted(Path(folder).glob("*.seq.npz"))
    out = []
    for f in files:
        scene = f.name.split(".")[0]
        if scene in exclude:
            raise InputError(f"{f}: {scene} is a validation scene; it cannot be a distillation target")
        with np.load(f) as z:
            out.append((scene, z["luma"].astype(np.float32), z["target"].astype(np.float32)))
    if not out:
        raise InputError(f"{folder}: no distillation targets (*.seq.npz; scripts/distill_targets.py writes them)")
    return out


class DistillSampler:
    """Random training brackets with their targets, flipped at random (input and target alike)."""

    def __init__(self, targets: list[tuple[str, np.ndarray, np.ndarray]], seed: int) -> None:
        self.targets = targets
        self.rng = random.Random(seed)

    def sample(self) -> DistillBatch:
        _, luma, target = self.targets[self.rng.randrange(len(self.targets))]
        x, t = torch.from_numpy(luma), torch.from_numpy(target)
        flips = [d for d, on in ((-1, self.rng.random() < 0.5), (-2, self.rng.random() < 0.5)) if on]
        if flips:
            x, t = x.flip(flips), t.flip(flips)
        return DistillBatch(x[None], t[None])


def centred(logits: torch.Tensor) -> torch.Tensor:
    """Logits (B, K, 2, h, w) less their mean over the exposures: the fusion's weights are normalised
    over the exposures, so adding one map to every exposure's logits changes nothing, and the
    per-bracket optimisation leaves that direction to its small logit penalty."""
    return logits - logits.mean(dim=1, keepdim=True)


def coarse(logits: torch.Tensor, cell: int) -> torch.Tensor:
    """(B, K, 2, h, w) -> the mean over ``cell`` x ``cell`` blocks (what a bracket's refinement says at
    that scale; finer, it is mostly specific to the bracket)."""
    b, k, c, h, w = logits.shape
    if cell <= 1:
        return logits
    pooled = torch.nn.functional.avg_pool2d(logits.reshape(b, k * c, h, w), cell, ceil_mode=True)
    return pooled.view(b, k, c, *pooled.shape[-2:])


class DistillObjective:
    """``mean((C(net(luma)) - C(target))^2) + w_keep * mean((C(net(pair)) - C(start(pair)))^2)``,
    ``C``: :func:`centred` then :func:`coarse` (``cell`` pixels of the network's working size)."""

    def __init__(self, start_model: torch.nn.Module, w_keep: float = 1.0, cell: int = 1) -> None:
        self.start = start_model.eval()
        for p in self.start.parameters():
            p.requires_grad_(False)
        self.w_keep = w_keep
        self.cell = cell

    def __call__(self, model: torch.nn.Module, batch: DistillBatch) -> tuple[torch.Tensor, dict[str, float]]:
        def c(x: torch.Tensor) -> torch.Tensor:
            return coarse(centred(x), self.cell)

        distill = ((c(model(batch.luma)) - c(batch.target)) ** 2).mean()
        terms = {"distill": distill}
        loss = distill
        if self.w_keep:
            pair = batch.luma[:, [0, -1]]  # the darkest and the brightest frame
            with torch.no_grad():
                keep_target = self.start(pair)
            terms["keep"] = ((c(model(pair)) - c(keep_target)) ** 2).mean()
            loss = loss + self.w_keep * terms["keep"]
        return loss, {k: float(v.detach()) for k, v in terms.items()}
