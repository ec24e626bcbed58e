"""What 'Refine' evaluates hundreds of times, with everything that depends on the bracket alone
computed once.

- :class:`FixedBracketSPD`: :func:`hdrdesk.core.spd.spd_fuse` of one bracket as a function of the
  logits only: signal strengths, local means, the coarsest scale's activity are input-only, so a
  step runs just the logit-dependent part (the weights, two box filters per exposure and scale).
- :class:`FixedBracketMEFSSIM`: :func:`hdrdesk.core.mefssim.mef_ssim_torch` of one bracket as a
  function of the fused image only: the desired patch statistics (the pairwise moments of the
  exposures, K(K+1)/2 channels) are input-only, so a step filters only ``f``, ``f^2`` and ``x_k f``.

Tests check both against the reference functions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hdrdesk.core import mefssim as M
from hdrdesk.core.spd import (
    EPS, LOGIT_CLAMP, _box_mean, _exposedness, _laplacian_abs, _resize, _upsample_box, base_intensity, reconstruct, scale_detail_logits, spd_levels,
)


def box_mean_by_sums(x: torch.Tensor, r: int) -> torch.Tensor:
    """:func:`hdrdesk.core.spd._box_mean` (the mean over the (2r+1)^2 window clipped to the image) by
    running sums: a constant cost per pixel, where torch's CPU pooling costs (2r+1)^2. About 1.7x faster
    a Refine step; equal within float32 rounding (1e-6 relative, a test checks). Used only where the
    logits enter (the input-only statistics, where variances cancel, keep the exact pooling)."""
    h, w = x.shape[-2:]
    k = 2 * r + 1

    def window_sums(y: torch.Tensor, dim: int, size: int) -> torch.Tensor:
        s = F.pad(y, (r + 1, r) if dim == -1 else (0, 0, r + 1, r)).cumsum(dim)
        return s.narrow(dim, k, size) - s.narrow(dim, 0, size)

    i = torch.arange(h, dtype=x.dtype, device=x.device)
    j = torch.arange(w, dtype=x.dtype, device=x.device)
    rows = (i + r).clamp(max=h - 1) - (i - r).clamp(min=0) + 1
    cols = (j + r).clamp(max=w - 1) - (j - r).clamp(min=0) + 1
    return window_sums(window_sums(x, -2, h), -1, w) / (rows[:, None] * cols[None, :])


class FixedBracketSPD:
    """``spd_fuse(y, detail, base, radius, p, clip=True, extra_levels, detail_gain, coarse_mix)`` for a fixed ``y`` (1, K, C, H, W)."""

    def __init__(self, y: torch.Tensor, radius: int = 4, p: float = 4.0, extra_levels: int = 0, coarse_mix: float = 0.0) -> None:
        self.r = radius
        h, w = y.shape[-2:]
        levels = spd_levels(h, w, extra_levels)
        self.scales: list[dict] = []
        self.coarse_mix = coarse_mix if levels >= 1 else 0.0  # as spd_fuse: needs an intermediate scale (a share, or a (1, 1, h, w) map)
        with torch.no_grad():
            cur = y
            for i in range(levels + 1):
                s, mu = self._prepare(cur, p)
                self.scales.append(s)
                if i == levels and (torch.is_tensor(self.coarse_mix) or self.coarse_mix):  # the last intermediate scale: coarse_mix's base
                    c = cur[:, :, 0]
                    self.finer = (c, mu, _laplacian_abs(c) * _exposedness(c))
                cur = mu[..., 0::2, 0::2].unsqueeze(2)
            s, mu_c = self._prepare(cur, p)
            self.scales.append(s)
            c = cur[:, :, 0]
            self.base_a = _laplacian_abs(c) * _exposedness(c)
            self.mu_c = mu_c

    def _prepare(self, y: torch.Tensor, p: float) -> tuple[dict, torch.Tensor]:
        b, k, c, h, w = y.shape
        r = self.r
        flat = y.reshape(b, k * c, h, w)
        mean_c = _box_mean(flat, r).view(b, k, c, h, w)
        mean_sq = _box_mean(flat * flat, r).view(b, k, c, h, w)
        mu = mean_c.mean(dim=2)
        var = (mean_sq.sum(dim=2) - c * mu * mu) / c
        strength = torch.sqrt(var.clamp_min(0.0)) * math.sqrt(c * (2 * r + 1) ** 2) + EPS
        c_max = strength.amax(dim=1, keepdim=True)
        return {"y": y, "mu": mu, "c_max": c_max, "num": strength.pow(p - 1.0), "den": strength.pow(p), "size": (h, w)}, mu

    def _detail(self, s: dict, detail_logits: torch.Tensor | None, gain: torch.Tensor | None = None) -> torch.Tensor:
        num, den = s["num"], s["den"]
        if detail_logits is not None:
            m = torch.exp(_resize(detail_logits, s["size"]).clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
            num, den = num * m, den * m
        # the per-pixel factors (1, 1, H, W) first: a gain on the fused signal strength costs one small product
        fused_strength = s["c_max"]
        if gain is not None:
            fused_strength = fused_strength * torch.exp(_resize(gain, s["size"]).clamp(-LOGIT_CLAMP, LOGIT_CLAMP))
        weight = num * (fused_strength / (den + EPS).sum(dim=1, keepdim=True))
        k = weight.shape[1]
        boxed = box_mean_by_sums(torch.cat([weight, s["mu"] * weight], dim=1), self.r)
        mean_w, mean_mu_w = boxed[:, :k], boxed[:, k:]
        return (mean_w.unsqueeze(2) * s["y"]).sum(dim=1) - mean_mu_w.sum(dim=1, keepdim=True)

    def __call__(
        self, detail_logits: torch.Tensor | None, base_logits: torch.Tensor | None, detail_gain: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(1, K, h, w) logit maps (any size; detail also (1, K, S, h, w), one per scale) and the optional
        log gain (1, 1, h, w) or (1, 1, S, h, w) -> fused (1, C, H, W), clipped to [0, 1]."""
        n = len(self.scales)

        def at(i: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
            return scale_detail_logits(detail_logits, i, n), scale_detail_logits(detail_gain, i, n)

        details = [self._detail(s, *at(i)) for i, s in enumerate(self.scales[:-1])]
        d_c = self._detail(self.scales[-1], *at(n - 1))
        g = d_c + base_intensity(None, self.mu_c, base_logits, self.r, a=self.base_a, box_mean=box_mean_by_sums)
        mixed = torch.is_tensor(self.coarse_mix) or self.coarse_mix

        def finer_base() -> torch.Tensor:
            x, mu, a = self.finer
            return base_intensity(x, mu, base_logits, self.r, a=a, box_mean=box_mean_by_sums)

        g = reconstruct(g, details, lambda x, size: _upsample_box(x, size, self.r, box_mean_by_sums), self.coarse_mix,
                        finer_base if mixed else None)
        return g.clamp(0.0, 1.0)


class FixedBracketMEFSSIM:
    """3-scale MEF-SSIM (:func:`hdrdesk.core.mefssim.mef_ssim_torch`) of a fused image against the
    fixed exposures ``x`` (K, H, W) on [0, 1] (grey). Differentiable in the fused image."""

    def __init__(self, x: torch.Tensor) -> None:
        if min(x.shape[-2:]) / 4 < M._WIN:
            raise ValueError(f"image too small for 3 scales: {tuple(x.shape[-2:])}")
        self.levels: list[dict] = []
        with torch.no_grad():
            cur = (x * 255.0)[None]  # (1, K, H, W), the metric's 0-255 scale
            for level in range(3):
                if level:
                    cur = M._downsample(cur)
                self.levels.append(self._prepare(cur))
        self.weights = torch.tensor(M.MEF_SSIM_SCALE_WEIGHTS, dtype=x.dtype)

    @staticmethod
    def _prepare(x: torch.Tensor) -> dict:
        """The desired patch's statistics (see ``mefssim._qmap``): everything but the fused image's part."""
        x = x - x.mean(dim=(-2, -1), keepdim=True)
        k = x.shape[1]
        n = float(M._WIN * M._WIN)
        ii, jj = torch.triu_indices(k, k)
        pair_mult = torch.where(ii == jj, 1.0, 2.0).to(x.dtype).view(1, -1, 1, 1)
        diag = (ii == jj).nonzero().flatten()
        xx = M._pairs(x, x)
        u = M._filter_valid(torch.cat([x, xx], dim=1), M._BOX_1D)
        mu, uxx = u[:, :k], u[:, k:]
        cov_u = uxx - M._pairs(mu, mu)
        contrast = M._safe_sqrt(n * cov_u[:, diag])
        ed = contrast + M._ED_OFFSET
        num = M._safe_sqrt(n * (pair_mult * cov_u).sum(1))
        den = contrast.sum(1)
        r = (num + M._EPS) / (den + M._EPS)
        r = torch.where(r > 1, 1 - M._EPS, r)
        r = torch.where(r < 0, M._EPS, r)
        p = torch.tan(math.pi / 2 * torch.clamp(r, max=M._R_AT_P_MAX))
        wmap = (ed / M._WIN) ** p.unsqueeze(1) + M._EPS
        wmap = wmap / wmap.sum(1, keepdim=True)
        max_ed = ed.amax(1)
        a = wmap / ed
        aa = M._pairs(a, a) * pair_mult
        s_msq = (aa * cov_u).sum(1)
        g = M._filter_valid(torch.cat([x, xx], dim=1), M._GAUSS_1D)
        gx, gxx = g[:, :k], g[:, k:]
        s_var = (aa * (gxx - M._pairs(gx, gx))).sum(1)
        scale = (a * torch.sqrt(torch.clamp(uxx[:, diag], min=0))).sum(1)
        nonzero = s_msq > 64 * torch.finfo(x.dtype).eps * scale * scale
        s_msq_safe = torch.where(nonzero, s_msq, 1.0)
        sigma1_sq = torch.where(nonzero, max_ed * max_ed * s_var / (n * s_msq_safe), 0.0)
        # sigma12 = max_ed * s_cov / sqrt(n s_msq), s_cov = sum_k a_k (G(x_k f) - G(x_k) G(f))
        coef = torch.where(nonzero, max_ed / torch.sqrt(n * s_msq_safe), 0.0)
        return {"x": x, "gx": gx, "a": a, "coef": coef, "sigma1_sq": sigma1_sq}

    def __call__(self, fused: torch.Tensor) -> torch.Tensor:
        """Fused grey image (H, W) on [0, 1] -> MEF-SSIM (0-d tensor)."""
        f = (fused * 255.0)[None]  # (1, H, W)
        qs = []
        for level, s in enumerate(self.levels):
            if level:
                f = M._downsample(f)
            fc = f - f.mean(dim=(-2, -1), keepdim=True).detach()
            g = M._filter_valid(torch.cat([fc[:, None], s["x"] * fc[:, None], (fc * fc)[:, None]], dim=1), M._GAUSS_1D)
            k = s["x"].shape[1]
            gf, gxf, gff = g[:, 0], g[:, 1 : 1 + k], g[:, -1]
            s_cov = (s["a"] * (gxf - s["gx"] * gf[:, None])).sum(1)
            sigma2_sq = gff - gf * gf
            q = (2 * s["coef"] * s_cov + M._C) / (s["sigma1_sq"] + sigma2_sq + M._C)
            qs.append(q.mean())
        q = torch.stack(qs)
        return torch.prod(q ** self.weights.to(q.dtype))
