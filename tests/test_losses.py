"""Tests for hdrdesk.core.losses (pure torch, no Qt)."""

import torch

from hdrdesk.core.gamma import GammaParams, gamma_maps
from hdrdesk.core.losses import ssim_map, weighted_ssim_loss


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_ssim_map_identical_is_one():
    x = _rand(2, 1, 12, 14)
    s = ssim_map(x, x)
    assert s.shape == x.shape
    torch.testing.assert_close(s, torch.ones_like(s), atol=1e-5, rtol=0)


def test_ssim_map_broadcasts_and_is_below_one_for_different():
    x = _rand(1, 1, 12, 12, seed=1)
    y = torch.cat([x, _rand(1, 1, 12, 12, seed=2)], dim=1)
    s = ssim_map(x, y)
    assert s.shape == (1, 2, 12, 12)
    torch.testing.assert_close(s[:, 0], torch.ones_like(s[:, 0]), atol=1e-5, rtol=0)
    assert s[:, 1].mean() < 0.5
    assert (s <= 1 + 1e-5).all()


def test_gradcheck_float64():
    # default window 11 on 1x2x12x12; fast_mode checks a random projection of
    # the Jacobian (the full check costs 2*144 forwards, too slow for CI).
    fused = _rand(1, 1, 12, 12, seed=3, dtype=torch.float64).requires_grad_(True)
    luma = _rand(1, 2, 12, 12, seed=4, dtype=torch.float64)
    gamma = gamma_maps(luma, GammaParams(variant="hybrid"))
    assert torch.autograd.gradcheck(
        lambda f: weighted_ssim_loss(f, luma, gamma), (fused,), eps=1e-6, atol=1e-5, fast_mode=True
    )


def test_gradcheck_float64_full_small_window():
    fused = _rand(1, 1, 6, 6, seed=13, dtype=torch.float64).requires_grad_(True)
    luma = _rand(1, 2, 6, 6, seed=14, dtype=torch.float64)
    gamma = gamma_maps(luma, GammaParams(variant="variance", window=3, sigma=1.0))
    assert torch.autograd.gradcheck(
        lambda f: weighted_ssim_loss(f, luma, gamma, window=3, sigma=1.0), (fused,), eps=1e-6, atol=1e-5
    )


def test_loss_zero_for_one_hot_match():
    luma = _rand(2, 3, 12, 12, seed=5)
    gamma = torch.zeros_like(luma)
    gamma[:, 2] = 1.0
    loss = weighted_ssim_loss(luma[:, 2:3].clone(), luma, gamma)
    assert loss.dim() == 0
    assert abs(loss.item()) < 1e-5


def test_loss_smallest_for_gamma_selected_exposure():
    h = w = 16
    flat = torch.full((1, 1, h, w), 0.45)
    tex = 0.2 + 0.6 * _rand(1, 1, h, w, seed=6)
    luma = torch.cat([flat, tex], dim=1)
    gamma = gamma_maps(luma, GammaParams(variant="variance"))
    l_tex = weighted_ssim_loss(tex, luma, gamma)
    l_flat = weighted_ssim_loss(flat, luma, gamma)
    l_mean = weighted_ssim_loss(luma.mean(dim=1, keepdim=True), luma, gamma)
    assert l_tex < l_mean < l_flat
    assert l_tex.item() < 1e-3


def test_gamma_is_treated_as_constant():
    fused = _rand(1, 1, 12, 12, seed=7).requires_grad_(True)
    luma = _rand(1, 2, 12, 12, seed=8)
    gamma = torch.full_like(luma, 0.5).requires_grad_(True)
    loss = weighted_ssim_loss(fused, luma, gamma)
    loss.backward()
    assert gamma.grad is None
    assert fused.grad is not None and torch.isfinite(fused.grad).all()
