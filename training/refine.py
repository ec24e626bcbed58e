"""'Refine this bracket' for v2 networks: a per-bracket correction of the network's logits.

The network (:class:`hdrdesk.core.model.FusionNet`, v2) predicts a detail and a base logit
map per exposure, which drive the structural patch decomposition (:mod:`hdrdesk.core.fmmef`).
Refine keeps the network as it is and learns, for this one bracket, a small additive
*residual* per exposure on a coarse grid (``grid`` cells along the short side), upsampled
bilinearly to the logits' size: one for the base logits and one for the detail logits of each
scale of the decomposition (the network predicts one detail map for all scales; a map per scale
gains more per step, and a fused scale then takes its structure from the exposures that serve it
best there). On the two finest scales it may also scale the fused patches' signal strength
(FMMEF's ``max_k c_k``) by a coarse, bounded gain (0.86x-1.16x): local contrast of fine texture.
Coarser scales get no gain, and the bound is tight, because a free gain there raises the score
with the halos back (docs/validation.md). Adam maximises the bracket's MEF-SSIM
(differentiable, :func:`hdrdesk.core.mefssim.mef_ssim_torch`) of the torch twin of the
decomposition (:func:`hdrdesk.core.spd.spd_fuse`, its input-only parts computed once:
:mod:`hdrdesk.training.refine_ops`), plus the training objective's small logit penalty, until
the time budget is spent. It works on the bracket itself up to 1 MP a frame (a smaller copy
above, smaller again for long brackets, whose metric compares with 7 evenly spaced exposures):
a residual found on a much smaller copy carries over to the picture only in part.

The guard: the refined fusion is scored by the app's own fusion path (numpy/OpenCV
decomposition, 8-bit result, MEF-SSIM of all exposures as ``hdrdesk eval`` computes it) on
the same copy, against the network alone; a residual that does not raise that score is
dropped. The whole refinement, scoring included, stays within ``seconds``: the optimisation
gets what the two scores leave.

A residual applies at any resolution: :class:`ResidualLogits` wraps the network so that
every fusion path (preview, export, CLI) adds it to the logits (the per-scale detail part through
``detail_offsets``, the gain through ``detail_gains``, both matched to a larger photo's scales from
the coarse end); a zero residual gives the network's fusion bit for bit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdrdesk.errors import InputError
from hdrdesk.tasks import TaskState, null_task

GRID = 48  # residual cells along the short side (the long side in proportion)
COPY_PIXELS = 1.0e6  # the copy optimised and scored on: the bracket itself up to this many pixels a frame
COPY_FRAMES = 4  # longer brackets get a smaller copy (see copy_side_for)
LR = 0.4
MIN_SIDE = 44  # the metric's three scales need 11 pixels at the coarsest
PER_SCALE = True  # a detail residual per scale of the decomposition (more gain per step than one for all)
GAIN_SCALES = 2  # the finest scales whose contrast Refine may also raise or lower (see refine_logits)
GAIN_BOUND = 0.15  # ... by at most this much in log: 0.86x to 1.16x
GAIN_LR = 0.05  # the gain's Adam step: it reaches the bound in a few steps
METRIC_EXPOSURES = 7  # exposures the optimisation's metric compares with at most (its cost grows with K^2)
LOGIT_PENALTY = 1e-3  # the training objective's (SPDObjective.w_logit)


class ResidualLogits(nn.Module):
    """A v2 network whose logits get a per-bracket residual: ``net(x) + upsample(residual)``.

    ``residual``: (K, 2, gh, gw), one coarse map per exposure and logit (detail, base), for the
    bracket it was refined on (same exposures, same order). ``scale_residual``: (K, S, gh, gw), a
    detail offset per scale of the decomposition (see :attr:`detail_offsets`). ``gain``: (S, gh, gw),
    the log gain on each scale's fused signal strength (see :attr:`detail_gains`). Behaves as the
    network everywhere (``config``, ``card``), so the app's fusion paths run it unchanged.
    """

    def __init__(
        self, net: nn.Module, residual: torch.Tensor, card: dict | None = None, scale_residual: torch.Tensor | None = None,
        gain: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.net = net
        self.config = net.config
        self.card = dict(card if card is not None else getattr(net, "card", None) or {})
        self.register_buffer("residual", residual.detach().float().clone())
        self.scale_residual = None if scale_residual is None else scale_residual.detach().float().clone()
        self.gain = None if gain is None else gain.detach().float().clone()

    @property
    def detail_gains(self):
        """The per-scale log gain, when refined with one: ``size -> (S, h, w)`` float32, on the fused
        signal strength of every scale (:func:`hdrdesk.core.fusion.spd_detail_gain`); else None."""
        if self.gain is None:
            return None

        return lambda size: upsample_residual(self.gain[None], size)[0].numpy()

    @property
    def detail_offsets(self):
        """Per-scale detail offsets, when refined with them: ``size -> (K, S, h, w)`` float32, added to
        the detail logits of every scale (:func:`hdrdesk.core.fusion.spd_detail_maps`); else None."""
        if self.scale_residual is None:
            return None

        return lambda size: upsample_residual(self.scale_residual, size).numpy()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.net(x)  # (B, K, 2, h, w)
        if logits.shape[1] != self.residual.shape[0]:
            raise InputError(f"this refinement is for a bracket of {self.residual.shape[0]} exposures, not {logits.shape[1]}")
        return add_residual(logits, upsample_residual(self.residual.to(device=logits.device, dtype=logits.dtype), logits.shape[-2:])[None])


def add_residual(logits, residual):
    """``logits`` (..., C, h, w) plus a (detail, base) residual (..., 2, h, w): a third channel (the
    network's coarse mix, NetConfig.learned_mix) is left as the network said."""
    if logits.shape[-3] == residual.shape[-3]:
        return logits + residual
    cat = torch.cat if torch.is_tensor(logits) else np.concatenate
    return cat([logits[..., :2, :, :] + residual, logits[..., 2:, :, :]], -3)


def upsample_residual(residual: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(K, 2, gh, gw) -> (K, 2, h, w), bilinear with half-pixel centres."""
    k, c, gh, gw = residual.shape
    up = F.interpolate(residual.reshape(1, k * c, gh, gw), size=tuple(int(s) for s in size), mode="bilinear", align_corners=False)
    return up.reshape(k, c, *up.shape[-2:])


def grid_shape(h: int, w: int, grid: int = GRID) -> tuple[int, int]:
    """Cells of the residual grid: ``grid`` along the short side, square cells."""
    s = grid / min(h, w)
    return max(1, round(h * s)), max(1, round(w * s))


@dataclass
class LogitRefineOutcome:
    model: nn.Module  # ResidualLogits when kept, else the network itself
    residual: np.ndarray | None  # (K, 2, gh, gw) when kept
    before: float  # MEF-SSIM of the network alone on the scoring copy
    after: float  # of the returned model (equals ``before`` when discarded)
    kept: bool
    steps: int
    seconds: float
    candidate: float | None = None  # what the refined fusion scored, kept or not
    score_side: int = 0  # short side of the scoring copy
    opt_gain: float = 0.0  # torch MEF-SSIM gain on the optimisation copy (diagnostics)
    timings: dict = field(default_factory=dict)  # seconds: score (each), prepare, optimise
    network_input: np.ndarray | None = None  # (K, h, w) luma the network saw on the scoring copy
    network_logits: np.ndarray | None = None  # (K, 2, h, w) what it said (the residual adds to these)
    scale_residual: np.ndarray | None = None  # (K, S, gh, gw) per-scale detail residual, when kept and refined per scale
    detail_gain: np.ndarray | None = None  # (S, gh, gw) log gain on each scale's signal strength, when kept


def _resize_short(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) <= side:
        return img
    s = side / min(h, w)
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _float_rgb(img: np.ndarray) -> np.ndarray:
    """float32 RGB on [0, 1] (grey frames repeated to three channels)."""
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return np.asarray(img, np.float32)


class _Adam:
    """Adam (Kingma & Ba) on one tensor. torch.optim would do the same, but its first use imports
    torch's compiler stack (seconds, and tens of seconds on a busy machine): a budget of a few
    seconds cannot afford that."""

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.p, self.lr, self.b1, self.b2, self.eps = param, lr, betas[0], betas[1], eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = 0

    @torch.no_grad()
    def step(self) -> None:
        g = self.p.grad
        if g is None:
            return
        self.t += 1
        self.m.mul_(self.b1).add_(g, alpha=1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        m_hat = self.m / (1 - self.b1**self.t)
        v_hat = self.v / (1 - self.b2**self.t)
        self.p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


def metric_exposures(k: int, most: int = METRIC_EXPOSURES) -> list[int]:
    """The exposures the optimisation's metric compares with: all, or ``most`` evenly spaced ones
    (the darkest and the brightest included) for long brackets. The fusion always uses all."""
    if k <= most:
        return list(range(k))
    return sorted({round(i * (k - 1) / (most - 1)) for i in range(most)})


def _metric_moments(k: int) -> float:
    """What MEF-SSIM's cost grows with, per pixel: the exposures' moments, ``K + K(K+1)/2`` (every pair)."""
    return k + k * (k + 1) / 2


def copy_side_for(k: int, h: int, w: int, pixels: float = COPY_PIXELS) -> int:
    """Short side of the copy the residual is optimised and the guard scores on: the bracket as it
    is up to ``pixels`` a frame (the metric then sees what the user gets), smaller above. Brackets
    of more than ``COPY_FRAMES`` frames get fewer pixels, so that scoring them costs what scoring
    ``COPY_FRAMES`` frames of ``pixels`` does and a 30-frame bracket stays in the budget."""
    short, long_ = min(h, w), max(h, w)
    pixels = pixels * min(1.0, _metric_moments(COPY_FRAMES) / _metric_moments(k))
    return min(short, max(MIN_SIDE, int(math.sqrt(pixels * short / long_))))


def refine_copy(frames: Sequence[np.ndarray], side: int) -> list[np.ndarray]:
    """8-bit copies of ``frames`` at short side ``side`` (as `hdrdesk eval` scores 8-bit frames);
    reduced in their own depth first, so that no full-size float copy of a large photo is made."""
    from hdrdesk.core.io import to_uint

    return [to_uint(_float_rgb(_resize_short(f, side)), 8) for f in frames]


def refine_logits(
    model: nn.Module,
    frames: Sequence[np.ndarray],
    seconds: float = 8.0,
    grid: int = GRID,
    copy_pixels: float = COPY_PIXELS,
    lr: float = LR,
    max_steps: int = 10_000,
    task: TaskState | None = None,
    maps: tuple[int, ...] = (0, 1),
    per_scale: bool = PER_SCALE,
    logit_penalty: float = LOGIT_PENALTY,
    gain_scales: int = GAIN_SCALES,
) -> LogitRefineOutcome:
    """Refine the logits of the v2 ``model`` on one bracket (RGB frames, darkest first, uint8/uint16
    or float in [0, 1]); the whole call, scoring included, takes about ``seconds`` at most.

    Returns the network itself (``kept`` False) unless the refined fusion scores higher on the
    scoring copy. ``task``: progress and cancel (a cancel raises :class:`hdrdesk.errors.Cancelled`).
    ``maps``: which logit maps get a residual (0: detail, 1: base). ``per_scale``: the detail residual
    is one map per scale of the decomposition (else one for all scales). ``gain_scales``: how many of
    the finest scales get a bounded gain on their contrast (0: none).
    """
    from hdrdesk.core.fusion import is_spd_model, spd_coarse_mix, spd_decompose, spd_logits
    from hdrdesk.core.mefssim import mef_ssim, rgb_to_gray_matlab
    from hdrdesk.core.spd import GRAY_WEIGHTS, weighted_sum
    from hdrdesk.training.refine_ops import FixedBracketMEFSSIM, FixedBracketSPD

    task = task or null_task()
    if not is_spd_model(model):
        raise InputError("logit refinement needs a v2 (structural patch decomposition) model")
    if len(frames) < 2:
        raise InputError("refining needs a bracket of two or more exposures")
    if getattr(model, "detail_offsets", None) is not None or getattr(model, "detail_gains", None) is not None:
        raise InputError("this is already a refined bracket: refine the network itself")
    t0 = time.perf_counter()
    deadline = t0 + seconds
    k = len(frames)
    h, w = frames[0].shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"the bracket is too small to refine on (at least {MIN_SIDE} pixels a side)")
    task.check()

    # The guard's copy (8-bit, as `hdrdesk eval` scores) is also the optimisation's. A residual
    # optimised on a much smaller copy than the picture carries over only in part (the picture's
    # decomposition has more scales, the metric sees finer structure), so the copy is as large as
    # the budget allows; the network runs once, on it.
    side = copy_side_for(k, h, w, copy_pixels)
    images = refine_copy(frames, side)
    gray = np.stack([rgb_to_gray_matlab(x) for x in images])

    def score(logits: np.ndarray, fused_by: nn.Module = model) -> float:
        """MEF-SSIM of the app's fusion (:func:`spd_decompose`, what finish_fusion runs) with these logits."""
        return float(mef_ssim(gray, rgb_to_gray_matlab(spd_decompose(fused_by, images, logits, np.uint8))))

    task.report(0.02, "Scoring the network's fusion")
    t_net = time.perf_counter()
    luma0, logits0 = spd_logits(model, images)  # (K, 2, h, w) float32, exactly as the app computes them
    timings = {"network": time.perf_counter() - t_net}
    t_score = time.perf_counter()
    before = score(logits0)
    score_cost = time.perf_counter() - t_score
    timings["score"] = score_cost
    task.check()

    t_prep = time.perf_counter()
    # input-only parts of the decomposition and of the metric, computed once
    rgb = torch.from_numpy(np.stack([_float_rgb(x) for x in images])).permute(0, 3, 1, 2)[None].contiguous()  # (1, K, 3, H, W)
    base = torch.from_numpy(logits0)
    mix = spd_coarse_mix(model, logits0)  # the network's own (a map when it predicts one), not refined
    fuse = FixedBracketSPD(rgb, extra_levels=getattr(model.config, "extra_levels", 0), coarse_mix=torch.from_numpy(mix)[None, None] if isinstance(mix, np.ndarray) else mix)
    metric = FixedBracketMEFSSIM(weighted_sum(rgb[0, metric_exposures(k)], GRAY_WEIGHTS))
    task.check()
    gh, gw = grid_shape(*base.shape[-2:], grid)
    # the residual: (K, 2, gh, gw), detail and base; with per_scale, (K, 1 + S, gh, gw): base, then the
    # detail of each of the decomposition's S scales (finest first)
    n_detail = len(fuse.scales) if per_scale else 1
    res = torch.zeros((k, 1 + n_detail, gh, gw), requires_grad=True)
    opt = _Adam(res, lr)
    n_scales = len(fuse.scales)
    n_gain = max(0, min(int(gain_scales), n_scales))
    gain = torch.zeros((n_gain, gh, gw), requires_grad=bool(n_gain))
    gain_opt = _Adam(gain, GAIN_LR)

    def gain_maps(gain: torch.Tensor) -> torch.Tensor | None:
        """(S, gh, gw) log gains: bounded on the finest ``n_gain`` scales, zero on the others."""
        if not n_gain:
            return None
        bounded = GAIN_BOUND * torch.tanh(gain / GAIN_BOUND)
        return torch.cat([bounded, bounded.new_zeros((n_scales - n_gain, gh, gw))])

    if len(maps) < 2:  # the maps not refined get no gradient
        frozen = [c for c in range(1 + n_detail) if (0 if c else 1) not in maps]

    def objective(res: torch.Tensor, gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        up = upsample_residual(res, base.shape[-2:])  # (K, 1 + n_detail, h, w)
        base_logits = base[:, 1] + up[:, 0]
        detail = base[:, 0, None] + up[:, 1:]  # (K, n_detail, h, w)
        g = gain_maps(gain)
        g = None if g is None else upsample_residual(g[None], base.shape[-2:])[None]  # (1, 1, S, h, w), as detail_gains
        fused = fuse(detail[None] if per_scale else detail[None, :, 0], base_logits[None], g)[0]
        q = metric(weighted_sum(fused, GRAY_WEIGHTS))
        penalty = 0.5 * ((detail**2).mean() + (base_logits**2).mean())  # the mean square logit, as in training
        return 1.0 - q + logit_penalty * penalty, q.detach()

    timings["prepare"] = time.perf_counter() - t_prep
    t_opt = time.perf_counter()
    budget_end = deadline - 1.3 * score_cost  # what the second score will cost, with a margin
    best_loss, best_res, best_gain, first_q, best_q = math.inf, torch.zeros_like(res), torch.zeros_like(gain), None, None

    def consider(loss: torch.Tensor, q: torch.Tensor) -> None:
        nonlocal best_loss, best_res, best_gain, best_q
        if float(loss.detach()) < best_loss:  # keep the best residual seen
            best_loss, best_res, best_gain, best_q = float(loss.detach()), res.detach().clone(), gain.detach().clone(), float(q)

    steps = 0
    # a first guess at a step: a forward and backward pass of the torch twin costs less than a score of the
    # app's fusion (0.25-0.9x measured); a high guess would leave no step at all after a slow first score
    t_step = 0.5 * score_cost
    while steps < max_steps:
        task.check()
        now = time.perf_counter()
        # room for this step and for the forward pass that judges where it leads (about a third of a step)
        if now + 1.4 * t_step > budget_end:
            break
        loss, q = objective(res, gain)
        if first_q is None:
            first_q = float(q)
        consider(loss, q)
        res.grad = gain.grad = None
        loss.backward()
        if len(maps) < 2:
            res.grad[:, frozen] = 0.0
        opt.step()
        gain_opt.step()
        steps += 1
        t_step = max(t_step * 0.5, time.perf_counter() - now) if steps > 1 else time.perf_counter() - now
        task.report(min(0.95, 0.05 + 0.9 * (time.perf_counter() - t0) / max(1e-6, budget_end - t0)), f"refining: step {steps}")
    if steps:  # where the last step led: with a handful of steps in the budget, it is often the best
        task.check()
        with torch.no_grad():
            consider(*objective(res, gain))
    timings["optimise"] = time.perf_counter() - t_opt
    task.check()
    task.report(0.95, "Scoring the refined fusion")
    if steps == 0 or not bool(best_res.abs().max() > 0 or (n_gain and best_gain.abs().max() > 0)):
        return LogitRefineOutcome(model, None, before, before, False, steps, time.perf_counter() - t0, None, side, 0.0, timings, luma0, logits0)
    # as ResidualLogits stores it: (K, 2, gh, gw) detail and base, and the per-scale detail apart
    if per_scale:
        residual, scale_residual = torch.stack([torch.zeros_like(best_res[:, 0]), best_res[:, 0]], 1), best_res[:, 1:]
    else:
        residual, scale_residual = torch.stack([best_res[:, 1], best_res[:, 0]], 1), None
    detail_gain = None if not n_gain else gain_maps(best_gain).detach()
    refined = ResidualLogits(model, residual, scale_residual=scale_residual, gain=detail_gain)
    with torch.no_grad():
        refined_logits = add_residual(base, upsample_residual(residual, base.shape[-2:])).numpy()  # as ResidualLogits adds it
    candidate = score(refined_logits, refined)
    kept = candidate > before
    task.report(1.0, "Refined" if kept else "Refinement discarded")
    return LogitRefineOutcome(
        refined if kept else model, residual.numpy() if kept else None, before, candidate if kept else before, kept, steps,
        time.perf_counter() - t0, candidate, side, (best_q or 0.0) - (first_q or 0.0), timings, luma0, logits0,
        scale_residual.numpy() if kept and scale_residual is not None else None,
        detail_gain.numpy() if kept and detail_gain is not None else None,
    )
