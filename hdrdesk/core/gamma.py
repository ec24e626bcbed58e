"""Per-exposure 'gamma' detail maps (Qt-free, PyTorch).

A gamma map assigns each exposure ``k`` of a bracket a per-pixel weight
``gamma_k(x) >= 0`` with ``sum_k gamma_k(x) = 1``.  The weights say how much
each exposure should contribute to the fused image at ``x``; they are used as
the (constant, detached) target weighting of the weighted-SSIM loss in
:mod:`hdrdesk.core.losses` and shown as an overlay in the GUI.

Variants (``G`` is a Gaussian window of size ``window`` and std ``sigma``,
``*`` is convolution with reflect padding, ``Y_k`` is the luma of exposure k):

``variance``
    local variance ``s_k = G*Y_k^2 - (G*Y_k)^2`` (the SSIM ``sigma^2`` term).
``gradient``
    Sobel gradient magnitude smoothed over the window,
    ``g_k = G*sqrt((dY_k/dx)^2 + (dY_k/dy)^2)``.
``exposedness``
    ``e_k = exp(-(mu_k - 0.5)^2 / (2 * 0.2^2))`` with ``mu_k = G*Y_k``.
``hybrid``
    ``alpha * gamma^variance + (1 - alpha) * gamma^gradient``.

Each raw measure ``m_k`` is normalised as
``gamma_k = (m_k + eps) / sum_j (m_j + eps)`` (``eps`` per measure, see
:data:`EPS_VARIANCE`, :data:`EPS_GRADIENT`, :data:`EPS`), so flat regions (all
measures zero) give the uniform weight ``1/K`` instead of NaN.  The measures
are computed in float64 on CPU/CUDA (float32 round-off of ``G*x^2 - (G*x)^2``
is of the order of ``eps``) and the result is cast back to the input dtype.

Sizes: with reflect padding the image must be larger than ``window // 2`` in
both dimensions, otherwise a ValueError is raised.

See ``docs/method.md`` for the formulas in full.
"""

from __future__ import annotations

# torch and kornia are imported inside the functions that use them: the app imports this module
# on its start-up path (GammaParams), where importing torch would delay the first paint by seconds.
from dataclasses import dataclass

import numpy as np

from hdrdesk.defaults import DEFAULT_GAMMA_VARIANT as _DEFAULT_GAMMA_VARIANT

__all__ = [
    "GAMMA_VARIANTS",
    "DEFAULT_GAMMA_VARIANT",
    "GammaParams",
    "sigma_for_window",
    "gamma_maps_tiled",
    "EPS",
    "EPS_VARIANCE",
    "EPS_GRADIENT",
    "EXPOSEDNESS_MID",
    "EXPOSEDNESS_SIGMA",
    "gamma_maps",
    "gamma_maps_np",
    "gaussian_window_blur",
    "local_mean",
    "local_variance",
    "gradient_magnitude",
    "well_exposedness",
]

GAMMA_VARIANTS: tuple[str, ...] = ("variance", "gradient", "exposedness", "hybrid")
#: The variant the shipped model was trained with (see :mod:`hdrdesk.defaults`).
DEFAULT_GAMMA_VARIANT: str = _DEFAULT_GAMMA_VARIANT

#: Added to every raw measure before normalising over exposures, so that
#: pixels where all K measures vanish get the uniform weight 1/K.  The value is
#: per measure, well below anything meaningful for [0, 1] data (an 8-bit step
#: is ~4e-3) but above float32 round-off of the filters:
#: variance is a squared quantity (1e-8 <-> a local std of 1e-4) ...
EPS_VARIANCE: float = 1e-8
#: ... the smoothed gradient magnitude is linear in the data ...
EPS_GRADIENT: float = 1e-6
#: ... and well-exposedness is always >= exp(-3.125) > 0, this only guards.
EPS: float = 1e-8
#: Well-exposedness is a Gaussian around this local mean ...
EXPOSEDNESS_MID: float = 0.5
#: ... with this standard deviation.
EXPOSEDNESS_SIGMA: float = 0.2


def sigma_for_window(window: int) -> float:
    """The Gaussian's std for a gamma window: SSIM's 1.5 for 11, scaled with the window.

    The one rule for training (the loss's target weighting) and the overlay, so a map
    shown for any window is the map a network trained with that window saw.
    """
    return round(1.5 * window / 11.0, 3)


