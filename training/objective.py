"""The unsupervised objective.

    L = w_wssim * (1 - mean_x sum_k gamma_k(x) SSIM_x(F, Y_k))      (the paper's weighted SSIM)
      + w_mefssim * (1 - MEF-SSIM(F; Y_1..Y_K))                     (optional second term)
      + w_luminance * mean |G_s * F - G_s * R|                       (natural brightness)
      + w_clip * mean(relu(F~ - 0.97) [min_k Y_k < 0.97] + relu(0.03 - F~) [max_k Y_k > 0.03])
                                                                     (no clipping where a frame has detail)

F is the Laplacian-pyramid blend of the exposures by the network's weights
(the same operator the app uses), R the per-pixel well-exposedness-weighted
mean of the exposures and G_s a wide Gaussian, so the luminance term only
constrains low frequencies: MEF-SSIM has no luminance term and on its own
lets brightness drift. F~ is the blend before clamping to [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hdrdesk.core.gamma import GammaParams, gamma_maps
from hdrdesk.core.losses import weighted_ssim_loss
from hdrdesk.core.mefssim import mef_ssim_torch
from hdrdesk.core.pyramid import blend_torch
from hdrdesk.core.spd import GRAY_WEIGHTS, LUMA_WEIGHTS, coarse_mix_of, network_input, spd_fuse  # noqa: F401  (re-exported for callers)
from hdrdesk.core.spd import weighted_sum as _weighted_sum


def exposedness_reference(y: torch.Tensor, sigma: float = 0.2) -> torch.Tensor:
    """(B, K, H, W) -> (B, 1, H, W): mean of the exposures weighted by exp(-(y-0.5)^2 / 2 sigma^2)."""
    w = torch.exp(-((y - 0.5) ** 2) / (2 * sigma * sigma)) + 1e-6
    return (w * y).sum(1, keepdim=True) / w.sum(1, keepdim=True)


def _gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    r = max(1, int(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t**2) / (2 * sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    pad = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    x = F.pad(x, (r, r, r, r), mode="replicate") if pad < r else F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class Objective:
    """Callable computing the loss terms for a batch of exposures."""

    def __init__(self, gamma: GammaParams, w_wssim: float = 1.0, w_mefssim: float = 1.0, w_luminance: float = 0.5, lum_sigma: float = 8.0, w_clip: float = 0.0) -> None:
        self.gamma = gamma
        self.w_clip = w_clip
        self.w_wssim = w_wssim
        self.w_mefssim = w_mefssim
        self.w_luminance = w_luminance
        self.lum_sigma = lum_sigma

    def __call__(self, model: torch.nn.Module, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        weights = model(y)
        raw = blend_torch(y, weights)
        fused = raw.clamp(0.0, 1.0)
        terms: dict[str, torch.Tensor] = {}
        loss = fused.new_zeros(())
        if self.w_wssim:
            g = gamma_maps(y, self.gamma)
            terms["wssim"] = weighted_ssim_loss(fused, y, g)
            loss = loss + self.w_wssim * terms["wssim"]
        if self.w_mefssim:
            terms["mefssim"] = 1.0 - mef_ssim_torch(y, fused, data_range=1.0).mean()
            loss = loss + self.w_mefssim * terms["mefssim"]
        if self.w_luminance:
            ref = exposedness_reference(y)
            terms["luminance"] = (_gaussian(fused, self.lum_sigma) - _gaussian(ref, self.lum_sigma)).abs().mean()
            loss = loss + self.w_luminance * terms["luminance"]
        if self.w_clip:
            terms["clipping"] = clipping_penalty(raw, y)
            loss = loss + self.w_clip * terms["clipping"]
        return loss, {k: float(v.detach()) for k, v in terms.items()}


def clipping_penalty(raw: torch.Tensor, y: torch.Tensor, high: float = 0.97, low: float = 0.03) -> torch.Tensor:
    """Overshoot of the (unclamped) blend past white where some exposure still holds detail
    (is below white), and past black where some exposure is above black.

    Pyramid blending adds one exposure's detail to another's coarse levels; across a bright
    window in a dark room this overshoots and clips the sky although the dark frame has it.
    """
    has_highlight_detail = (y.amin(dim=1, keepdim=True) < high).to(raw.dtype)
    has_shadow_detail = (y.amax(dim=1, keepdim=True) > low).to(raw.dtype)
    over = torch.relu(raw - high) * has_highlight_detail
    under = torch.relu(low - raw) * has_shadow_detail
    return (over + under).mean()


# ------------------------------------------------------------------ spd models (v2)

class SPDObjective:
    """Loss of an spd model on (B, K, 3, H, W) brackets:

        L = w_mefssim * (1 - MEF-SSIM(gray F; gray Y_1..Y_K))
          + w_wssim * (1 - mean_x sum_k gamma_k SSIM_x(gray F, gray Y_k))     (the paper's weighted SSIM)
          + w_logit * mean(logits^2)                                           (stay near FMMEF's rule
                                                                                where nothing is gained)
          + w_hinge * max(0, MEF-SSIM(zero logits) - MEF-SSIM(F))              (brackets where the network
                                                                                does worse than its own
                                                                                zero-logit rule weigh more)
          + w_keep_pair * mean |B(gray F - gray F_ref)|  on two-frame brackets  (pairs stay where a reference
                                                                                model put them)

    F is the structural patch decomposition of the exposures with the network's logits
    (the operator the app runs), clipped to [0, 1]. ``B`` takes means over ``keep_cell``-pixel
    blocks (1: every pixel). ``F_ref`` is the same bracket fused by
    ``keep_model`` (frozen): fine-tuning for long brackets can then change what the model does on
    them while an under/over pair keeps the reference's picture, brightness included (MEF-SSIM has
    no luminance term, so on its own it lets a pair's sky drift darker).
    """

    def __init__(self, gamma: GammaParams, w_wssim: float = 0.2, w_mefssim: float = 1.0, w_logit: float = 1e-3, working_size: int = 256,
                 w_hinge: float = 0.0, keep_model: torch.nn.Module | None = None, w_keep_pair: float = 0.0, keep_cell: int = 1) -> None:
        self.gamma = gamma
        self.keep_cell = keep_cell
        self.keep_model = keep_model.eval() if keep_model is not None else None
        if self.keep_model is not None:
            for p in self.keep_model.parameters():
                p.requires_grad_(False)
        self.w_keep_pair = w_keep_pair if keep_model is not None else 0.0
        self.w_hinge = w_hinge
        self.w_wssim = w_wssim
        self.w_mefssim = w_mefssim
        self.w_logit = w_logit
        self.working_size = working_size

    def __call__(self, model: torch.nn.Module, rgb: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        logits, fused = spd_forward(model, rgb, self.working_size)  # (B, K, 2, h, w), (B, 3, H, W)
        gray_f = _weighted_sum(fused, GRAY_WEIGHTS).unsqueeze(1)
        gray_y = _weighted_sum(rgb, GRAY_WEIGHTS)
        terms: dict[str, torch.Tensor] = {}
        loss = fused.new_zeros(())
        q = mef_ssim_torch(gray_y, gray_f, data_range=1.0)  # (B,)
        if self.w_mefssim:
            terms["mefssim"] = 1.0 - q.mean()
            loss = loss + self.w_mefssim * terms["mefssim"]
        if self.w_hinge:
            config = getattr(model, "module", model).config
            extra, mix = getattr(config, "extra_levels", 0), coarse_mix_of(logits, getattr(config, "coarse_mix", 0.0))
            with torch.no_grad():
                zero = torch.zeros_like(logits[:, :, 0])
                plain = spd_fuse(rgb, zero, zero, extra_levels=extra, coarse_mix=mix)
                q0 = mef_ssim_torch(gray_y, _weighted_sum(plain, GRAY_WEIGHTS).unsqueeze(1), data_range=1.0)
            terms["hinge"] = torch.relu(q0 - q).mean()
            loss = loss + self.w_hinge * terms["hinge"]
        if self.w_wssim:
            g = gamma_maps(gray_y, self.gamma)
            terms["wssim"] = weighted_ssim_loss(gray_f, gray_y, g)
            loss = loss + self.w_wssim * terms["wssim"]
        if self.w_logit:
            terms["logit"] = (logits**2).mean()
            loss = loss + self.w_logit * terms["logit"]
        if self.w_keep_pair and rgb.shape[1] == 2:
            with torch.no_grad():
                ref = spd_forward(self.keep_model, rgb, getattr(self.keep_model.config, "working_size", 0) or self.working_size)[1]
            diff = gray_f - _weighted_sum(ref, GRAY_WEIGHTS).unsqueeze(1)
            if self.keep_cell > 1:  # brightness only: block means, so the pair's detail stays free
                diff = F.avg_pool2d(diff, self.keep_cell, ceil_mode=True)
            terms["keep"] = diff.abs().mean()
            loss = loss + self.w_keep_pair * terms["keep"]
        return loss, {k: float(v.detach()) for k, v in terms.items()}


def spd_forward(model: torch.nn.Module, rgb: torch.Tensor, working_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An spd ``model``'s logits for (B, K, 3, H, W) brackets seen at ``working_size``, and the brackets
    fused with them as the app fuses them, (B, 3, H, W) clipped to [0, 1]."""
    config = getattr(model, "module", model).config
    logits = model(network_input(rgb, working_size))
    mix = coarse_mix_of(logits, getattr(config, "coarse_mix", 0.0))
    return logits, spd_fuse(rgb, logits[:, :, 0], logits[:, :, 1], extra_levels=getattr(config, "extra_levels", 0), coarse_mix=mix)
