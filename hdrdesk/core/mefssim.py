"""MEF-SSIM: perceptual quality metric for multi-exposure image fusion.

Implements the metric of K. Ma, K. Zeng and Z. Wang, "Perceptual Quality Assessment for
Multi-Exposure Image Fusion", IEEE TIP 24(11), 2015, reproducing the authors' MATLAB code
(``mef_ssim.m`` / ``mef_ms_ssim.m``, "MEF image quality model Version 1.0", as shipped in the
MEFB benchmark) with its default arguments:

* per 11x11 patch (``'valid'`` region only), the patch mean ``mu_k`` and the patch contrast
  ``ed_k = ||x_k - mu_k|| + 0.001`` of every exposure from a uniform window;
* consistency ``R = (||sum_k (x_k - mu_k)|| + eps) / (sum_k ||x_k - mu_k|| + eps)``, clipped to
  ``[eps, 1 - eps]``; exponent ``p = min(tan(pi/2 R), 10)``;
* weights ``w_k = (ed_k / 11)^p + eps`` normalised over k; desired patch
  ``r = max_k(ed_k) * s / ||s||`` with ``s = sum_k w_k (x_k - mu_k) / ed_k`` (``r = 0`` if ``s = 0``);
* local score ``(2 cov(r, f) + C) / (var(r) + var(f) + C)``, ``C = (0.03 * 255)^2``, statistics from
  the 11x11 Gaussian window (sigma 1.5); the single-scale score is the mean over the valid region;
* 3 scales: 2x2 mean filter (``imfilter(..., 'symmetric', 'same')``, i.e. 2x2 block means with the
  last row/column repeated for odd sizes) and decimation by 2 between scales; overall score
  ``prod_l Q_l ** w_l`` with ``w = [0.0448, 0.2856, 0.3001] / sum``.

Instead of the reference's per-pixel loops, every patch statistic is expressed through local
moments (box / Gaussian filtered images and pairwise products): since the desired patch is a linear
combination of the mean-removed exposure patches, ``||s||^2``, ``var(r)`` and ``cov(r, f)`` are
quadratic / bilinear forms in the exposures' local (co)variances.  The whole computation is a
handful of separable convolutions plus element-wise torch ops, hence vectorised and differentiable.
One torch implementation serves both uses: :func:`mef_ssim` (numpy-facing, float64, no autograd) and
:func:`mef_ssim_torch` (differentiable; float64 for evaluation, float32 for training losses).

Deviations from the MATLAB code are at floating-point rounding level only (the 20 reference cases of
shared/testvectors/mefssim agree to < 6e-12).  Where ``||s||^2`` is below the rounding noise of the
moment formulas (every exposure flat over the patch) ``s`` is taken as exactly zero; the reference
instead normalises its rounding noise to a patch of norm ~0.001, a difference of ~1e-9 relative to
``C`` in that local score.  A negative score at some scale makes the product of powers undefined
(MATLAB returns a complex number); here it yields NaN.

Speed, 1-megapixel (1000x1000) case with 3 exposures, all 3 scales, float64, measured on the 2-core
shared development CPU: 0.8-1.2 s with torch's default 2 intra-op threads on a lightly loaded
machine, 0.9-2.5 s with 1 thread (OMP_NUM_THREADS=1) whatever the load.  When other processes
saturate both cores, the default 2 threads are slowed down by OpenMP oversubscription (3-12 s seen
at load average 6-7); this module never changes torch's thread settings.  Peak extra memory is
~0.3 GB, independent of image size thanks to the strip tiling in :func:`_single_scale`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

__all__ = [
    "MEF_SSIM_SCALE_WEIGHTS",
    "mef_ssim",
    "mef_ssim_rgb",
    "mef_ssim_torch",
    "rgb_to_gray_matlab",
]

#: MATLAB ``eps`` (float64 machine epsilon), used by the reference code regardless of precision.
_EPS = float(np.finfo(np.float64).eps)
_WIN = 11  # window size (fspecial('gaussian', 11, 1.5) and the 11x11 uniform window)
_SIGMA = 1.5
_K = 0.03
_C = (_K * 255.0) ** 2
_ED_OFFSET = 0.001  # "add a small constant to avoid instability" (mef_ssim.m)
_P_MAX = 10.0
# tan(pi/2 * R) reaches 10 at R = 2/pi * atan(10); clipping R there (instead of clipping p after the
# tan) gives the same value but never evaluates tan near pi/2, which in float32 can overshoot
# (R == 1 rounds to an argument above pi/2 and tan turns hugely negative).
_R_AT_P_MAX = 2.0 / math.pi * math.atan(_P_MAX)
_RAW_SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001)
#: Default per-scale exponents of mef_ms_ssim.m (normalised to sum to 1).
MEF_SSIM_SCALE_WEIGHTS = tuple(w / sum(_RAW_SCALE_WEIGHTS) for w in _RAW_SCALE_WEIGHTS)

# MATLAB rgb2gray coefficients (first row of inv of the NTSC YIQ matrix), as documented by MathWorks.
_RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _gauss_1d() -> list[float]:
    """1-D factor of fspecial('gaussian', 11, 1.5) (the 2-D window is its outer product)."""
    x = np.arange(_WIN, dtype=np.float64) - (_WIN - 1) / 2
    g = np.exp(-(x * x) / (2 * _SIGMA**2))
    return (g / g.sum()).tolist()


_GAUSS_1D = _gauss_1d()
_BOX_1D = [1.0 / _WIN] * _WIN


_TILE_PIXELS = 1 << 18  # pixels (batch x rows x width) per strip of the quality map
_BLOCK = 64  # output samples per block of the banded-matrix filter


def _filter_last(x: torch.Tensor, k: Sequence[float]) -> torch.Tensor:
    """'valid' correlation with ``k`` along the last dimension, as blocked banded matmuls.

    The signal is cut into overlapping blocks of ``_BLOCK + len(k) - 1`` samples (a strided view)
    and every block is multiplied by a small banded (``_BLOCK + len(k) - 1``, ``_BLOCK``) matrix in
    one plain 2-D GEMM (plus one for a shorter last block).  On CPU this is several times faster
    than float64 ``conv2d`` (which has no optimised kernel) or shifted accumulation, and it is
    differentiable.
    """
    n = len(k)
    out = x.shape[-1] - n + 1
    lead = x.shape[:-1]
    parts = []
    start = 0
    for m, count in ((_BLOCK, out // _BLOCK), (out % _BLOCK, 1)):
        if m == 0 or count == 0:
            continue
        band = torch.zeros(m + n - 1, m, dtype=x.dtype, device=x.device)
        idx = torch.arange(m, device=x.device)
        for j, kj in enumerate(k):
            band[idx + j, idx] = kj
        seg = x[..., start : start + count * m + n - 1]
        blocks = seg.unfold(-1, m + n - 1, m)  # (..., count, m + n - 1), a strided view
        parts.append(torch.mm(blocks.reshape(-1, m + n - 1), band).reshape(*lead, count * m))
        start += count * m
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)


def _filter_valid(x: torch.Tensor, k: Sequence[float]) -> torch.Tensor:
    """Separable 'valid' correlation of every (H, W) plane of ``x`` (..., H, W) with outer(k, k)."""
    y = _filter_last(x.transpose(-1, -2), k).transpose(-1, -2)
    return _filter_last(y, k)


def _safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    """sqrt(max(v, 0)) with a zero (not NaN/inf) gradient where v <= 0."""
    pos = v > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, v, 1.0)), 0.0)


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """imfilter(x, ones(2)/4, 'symmetric', 'same') followed by x(1:2:end, 1:2:end).

    The 2x2 kernel's origin is its top-left element, so output (2i, 2j) is the mean of the block
    starting there; the symmetric pad repeats the last row/column when the size is odd.
    """
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        lead = x.shape[:-2]
        y = x.reshape(-1, 1, h, w)
        y = F.pad(y, (0, w % 2, 0, h % 2), mode="replicate")
        x = y.reshape(*lead, y.shape[-2], y.shape[-1])
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2])


def _pairs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a[:, i] * b[:, j] for all pairs i <= j (row-major, the order of torch.triu_indices), on dim 1."""
    k = a.shape[1]
    return torch.cat([a[:, i : i + 1] * b[:, i:] for i in range(k)], dim=1)