@dataclass(frozen=True)
class GammaParams:
    """Parameters of the gamma maps.

    variant: one of :data:`GAMMA_VARIANTS`.
    window:  odd Gaussian window size (>= 3), as in SSIM (11).
    sigma:   Gaussian standard deviation (> 0), as in SSIM (1.5).
    alpha:   hybrid mix, weight of the variance gamma (0 <= alpha <= 1).
    """

    variant: str = DEFAULT_GAMMA_VARIANT
    window: int = 11
    sigma: float = 1.5
    alpha: float = 0.5

    def __post_init__(self) -> None:
        if self.variant not in GAMMA_VARIANTS:
            raise ValueError(
                f"unknown gamma variant {self.variant!r}; expected one of {GAMMA_VARIANTS}"
            )
        if isinstance(self.window, bool) or not isinstance(self.window, (int, np.integer)):
            raise ValueError(f"gamma window must be an int, got {self.window!r}")
        if self.window < 3 or self.window % 2 == 0:
            raise ValueError(f"gamma window must be odd and >= 3, got {self.window}")
        if not (float(self.sigma) > 0.0) or not np.isfinite(self.sigma):
            raise ValueError(f"gamma sigma must be a finite number > 0, got {self.sigma!r}")
        if not (0.0 <= float(self.alpha) <= 1.0):
            raise ValueError(f"gamma alpha must lie in [0, 1], got {self.alpha!r}")

    @classmethod
    def for_window(cls, variant: str = DEFAULT_GAMMA_VARIANT, window: int = 11, alpha: float = 0.5) -> "GammaParams":
        """Parameters whose sigma follows :func:`sigma_for_window` (what training and the app use)."""
        return cls(variant, window, sigma_for_window(window), alpha)


# --------------------------------------------------------------------------- #
# Filters (all keep the spatial size, reflect padding)
# --------------------------------------------------------------------------- #
def _centre(x: torch.Tensor) -> torch.Tensor:
    """Subtract each image's spatial mean (exact zeros for constant images)."""
    return x - x.mean(dim=(-2, -1), keepdim=True)


def _check_size(x: torch.Tensor, window: int) -> None:
    h, w = x.shape[-2:]
    pad = window // 2
    if h <= pad or w <= pad:
        raise ValueError(
            f"image of size {h}x{w} is too small for reflect padding with window {window} "
            f"(need height and width > {pad})"
        )


