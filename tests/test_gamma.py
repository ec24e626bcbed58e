"""Tests for hdrdesk.core.gamma (pure torch/numpy, no Qt)."""

import numpy as np
import pytest
import torch

from hdrdesk.core.gamma import GAMMA_VARIANTS, GammaParams, gamma_maps, gamma_maps_np


def _textured(h=16, w=16, seed=0, lo=0.3, hi=0.7):
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(h, w, generator=g)


def _stack(*frames):
    return torch.stack(frames)  # (K,H,W)


@pytest.mark.parametrize("variant", GAMMA_VARIANTS)
@pytest.mark.parametrize("batched", [False, True])
def test_sums_to_one_nonnegative(variant, batched):
    g = torch.Generator().manual_seed(1)
    luma = torch.rand(2, 3, 14, 13, generator=g) if batched else torch.rand(3, 14, 13, generator=g)
    gam = gamma_maps(luma, GammaParams(variant=variant))
    assert gam.shape == luma.shape
    assert torch.isfinite(gam).all()
    assert (gam >= 0).all()
    torch.testing.assert_close(gam.sum(dim=-3), torch.ones_like(gam.sum(dim=-3)), atol=1e-5, rtol=0)


def test_variance_picks_textured_exposure():
    flat = torch.full((16, 16), 0.5)
    tex = _textured()
    gam = gamma_maps(_stack(flat, tex), GammaParams(variant="variance"))
    assert (gam[1] > 0.99).all()
    assert (gam[0] < 0.01).all()


def test_gradient_picks_textured_exposure():
    flat = torch.full((16, 16), 0.5)
    tex = _textured()
    gam = gamma_maps(_stack(tex, flat), GammaParams(variant="gradient"))
    assert (gam[0] > 0.99).all()


def test_exposedness_prefers_mid_grey():
    dark = torch.full((12, 12), 0.1)
    mid = torch.full((12, 12), 0.5)
    bright = torch.full((12, 12), 0.95)
    gam = gamma_maps(_stack(dark, mid, bright), GammaParams(variant="exposedness"))
    assert (gam[1] > gam[0]).all() and (gam[1] > gam[2]).all()
    # exact values: exp(-(mu-0.5)^2 / 0.08), normalised
    e = torch.exp(-((torch.tensor([0.1, 0.5, 0.95]) - 0.5) ** 2) / (2 * 0.2**2))
    torch.testing.assert_close(gam[:, 6, 6], e / e.sum(), atol=1e-4, rtol=0)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_hybrid_is_alpha_mix(alpha):
    g = torch.Generator().manual_seed(3)
    luma = torch.rand(1, 2, 15, 15, generator=g)
    luma[:, 0] *= 0.2  # make the two measures disagree somewhat
    v = gamma_maps(luma, GammaParams(variant="variance"))
    gr = gamma_maps(luma, GammaParams(variant="gradient"))
    h = gamma_maps(luma, GammaParams(variant="hybrid", alpha=alpha))
    torch.testing.assert_close(h, alpha * v + (1 - alpha) * gr, atol=1e-6, rtol=0)


@pytest.mark.parametrize("variant", ["variance", "gradient", "hybrid"])
def test_flat_frames_give_uniform(variant):
    # different constants per frame: zero variance / gradient everywhere
    luma = _stack(*(torch.full((12, 12), c) for c in (0.05, 0.5, 0.9)))
    gam = gamma_maps(luma, GammaParams(variant=variant))
    assert torch.isfinite(gam).all()
    torch.testing.assert_close(gam, torch.full_like(gam, 1 / 3), atol=1e-6, rtol=0)


@pytest.mark.parametrize("variant", GAMMA_VARIANTS)
def test_identical_flat_frames_uniform_all_variants(variant):
    luma = torch.zeros(1, 4, 12, 12)
    gam = gamma_maps(luma, GammaParams(variant=variant))
    assert torch.isfinite(gam).all()
    torch.testing.assert_close(gam, torch.full_like(gam, 0.25), atol=1e-6, rtol=0)


def test_parameters_change_window():
    luma = torch.rand(2, 16, 16, generator=torch.Generator().manual_seed(4))
    a = gamma_maps(luma, GammaParams(variant="variance", window=3, sigma=0.8))
    b = gamma_maps(luma, GammaParams(variant="variance", window=11, sigma=1.5))
    assert a.shape == b.shape == luma.shape
    assert not torch.allclose(a, b)


def test_detached_and_dtype():
    luma = torch.rand(1, 2, 12, 12, dtype=torch.float64, requires_grad=True)
    gam = gamma_maps(luma)
    assert gam.dtype == torch.float64
    assert not gam.requires_grad


def test_numpy_wrapper():
    luma = np.random.default_rng(0).random((3, 12, 12))  # float64 in
    out = gamma_maps_np(luma, GammaParams(variant="variance"))
    assert out.dtype == np.float32 and out.shape == luma.shape
    np.testing.assert_allclose(out.sum(axis=0), 1.0, atol=1e-5)
    ref = gamma_maps(torch.from_numpy(luma.astype(np.float32)), GammaParams(variant="variance"))
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"variant": "laplacian"},
        {"window": 10},
        {"window": 1},
        {"window": 2.0},
        {"alpha": -0.1},
        {"alpha": 1.5},
        {"sigma": 0.0},
    ],
)
def test_invalid_params_raise(kwargs):
    with pytest.raises(ValueError):
        GammaParams(**kwargs)


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        gamma_maps(torch.rand(12, 12))
    with pytest.raises(ValueError):
        gamma_maps(torch.rand(2, 4, 4))  # too small for window 11 reflect padding
    with pytest.raises(ValueError):
        gamma_maps_np(np.zeros((1, 2, 12, 12), np.float32))


@pytest.mark.parametrize("variant", ["variance", "gradient", "hybrid"])
def test_flat_region_inside_textured_image_is_near_uniform(variant):
    # Each frame: a different constant on the left, texture on the right.
    # Far from the texture (beyond the Gaussian support) all measures are ~0.
    h, w = 16, 48
    frames = []
    for k, c in enumerate((0.1, 0.5, 0.85)):
        f = torch.full((h, w), c)
        f[:, 32:] = _textured(h, 16, seed=10 + k)
        frames.append(f)
    gam = gamma_maps(_stack(*frames), GammaParams(variant=variant))
    torch.testing.assert_close(gam[:, :, :12], torch.full_like(gam[:, :, :12], 1 / 3), atol=1e-4, rtol=0)
