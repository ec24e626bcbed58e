"""Structural patch decomposition fusion in torch: FMMEF's operator, differentiable, with learned weights.

FMMEF (Li, Ma, Yong, Zhang, IEEE TIP 2020) splits every patch of every exposure
into signal strength, structure and mean intensity, keeps the strongest signal,
mixes structures by contrast (``c^p``) and mean intensities by well-exposedness,
over several scales. ``../docs/fmmef.md`` and :mod:`hdrdesk.core.fmmef` (the fast
numpy/OpenCV implementation the app runs) state it in full.

This module is its torch twin, for training: the same operator on
``(B, K, C, H, W)`` tensors, where the network's two logit maps per exposure
modulate the two weights FMMEF fixes by rule:

- detail: ``w_k = c_max c_k^(p-1) m_k / sum_j (c_j^p m_j + 1e-12)`` with ``m_k = exp(detail_logit_k)``
  (at every scale, the logit map resized to that scale);
- base (mean intensity at the coarsest scale): ``v_k = (a_k m'_k + 1e-12) / sum_j (a_j m'_j + 1e-12)``
  with ``m'_k = exp(base_logit_k)``.

Zero logits give FMMEF exactly (tests check both implementations against the
authors' reference outputs). Gradients flow to the logits only; signal strengths
depend on the inputs alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hdrdesk.core.fmmef import detail_map_index

EPS = 1e-12
LOGIT_CLAMP = 12.0


def spd_levels(h: int, w: int, extra_levels: int = 0) -> int:
    """Number of intermediate scales: ``floor(log2(min(h, w))) - 5`` (FMMEF's rule), at least 0 below
    64 px, plus ``extra_levels`` (never below a 1-pixel coarsest scale); as :func:`hdrdesk.core.fmmef.fmmef_shapes`."""
    short = max(1, min(h, w))
    levels = max(0, int(math.floor(math.log2(short))) - 5) + max(0, int(extra_levels))
    return min(levels, int(math.floor(math.log2(short))))


def _box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over the (2r+1)^2 window clipped to the image, on (N, C, H, W)."""
    return F.avg_pool2d(x, 2 * r + 1, stride=1, padding=r, count_include_pad=False)


def _resize(m: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, K, h, w) -> (B, K, H, W), bilinear with half-pixel centres (cv2.INTER_LINEAR's convention)."""
    if tuple(m.shape[-2:]) == tuple(size):
        return m
    return F.interpolate(m, size=size, mode="bilinear", align_corners=False)


def _exposedness(x: torch.Tensor) -> torch.Tensor:
    return (2.0 / math.pi) * torch.atan(20.0 * torch.where(x <= 0.5, x, 1.0 - x))


def _laplacian_abs(x: torch.Tensor) -> torch.Tensor:
    """|3x3 Laplacian| with replicated borders, on (B, K, H, W)."""
    b, k, h, w = x.shape
    xp = F.pad(x.reshape(b * k, 1, h, w), (1, 1, 1, 1), mode="replicate")
    kern = x.new_tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    return F.conv2d(xp, kern).abs().view(b, k, h, w)


def _detail(
    y: torch.Tensor, r: int, p: float, detail_logits: torch.Tensor | None, gain: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """One scale's detail ``D`` (B, C, H, W) and the local means ``mu`` (B, K, H, W) passed down.

    ``y``: (B, K, C, H, W) with C = 3 (finest, RGB) or 1 (grey). ``gain``: (B, 1, h, w) log gain on
    the fused signal strength.
    """
    b, k, c, h, w = y.shape
    flat = y.reshape(b, k * c, h, w)
    mean_c = _box_mean(flat, r).view(b, k, c, h, w)
    mean_sq = _box_mean(flat * flat, r).view(b, k, c, h, w)
    mu = mean_c.mean(dim=2)  # (B, K, H, W)
    var = (mean_sq.sum(dim=2) - c * mu * mu) / c
    R = 2 * r + 1
    strength = torch.sqrt(var.clamp_min(0.0)) * math.sqrt(c * R * R) + EPS
    c_max = strength.amax(dim=1, keepdim=True)
    num = strength.pow(p - 1.0)
    den_terms = strength.pow(p)
    if detail_logits is not None:
        m = torch.exp(_resize(detail_logits, (h, w)).clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
        num = num * m
        den_terms = den_terms * m
    if gain is not None:
        c_max = c_max * torch.exp(_resize(gain, (h, w)).clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
    weight = c_max * num / (den_terms + EPS).sum(dim=1, keepdim=True)  # (B, K, H, W)
    mean_w = _box_mean(weight, r)
    mean_mu_w = _box_mean(mu * weight, r)
    detail = (mean_w.unsqueeze(2) * y).sum(dim=1) - mean_mu_w.sum(dim=1, keepdim=True)  # (B, C, H, W)
    return detail, mu


def scale_detail_logits(detail_logits: torch.Tensor | None, scale: int, n_scales: int) -> torch.Tensor | None:
    """The (B, K, h, w) detail logits of ``scale`` (0: the finest) of ``n_scales``: the map itself, or,
    for per-scale maps (B, K, S, h, w), the one :func:`hdrdesk.core.fmmef.detail_map_index` picks."""
    if detail_logits is None or detail_logits.dim() == 4:
        return detail_logits
    return detail_logits[:, :, detail_map_index(scale, n_scales, detail_logits.shape[2])]


def _upsample_box(g: torch.Tensor, size: tuple[int, int], r: int, box_mean=_box_mean) -> torch.Tensor:
    """Put ``g`` on the even grid of ``size`` and fill in by normalised box filtering (``box_mean``: how)."""
    b, c = g.shape[:2]
    z = g.new_zeros((b, c, *size))
    z[:, :, 0::2, 0::2] = g
    t = g.new_zeros((1, 1, *size))
    t[:, :, 0::2, 0::2] = 1.0
    return box_mean(z, r) / box_mean(t, r)


def spd_fuse(
    y: torch.Tensor,
    detail_logits: torch.Tensor | None = None,
    base_logits: torch.Tensor | None = None,
    radius: int = 4,
    p: float = 4.0,
    clip: bool = True,
    extra_levels: int = 0,
    detail_gain: torch.Tensor | None = None,
    coarse_mix: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Fuse (B, K, C, H, W) exposures in [0, 1] (C = 3 or 1) -> (B, C, H, W).

    ``detail_logits``/``base_logits``: (B, K, h, w) maps of any size (None: FMMEF's rule); detail
    logits may also be (B, K, S, h, w), one map per scale (:func:`detail_map_index` matches them).
    ``detail_gain``: (B, 1, h, w) or (B, 1, S, h, w), the log gain on each scale's fused signal
    strength (:func:`hdrdesk.core.fmmef.fmmef_fuse`'s ``detail_gain``). ``coarse_mix``: the share of the
    mean intensities mixed one scale finer (:func:`hdrdesk.core.fmmef.fmmef_fuse`'s ``coarse_mix``).
    ``clip=False`` returns the raw result (it overshoots [0, 1] by design). ``extra_levels``: scales
    beyond FMMEF's rule (deeper decomposition keeps large-scale contrast; HDRDesk's default uses it).
    """
    if y.dim() != 5:
        raise ValueError(f"expected (B, K, C, H, W), got {tuple(y.shape)}")
    h, w = y.shape[-2:]
    levels = spd_levels(h, w, extra_levels)

    def at(scale: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return scale_detail_logits(detail_logits, scale, levels + 2), scale_detail_logits(detail_gain, scale, levels + 2)

    details = []
    d0, mu = _detail(y, radius, p, *at(0))
    details.append(d0)
    cur = mu[..., 0::2, 0::2]
    finer = None  # the last intermediate scale's grey image and local means (coarse_mix's base)
    for level in range(levels):
        d, mu = _detail(cur.unsqueeze(2), radius, p, *at(level + 1))
        details.append(d)
        finer = (cur, mu)
        cur = mu[..., 0::2, 0::2]
    # coarsest scale: detail plus the well-exposedness-weighted base
    d_c, mu_c = _detail(cur.unsqueeze(2), radius, p, *at(levels + 1))
    g = d_c + base_intensity(cur, mu_c, base_logits, radius)
    mixed = (torch.is_tensor(coarse_mix) or coarse_mix) and finer is not None
    g = reconstruct(g, details, lambda x, size: _upsample_box(x, size, radius), coarse_mix,
                    (lambda: base_intensity(*finer, base_logits, radius)) if mixed else None)
    return g.clamp(0.0, 1.0) if clip else g


def reconstruct(
    g: torch.Tensor, details: list[torch.Tensor], upsample, coarse_mix: float | torch.Tensor = 0.0, finer_base=None
) -> torch.Tensor:
    """The coarsest scale's result ``g`` carried up through the finer scales' ``details`` (finest first):
    ``g = upsample(g) + d`` at each. ``finer_base``: when given, a callable returning the last intermediate
    scale's mean intensities, of which a share ``coarse_mix`` (a share, or a (B, 1, h, w) map) replaces the
    upsampled base there (the base over regions half the size). ``upsample(x, size)``."""
    rest = details
    if finer_base is not None:
        d = details[-1]
        size = tuple(d.shape[-2:])
        mix = _resize(coarse_mix, size) if torch.is_tensor(coarse_mix) else coarse_mix
        g = (1.0 - mix) * upsample(g, size) + mix * finer_base() + d
        rest = details[:-1]
    for d in reversed(rest):
        g = upsample(g, tuple(d.shape[-2:])) + d
    return g


def coarse_mix_of(logits: torch.Tensor, constant: float) -> float | torch.Tensor:
    """The mix :func:`spd_fuse` takes for a network's (B, K, C, h, w) ``logits``: a (B, 1, h, w) map when it
    predicts one (a third logit per exposure, NetConfig.learned_mix: the sigmoid of its mean over the
    exposures), else the model's ``constant``. :func:`hdrdesk.core.fusion.spd_coarse_mix` is its numpy twin."""
    return torch.sigmoid(logits[:, :, 2].mean(dim=1, keepdim=True)) if logits.shape[2] >= 3 else constant


def base_intensity(
    x: torch.Tensor, mu: torch.Tensor, base_logits: torch.Tensor | None, radius: int, a: torch.Tensor | None = None, box_mean=_box_mean
) -> torch.Tensor:
    """The mean intensities of a scale's grey images ``x`` (B, K, h, w), local means ``mu``, mixed by
    |Laplacian| x well-exposedness (``a``, when computed already) times ``exp(base_logits)`` -> (B, 1, h, w)."""
    a = _laplacian_abs(x) * _exposedness(x) if a is None else a
    if base_logits is not None:
        a = a * torch.exp(_resize(base_logits, tuple(a.shape[-2:])).clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
    v = (a + EPS) / (a + EPS).sum(dim=1, keepdim=True)
    return box_mean(mu * v, radius).sum(dim=1, keepdim=True)


# ------------------------------------------------------------------ what the network sees, what the metric sees

GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)  # MATLAB rgb2gray: what MEF-SSIM is scored on
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # BT.601: what the network sees (as the app's YCrCb)


def weighted_sum(rgb: torch.Tensor, weights: tuple[float, float, float]) -> torch.Tensor:
    """(..., 3, H, W) -> (..., H, W)."""
    w = rgb.new_tensor(weights).view(3, 1, 1)
    return (rgb * w).sum(dim=-3)


def network_input(rgb: torch.Tensor, working_size: int) -> torch.Tensor:
    """(B, K, 3, H, W) exposures -> (B, K, h, w) luma at the working size (short side ``working_size``)."""
    y = weighted_sum(rgb, LUMA_WEIGHTS)
    h, w = y.shape[-2:]
    if working_size and min(h, w) > working_size:
        s = working_size / min(h, w)
        y = F.interpolate(y, size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")
    return y