def gaussian_window_blur(x: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Gaussian blur of a (B,C,H,W) tensor, reflect padding, same size out."""
    from kornia.filters import gaussian_blur2d

    _check_size(x, window)
    return gaussian_blur2d(x, (window, window), (float(sigma), float(sigma)), border_type="reflect")


def local_mean(x: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """``mu = G * x``."""
    return gaussian_window_blur(x, window, sigma)


def local_variance(x: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """``sigma^2 = G * x^2 - (G * x)^2`` (clamped at 0), as in SSIM.

    Variance is shift-invariant, so each image is first centred on its own
    spatial mean; this avoids cancellation and makes a constant image give
    exactly zero variance.
    """
    xc = _centre(x)
    mu = gaussian_window_blur(xc, window, sigma)
    return (gaussian_window_blur(xc * xc, window, sigma) - mu * mu).clamp_min(0.0)


def gradient_magnitude(x: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Sobel gradient magnitude (kornia, normalised kernels), smoothed with G.

    The Sobel filter is applied with reflect padding (kornia's
    ``spatial_gradient`` replicates borders, so the input is reflect-padded by
    one pixel first and the result cropped back).  The gradient is
    shift-invariant, so each image is centred on its spatial mean first, which
    makes a constant image give exactly zero.
    """
    import torch
    import torch.nn.functional as F
    from kornia.filters import spatial_gradient

    _check_size(x, 3)
    xp = F.pad(_centre(x), (1, 1, 1, 1), mode="reflect")
    g = spatial_gradient(xp, mode="sobel", order=1, normalized=True)[..., 1:-1, 1:-1]
    mag = torch.sqrt(g[:, :, 0] ** 2 + g[:, :, 1] ** 2)
    return gaussian_window_blur(mag, window, sigma)


def well_exposedness(x: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """``exp(-(mu - 0.5)^2 / (2 * 0.2^2))`` on the local mean ``mu = G * x``."""
    import torch

    mu = local_mean(x, window, sigma)
    return torch.exp(-((mu - EXPOSEDNESS_MID) ** 2) / (2.0 * EXPOSEDNESS_SIGMA**2))


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 where the device supports it (CPU, CUDA), else the input dtype.

    The measures are differences of blurred quantities (``G*x^2 - (G*x)^2``);
    in float32 the Gaussian kernel's sum differs from 1 by ~1e-7, which leaves
    round-off of order ``1e-7 * x^2`` in flat regions, comparable to the
    epsilon.  Computing the (cheap) measures in float64 removes that.
    """
    import torch

    if x.device.type in ("cpu", "cuda"):
        return torch.float64
    return x.dtype


def _normalise(m: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Normalise non-negative measures over the exposure axis (dim 1)."""
    m = m.clamp_min(0.0) + eps
    return m / m.sum(dim=1, keepdim=True)


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #
def gamma_maps(luma: torch.Tensor, params: GammaParams = GammaParams()) -> torch.Tensor:
    """Per-exposure gamma maps.

    Args:
        luma: (B,K,H,W) or (K,H,W) luma stack in [0, 1], K exposures.
        params: :class:`GammaParams`.

    Returns:
        Tensor of the same shape (and floating dtype), non-negative, summing
        to 1 over the K axis at every pixel.  The result is detached: gamma is a
        constant target weighting, no gradient flows through it.
    """
    import torch

    if not isinstance(params, GammaParams):
        raise TypeError(f"params must be a GammaParams, got {type(params).__name__}")
    if not torch.is_tensor(luma):
        raise TypeError(f"luma must be a torch.Tensor, got {type(luma).__name__}")
    if luma.dim() not in (3, 4):
        raise ValueError(f"luma must be (B,K,H,W) or (K,H,W), got shape {tuple(luma.shape)}")
    squeeze = luma.dim() == 3
    x = luma.detach()
    if not torch.is_floating_point(x):
        x = x.float()
    out_dtype = x.dtype
    x = x.to(_compute_dtype(x))
    if squeeze:
        x = x.unsqueeze(0)
    if x.shape[1] < 1:
        raise ValueError("luma must contain at least one exposure")

    w, s = params.window, params.sigma
    with torch.no_grad():
        if params.variant == "variance":
            gamma = _normalise(local_variance(x, w, s), EPS_VARIANCE)
        elif params.variant == "gradient":
            gamma = _normalise(gradient_magnitude(x, w, s), EPS_GRADIENT)
        elif params.variant == "exposedness":
            gamma = _normalise(well_exposedness(x, w, s))
        else:  # hybrid
            a = float(params.alpha)
            gamma = a * _normalise(local_variance(x, w, s), EPS_VARIANCE) + (1.0 - a) * _normalise(
                gradient_magnitude(x, w, s), EPS_GRADIENT
            )

    gamma = gamma.to(out_dtype)
    return gamma.squeeze(0) if squeeze else gamma


def gamma_maps_np(luma: np.ndarray, params: GammaParams = GammaParams()) -> np.ndarray:
    """NumPy wrapper for the GUI overlay: (K,H,W) in [0,1] -> (K,H,W) float32."""
    import torch

    arr = np.asarray(luma, dtype=np.float32)
    if arr.ndim != 3:
        raise ValueError(f"luma must be (K,H,W), got shape {arr.shape}")
    with torch.no_grad():
        out = gamma_maps(torch.from_numpy(np.ascontiguousarray(arr)), params)
    return out.cpu().numpy().astype(np.float32, copy=False)


def gamma_maps_tiled(lumas: np.ndarray, params: GammaParams, task=None, tile: int = 1024) -> np.ndarray:
    """Full-resolution gamma maps in tiles (bounded memory), equal to one call on the whole stack.

    Every measure is local (a window of ``params.window`` plus one pixel for
    the Sobel filter) and shift invariant, so a tile computed with that much
    margin matches the untiled result in its interior; tiles that touch the
    image border see the same reflect padding as the whole image does.
    ``task`` (a :class:`hdrdesk.tasks.TaskState` or SubTask) gets progress and can cancel.
    """
    k, h, w = lumas.shape
    if h <= tile and w <= tile:
        return gamma_maps_np(lumas, params)
    margin = params.window + 2
    out = np.empty((k, h, w), np.float32)
    ys = list(range(0, h, tile))
    xs = list(range(0, w, tile))
    n, done = len(ys) * len(xs), 0
    for y0 in ys:
        for x0 in xs:
            y1, x1 = min(h, y0 + tile), min(w, x0 + tile)
            a0, b0 = max(0, y0 - margin), max(0, x0 - margin)
            a1, b1 = min(h, y1 + margin), min(w, x1 + margin)
            g = gamma_maps_np(lumas[:, a0:a1, b0:b1], params)
            out[:, y0:y1, x0:x1] = g[:, y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
            done += 1
            if task is not None:
                task.report(done / n, "Gamma maps")
    return out