def _single_scale(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """mef_ssim.m for a batch: x (B, K, H, W), f (B, H, W) on a 0-255 scale -> Q (B,).

    The quality map is computed in horizontal strips of about ``_TILE_PIXELS`` pixels (overlapping
    by the window size, so every local score is exactly the full-image one), which bounds the
    memory to a few hundred MB whatever the image size.
    """
    # Every statistic is invariant to adding a constant to an image; removing each image's global
    # mean first reduces cancellation in the E[xy] - E[x]E[y] moment formulas (matters in
    # float32).  Detached: the gradient of the shift is exactly zero.
    x = x - x.mean(dim=(-2, -1), keepdim=True).detach()
    f = f - f.mean(dim=(-2, -1), keepdim=True).detach()
    b, _, h, w = x.shape
    hv, wv = h - _WIN + 1, w - _WIN + 1
    rows = max(2 * _WIN, _TILE_PIXELS // (b * w))
    if rows >= hv:
        return _qmap(x, f).mean(dim=(-2, -1))
    total = x.new_zeros(b)
    for r0 in range(0, hv, rows):
        r1 = min(r0 + rows, hv) + _WIN - 1
        total = total + _qmap(x[..., r0:r1, :], f[..., r0:r1, :]).sum(dim=(-2, -1))
    return total / (hv * wv)


def _qmap(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Local MEF-SSIM scores over the 'valid' region: x (B, K, H, W), f (B, H, W) -> (B, H-10, W-10)."""
    k = x.shape[1]
    n = float(_WIN * _WIN)
    dt, dev = x.dtype, x.device
    ii, jj = torch.triu_indices(k, k)  # all pairs k <= l, the order used by _pairs
    npairs = ii.numel()
    pair_mult = torch.where(ii == jj, 1.0, 2.0).to(dtype=dt, device=dev).view(1, -1, 1, 1)
    diag = (ii == jj).nonzero().flatten().to(dev)  # position of (k, k) among the pairs, in k order

    xx = _pairs(x, x)  # (B, P, H, W)

    # --- uniform-window moments: patch mean, contrast, consistency --------------------------
    u = _filter_valid(torch.cat([x, xx], dim=1), _BOX_1D)
    mu, uxx = u[:, :k], u[:, k:]
    cov_u = uxx - _pairs(mu, mu)  # local covariances (1/n normalisation)
    contrast = _safe_sqrt(n * cov_u[:, diag])  # ||x_k - mu_k||
    ed = contrast + _ED_OFFSET
    num = _safe_sqrt(n * (pair_mult * cov_u).sum(1))  # ||sum_k (x_k - mu_k)||
    den = contrast.sum(1)
    r = (num + _EPS) / (den + _EPS)
    r = torch.where(r > 1, 1 - _EPS, r)
    r = torch.where(r < 0, _EPS, r)
    p = torch.tan(math.pi / 2 * torch.clamp(r, max=_R_AT_P_MAX))  # == min(tan(pi/2 R), 10)

    wmap = (ed / _WIN) ** p.unsqueeze(1) + _EPS
    wmap = wmap / wmap.sum(1, keepdim=True)
    max_ed = ed.amax(1)
    a = wmap / ed  # s = sum_k a_k (x_k - mu_k)
    aa = _pairs(a, a) * pair_mult
    s_msq = (aa * cov_u).sum(1)  # ||s||^2 / n

    # --- Gaussian-window statistics of the desired and the fused patch ------------------------
    g = _filter_valid(torch.cat([x, f[:, None], xx, x * f[:, None], (f * f)[:, None]], dim=1), _GAUSS_1D)
    gx, gf = g[:, :k], g[:, k]
    gxx, gxf, gff = g[:, k + 1 : k + 1 + npairs], g[:, k + 1 + npairs : -1], g[:, -1]
    cov_g = gxx - _pairs(gx, gx)
    s_var = (aa * cov_g).sum(1)  # Gaussian-weighted variance of s
    s_cov = (a * (gxf - gx * gf[:, None])).sum(1)  # Gaussian-weighted covariance of s and f
    sigma2_sq = gff - gf * gf

    # s == 0 (MATLAB's norm(rBlock) > 0 test) up to the rounding noise of the moment formulas.
    with torch.no_grad():
        scale = (a * torch.sqrt(torch.clamp(uxx[:, diag], min=0))).sum(1)
        nonzero = s_msq > 64 * torch.finfo(dt).eps * scale * scale
    s_msq_safe = torch.where(nonzero, s_msq, 1.0)
    sigma1_sq = torch.where(nonzero, max_ed * max_ed * s_var / (n * s_msq_safe), 0.0)
    sigma12 = torch.where(nonzero, max_ed * s_cov / torch.sqrt(n * s_msq_safe), 0.0)

    return (2 * sigma12 + _C) / (sigma1_sq + sigma2_sq + _C)


def _multi_scale(x: torch.Tensor, f: torch.Tensor, scales: int) -> tuple[torch.Tensor, torch.Tensor]:
    """mef_ms_ssim.m: returns (overall (B,), per-scale (B, scales))."""
    if scales < 1:
        raise ValueError("scales must be >= 1")
    if scales == 1:
        q = _single_scale(x, f)
        return q, q[:, None]
    if scales == len(_RAW_SCALE_WEIGHTS):
        weights = MEF_SSIM_SCALE_WEIGHTS
    else:
        # mef_ms_ssim.m rejects a level count that differs from its 3 default weights
        raise ValueError(f"the reference code defines weights for 1 or 3 scales only, got {scales}")
    if min(x.shape[-2:]) / 2 ** (scales - 1) < _WIN:
        raise ValueError(
            f"image too small for {scales} scales: min(H, W) / 2^{scales - 1} must be >= {_WIN}, "
            f"got size {tuple(x.shape[-2:])}"
        )
    qs = []
    for level in range(scales):
        if level:
            x, f = _downsample(x), _downsample(f)
        qs.append(_single_scale(x, f))
    q = torch.stack(qs, dim=1)
    wt = torch.tensor(weights, dtype=q.dtype, device=q.device)
    return torch.prod(q**wt, dim=1), q


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def mef_ssim_torch(
    inputs: torch.Tensor,
    fused: torch.Tensor,
    *,
    scales: int = 3,
    data_range: float = 255.0,
    return_scales: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Differentiable MEF-SSIM (same formula as :func:`mef_ssim`).

    Args:
        inputs: exposures, (B, K, H, W) or (K, H, W), grayscale.
        fused: fused image, (B, 1, H, W), (B, H, W) or (H, W).
        scales: 3 (MEF-SSIM as reported by benchmarks) or 1 (single scale, full resolution).
        data_range: value of white in ``inputs``/``fused`` (255 for 0-255 data, 1 for [0, 1] data);
            the images are rescaled to 0-255 internally since the metric's constants assume it.
        return_scales: also return the per-scale scores, shape (B, scales).

    Returns:
        Score tensor of shape (B,) (or a 0-d tensor for unbatched input), in the dtype of the
        inputs (float64 for evaluation; float32 is fine for a training loss ``1 - score``).
        Gradients are finite everywhere, including on flat patches.
    """
    x = torch.as_tensor(inputs)
    f = torch.as_tensor(fused)
    if not x.is_floating_point():
        x = x.to(torch.float64)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise ValueError(f"inputs must be (B, K, H, W) or (K, H, W), got shape {tuple(x.shape)}")
    f = f.to(dtype=x.dtype, device=x.device)
    if f.ndim == 2:
        f = f.unsqueeze(0)
    elif f.ndim == 4:
        if f.shape[1] != 1:
            raise ValueError(f"fused must be grayscale (B, 1, H, W), got shape {tuple(f.shape)}")
        f = f[:, 0]
    if f.ndim != 3 or f.shape[-2:] != x.shape[-2:] or f.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"fused shape {tuple(f.shape)} does not match inputs {tuple(x.shape)}")
    f = f.expand(x.shape[0], -1, -1)
    if min(x.shape[-2:]) < _WIN:
        raise ValueError(f"images must be at least {_WIN}x{_WIN}, got {tuple(x.shape[-2:])}")
    if data_range != 255.0:
        x = x * (255.0 / data_range)
        f = f * (255.0 / data_range)
    q, qs = _multi_scale(x, f, scales)
    if unbatched:
        q, qs = q[0], qs[0]
    return (q, qs) if return_scales else q


def mef_ssim(
    inputs: Sequence[np.ndarray] | np.ndarray,
    fused: np.ndarray,
    *,
    scales: int = 3,
    return_scales: bool = False,
) -> float | tuple[float, list[float]]:
    """MEF-SSIM score of ``fused`` against the exposure stack ``inputs`` (as mef_ms_ssim.m).

    Args:
        inputs: K grayscale exposures, a (K, H, W) array or a sequence of (H, W) arrays, 0-255 scale
            (uint8 or float).
        fused: (H, W) grayscale fused image, 0-255 scale.
        scales: 3 (default; the benchmarks' "MEF-SSIM") or 1 (single-scale mef_ssim.m).
        return_scales: also return the list of per-scale scores.

    Returns:
        The score as a float, or ``(score, [score_scale1, ...])``.
    """
    x = torch.from_numpy(np.stack([np.asarray(i, dtype=np.float64) for i in inputs]))
    f = torch.from_numpy(np.asarray(fused, dtype=np.float64))
    if x.ndim != 3 or f.ndim != 2:
        raise ValueError("inputs must be K grayscale (H, W) images and fused one (H, W) image")
    with torch.no_grad():
        q, qs = mef_ssim_torch(x, f, scales=scales, return_scales=True)
    if return_scales:
        return float(q), [float(v) for v in qs]
    return float(q)


def rgb_to_gray_matlab(rgb_uint8: np.ndarray) -> np.ndarray:
    """MATLAB ``rgb2gray`` on an 8-bit (..., 3) RGB image -> uint8 (...).

    ``round(0.298936021293775 R + 0.587043074451121 G + 0.114020904255103 B)`` in double precision,
    rounding half away from zero like MATLAB's uint8 conversion.  (The often-quoted 6-digit
    coefficients 0.298936/0.587043/0.114021 give a different result for 236 of the 2^24 colours,
    whose weighted sum lies within 1e-5 of a .5 boundary.)
    """
    rgb = np.asarray(rgb_uint8)
    if rgb.shape[-1] != 3:
        raise ValueError(f"expected (..., 3) RGB, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        raise TypeError(f"expected uint8 RGB, got {rgb.dtype}")
    c = rgb.astype(np.float64)
    y = _RGB2GRAY[0] * c[..., 0] + _RGB2GRAY[1] * c[..., 1] + _RGB2GRAY[2] * c[..., 2]
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def _to_uint8_rgb(img: np.ndarray) -> np.ndarray:
    from hdrdesk.core.io import to_uint

    a = np.asarray(img)
    if a.dtype == np.uint8 or np.issubdtype(a.dtype, np.floating):
        return to_uint(a, 8)
    raise TypeError(f"RGB images must be uint8 or float in [0, 1], got {a.dtype}")


def mef_ssim_rgb(
    inputs_rgb: Sequence[np.ndarray] | np.ndarray,
    fused_rgb: np.ndarray,
    *,
    scales: int = 3,
    return_scales: bool = False,
) -> float | tuple[float, list[float]]:
    """MEF-SSIM of RGB images, as benchmarks compute it (MEFB's metricsMEF_SSIM.m).

    Each image (H, W, 3) may be uint8, or float in [0, 1] (first rounded to 8 bits); all are
    converted with :func:`rgb_to_gray_matlab` and scored with :func:`mef_ssim`.
    """
    grays = [rgb_to_gray_matlab(_to_uint8_rgb(i)) for i in inputs_rgb]
    fused = rgb_to_gray_matlab(_to_uint8_rgb(fused_rgb))
    return mef_ssim(grays, fused, scales=scales, return_scales=return_scales)
