"""Losses for the unsupervised fusion model (Qt-free, PyTorch).

``ssim_map`` is the local SSIM map (Gaussian window, reflect padding, same
spatial size as the input).  ``weighted_ssim_loss`` is

    L = 1 - mean_x sum_k gamma_k(x) * SSIM_x(F, Y_k)

with ``gamma`` the (detached) per-exposure maps of :mod:`hdrdesk.core.gamma`.
See ``docs/method.md``.
"""

from __future__ import annotations

import torch

from .gamma import gaussian_window_blur

__all__ = ["ssim_map", "weighted_ssim_loss"]


def ssim_map(
    x: torch.Tensor,
    y: torch.Tensor,
    window: int = 11,
    sigma: float = 1.5,
    C1: float = 0.01**2,
    C2: float = 0.03**2,
) -> torch.Tensor:
    """Local SSIM map of ``x`` against every channel of ``y``.

    Args:
        x: (B,1,H,W) (or (B,K,H,W)) image on [0, 1].
        y: (B,K,H,W) images on [0, 1]; ``x`` broadcasts over K.
        window, sigma: Gaussian window (odd size) and its std.
        C1, C2: SSIM stabilisers for data range 1.

    Returns:
        (B,K,H,W) map, ``SSIM_x = (2 mu_x mu_y + C1)(2 s_xy + C2) /
        ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))``.
    """
    if x.dim() != 4 or y.dim() != 4:
        raise ValueError(
            f"ssim_map expects 4-D (B,C,H,W) tensors, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[-2:] != y.shape[-2:]:
        raise ValueError(f"spatial sizes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.shape[1] not in (1, y.shape[1]):
        raise ValueError(f"x must have 1 or K={y.shape[1]} channels, got {x.shape[1]}")

    def blur(t: torch.Tensor) -> torch.Tensor:
        return gaussian_window_blur(t, window, sigma)

    mu_x = blur(x)
    mu_y = blur(y)
    s_xx = blur(x * x) - mu_x * mu_x
    s_yy = blur(y * y) - mu_y * mu_y
    s_xy = blur(x * y) - mu_x * mu_y

    num = (2.0 * mu_x * mu_y + C1) * (2.0 * s_xy + C2)
    den = (mu_x * mu_x + mu_y * mu_y + C1) * (s_xx + s_yy + C2)
    return num / den


def weighted_ssim_loss(
    fused: torch.Tensor,
    luma: torch.Tensor,
    gamma: torch.Tensor,
    window: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """Weighted SSIM loss ``1 - mean_x sum_k gamma_k(x) SSIM_x(F, Y_k)``.

    Args:
        fused: (B,1,H,W) fused luma F on [0, 1]; gradients flow into it.
        luma:  (B,K,H,W) exposure lumas Y_k on [0, 1].
        gamma: (B,K,H,W) weights (summing to 1 over K); detached here.

    Returns:
        Scalar loss tensor (0 when F matches the gamma-selected content).
    """
    if fused.dim() != 4 or fused.shape[1] != 1:
        raise ValueError(f"fused must be (B,1,H,W), got {tuple(fused.shape)}")
    if luma.dim() != 4:
        raise ValueError(f"luma must be (B,K,H,W), got {tuple(luma.shape)}")
    if gamma.shape != luma.shape:
        raise ValueError(
            f"gamma shape {tuple(gamma.shape)} must equal luma shape {tuple(luma.shape)}"
        )
    if fused.shape[0] != luma.shape[0] or fused.shape[-2:] != luma.shape[-2:]:
        raise ValueError(
            f"fused {tuple(fused.shape)} and luma {tuple(luma.shape)} disagree in batch or size"
        )
    s = ssim_map(fused, luma, window, sigma)
    return 1.0 - (gamma.detach() * s).sum(dim=1).mean()
