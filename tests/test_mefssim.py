"""Tests for hdrdesk.core.mefssim (MEF-SSIM, Ma, Zeng & Wang, IEEE TIP 2015)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hdrdesk.core.mefssim import (
    MEF_SSIM_SCALE_WEIGHTS,
    mef_ssim,
    mef_ssim_rgb,
    mef_ssim_torch,
    rgb_to_gray_matlab,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "testvectors" / "mefssim"
TOL = 1e-6


def _load_cases() -> list[dict]:
    path = VECTORS / "expected.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text())


CASES = _load_cases()
needs_vectors = pytest.mark.skipif(
    not CASES, reason=f"MEF-SSIM reference vectors not found at {VECTORS} (expected.json)"
)


def _read_gray(rel: str) -> np.ndarray:
    img = cv2.imread(str(VECTORS / rel), cv2.IMREAD_UNCHANGED)
    assert img is not None, rel
    assert img.ndim == 2 and img.dtype == np.uint8, (rel, img.shape, img.dtype)
    return img


# ------------------------------------------------------------------------------------------
# reference values from the authors' MATLAB code
# ------------------------------------------------------------------------------------------
@needs_vectors
@pytest.mark.parametrize("case", CASES, ids=[c["fused"] for c in CASES] or None)
def test_reference_values(case):
    inputs = [_read_gray(p) for p in case["inputs"]]
    fused = _read_gray(case["fused"])

    q, qs = mef_ssim(inputs, fused, return_scales=True)
    assert isinstance(q, float)
    assert len(qs) == 3
    assert q == pytest.approx(case["mef_ms_ssim"], abs=TOL)
    for got, want in zip(qs, case["scales"]):
        assert got == pytest.approx(want, abs=TOL)

    q1 = mef_ssim(np.stack(inputs), fused, scales=1)  # (K, H, W) array input, single scale
    assert isinstance(q1, float)
    assert q1 == pytest.approx(case["mef_ssim_single_scale"], abs=TOL)


@needs_vectors
def test_reference_cases_present():
    assert len(CASES) == 20


# ------------------------------------------------------------------------------------------
# an independent, literal (loop) port of mef_ssim.m on tiny images, flat patches included
# ------------------------------------------------------------------------------------------
def _fspecial_gaussian(size=11, sigma=1.5):
    ax = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(ax, ax)
    h = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def _mef_ssim_loops(seq: np.ndarray, fI: np.ndarray) -> float:
    """Line-by-line port of mef_ssim.m (seq is (K, H, W) here)."""
    eps = np.finfo(float).eps
    window = _fspecial_gaussian()
    seq = seq.astype(np.float64)
    fI = fI.astype(np.float64)
    K, s1, s2 = seq.shape
    ws, bd = 11, 5
    h, w = s1 - 2 * bd, s2 - 2 * bd
    mu = np.zeros((K, h, w))
    ed = np.zeros((K, h, w))
    for k in range(K):
        for i in range(h):
            for j in range(w):
                blk = seq[k, i : i + ws, j : j + ws]
                mu[k, i, j] = blk.mean()
                sig = (blk * blk).mean() - mu[k, i, j] ** 2
                ed[k, i, j] = np.sqrt(max(ws * ws * sig, 0)) + 0.001
    R = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            vecs = seq[:, i : i + ws, j : j + ws].reshape(K, -1)
            den = sum(np.linalg.norm(vecs[k] - mu[k, i, j]) for k in range(K))
            sv = vecs.sum(0)
            num = np.linalg.norm(sv - sv.mean())
            R[i, j] = (num + eps) / (den + eps)
    R[R > 1] = 1 - eps
    R[R < 0] = eps
    p = np.minimum(np.tan(np.pi / 2 * R), 10)
    wmap = (ed / ws) ** p[None] + eps
    wmap = wmap / wmap.sum(0)
    max_ed = ed.max(0)
    C = (0.03 * 255) ** 2
    q = np.zeros((h, w))
    g = window.ravel()
    for i in range(h):
        for j in range(w):
            blocks = seq[:, i : i + ws, j : j + ws]
            r = np.zeros((ws, ws))
            for k in range(K):
                r += wmap[k, i, j] * (blocks[k] - mu[k, i, j]) / ed[k, i, j]
            nr = np.linalg.norm(r)
            if nr > 0:
                r = r / nr * max_ed[i, j]
            rv, fv = r.ravel(), fI[i : i + ws, j : j + ws].ravel()
            m1, m2 = (g * rv).sum(), (g * fv).sum()
            v1 = (g * (rv - m1) ** 2).sum()
            v2 = (g * (fv - m2) ** 2).sum()
            c12 = (g * (rv - m1) * (fv - m2)).sum()
            q[i, j] = (2 * c12 + C) / (v1 + v2 + C)
    return float(q.mean())


def _tiny_stack(seed: int, h: int = 24, w: int = 27):
    rng = np.random.default_rng(seed)
    scene = rng.random((h, w)) * 0.6 + np.linspace(0, 0.8, w)[None]
    seq = np.stack([np.clip(np.round(255 * scene * e), 0, 255) for e in (0.4, 1.0, 2.5)])
    seq[0, :12, :12] = 0  # flat black corner in the dark exposure
    seq[1:, :14, :14] = 255  # and saturated in the others: fully flat patches there
    seq[2, :, 15:] = 255  # long exposure saturated on the right
    fused = np.clip(np.round(seq.mean(0) + rng.normal(0, 4, (h, w))), 0, 255)
    fused[:13, :13] = 128  # flat fused patch over the flat inputs
    return seq.astype(np.uint8), fused.astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_literal_port_with_flat_patches(seed):
    seq, fused = _tiny_stack(seed)
    want = _mef_ssim_loops(seq, fused)
    got = mef_ssim(seq, fused, scales=1)
    assert got == pytest.approx(want, abs=1e-10)


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------
def test_identical_single_exposure_is_one():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (60, 70)).astype(np.uint8)
    img[:20, :20] = 200  # flat area too
    # not exactly 1 even in exact arithmetic: the desired patch is rescaled to ||x - mu|| + 0.001
    assert mef_ssim([img], img, scales=1) == pytest.approx(1.0, abs=1e-9)
    q, qs = mef_ssim([img], img, return_scales=True)
    assert q == pytest.approx(1.0, abs=1e-9)
    assert qs == pytest.approx([1.0, 1.0, 1.0], abs=1e-9)


def test_strip_tiling_is_exact(monkeypatch):
    import hdrdesk.core.mefssim as m

    seq, fused = _tiny_stack(4, 70, 64)
    whole, whole_scales = mef_ssim(seq, fused, return_scales=True)
    monkeypatch.setattr(m, "_TILE_PIXELS", 64 * 23)  # strips of 23 rows (uneven last strip)
    tiled, tiled_scales = mef_ssim(seq, fused, return_scales=True)
    assert tiled == pytest.approx(whole, abs=1e-13)
    assert tiled_scales == pytest.approx(whole_scales, abs=1e-13)


def test_scale_weights_normalised():
    assert sum(MEF_SSIM_SCALE_WEIGHTS) == pytest.approx(1.0, abs=1e-15)
    assert MEF_SSIM_SCALE_WEIGHTS[0] == pytest.approx(0.0448 / 0.6305, abs=1e-15)


def test_rejects_images_too_small_for_three_scales():
    img = np.zeros((40, 60), np.uint8)
    with pytest.raises(ValueError):
        mef_ssim([img, img], img)  # 40 / 4 < 11
    mef_ssim([img, img], img, scales=1)  # fine at one scale
    with pytest.raises(ValueError):
        mef_ssim([img, img], img, scales=2)


# ------------------------------------------------------------------------------------------
# torch version
# ------------------------------------------------------------------------------------------
def test_torch_matches_numpy_and_batches():
    seqs, fuseds, want = [], [], []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        scene = cv2.GaussianBlur(rng.random((64, 72)), (0, 0), 3) * 1.5
        seq = np.stack([np.clip(np.round(255 * scene * e), 0, 255) for e in (0.5, 1.0, 2.0)])
        fused = np.clip(np.round(seq.mean(0) + rng.normal(0, 3, scene.shape)), 0, 255)
        seqs.append(seq)
        fuseds.append(fused)
        want.append(mef_ssim(seq, fused, return_scales=True))

    x = torch.tensor(np.stack(seqs), dtype=torch.float64)  # (B, K, H, W)
    f = torch.tensor(np.stack(fuseds), dtype=torch.float64)[:, None]  # (B, 1, H, W)
    q, qs = mef_ssim_torch(x, f, return_scales=True)
    assert q.shape == (2,) and qs.shape == (2, 3) and q.dtype == torch.float64
    for b in range(2):
        assert q[b].item() == pytest.approx(want[b][0], abs=1e-10)
        assert qs[b].tolist() == pytest.approx(want[b][1], abs=1e-10)

    # unbatched (K, H, W) / (H, W) -> 0-d tensor
    q0 = mef_ssim_torch(x[0], f[0, 0])
    assert q0.ndim == 0 and q0.item() == pytest.approx(want[0][0], abs=1e-10)

    # [0, 1] data with data_range=1
    q01 = mef_ssim_torch(x / 255, f / 255, data_range=1.0)
    assert torch.allclose(q01, q, atol=1e-10, rtol=0)

    # float32 (training precision) stays close to the float64 evaluation
    q32 = mef_ssim_torch(x.float() / 255, f.float() / 255, data_range=1.0)
    assert q32.dtype == torch.float32
    assert torch.allclose(q32.double(), q, atol=1e-4, rtol=0)

    # single scale
    q1 = mef_ssim_torch(x, f, scales=1)
    for b in range(2):
        assert q1[b].item() == pytest.approx(mef_ssim(seqs[b], fuseds[b], scales=1), abs=1e-10)


def test_gradcheck_single_scale():
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.uniform(0, 255, (1, 2, 13, 14)), requires_grad=True)
    f = torch.tensor(rng.uniform(0, 255, (1, 1, 13, 14)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: mef_ssim_torch(a, b, scales=1), (x, f), eps=1e-6, atol=1e-7)


def test_gradcheck_three_scales_fast():
    # correlated images: an unrelated fused image can score < 0 at some scale (-> NaN product)
    rng = np.random.default_rng(6)
    scene = rng.uniform(0, 0.5, (44, 46))
    x = torch.tensor(np.stack([scene * 0.7, scene * 1.6])[None] + rng.uniform(0, 0.1, (1, 2, 44, 46)))
    f = torch.tensor(scene[None, None] + rng.uniform(0, 0.1, (1, 1, 44, 46)))
    x.requires_grad_(True)
    f.requires_grad_(True)
    assert mef_ssim_torch(x, f, data_range=1.0).item() > 0.3
    fn = lambda a, b: mef_ssim_torch(a, b, data_range=1.0)  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, f), eps=1e-6, atol=1e-6, fast_mode=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gradients_finite_on_flat_patches(dtype):
    seq, fused = _tiny_stack(0, 48, 50)
    seq[:, :, :] = np.where(np.arange(50)[None, None] < 25, seq, 90)  # right half flat everywhere
    x = torch.tensor(seq, dtype=dtype)[None].requires_grad_(True)
    f = torch.full((1, 1, 48, 50), 90.0, dtype=dtype)
    f[..., :20] = torch.tensor(fused[:, :20], dtype=dtype)
    f.requires_grad_(True)
    loss = 1 - mef_ssim_torch(x, f, scales=1).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(x.grad).all() and torch.isfinite(f.grad).all()
    assert f.grad.abs().sum() > 0


# ------------------------------------------------------------------------------------------
# colour conversion
# ------------------------------------------------------------------------------------------
def test_rgb_to_gray_matlab_rounding():
    px = np.array(
        [
            [0, 0, 0],
            [255, 255, 255],
            [255, 0, 0],  # 76.228... -> 76
            [0, 255, 0],  # 149.696 -> 150
            [0, 0, 255],  # 29.075 -> 29
            [0, 49, 138],  # 44.49999544 -> 44 (the 6-digit coefficients give 44.500005 -> 45)
            [10, 20, 30],  # 18.1508... -> 18
        ],
        dtype=np.uint8,
    ).reshape(1, -1, 3)
    got = rgb_to_gray_matlab(px)
    assert got.dtype == np.uint8 and got.shape == (1, 7)
    assert got.ravel().tolist() == [0, 255, 76, 150, 29, 44, 18]

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 40, 3)).astype(np.uint8)
    c = img.astype(np.float64)
    short = np.floor(0.298936 * c[..., 0] + 0.587043 * c[..., 1] + 0.114021 * c[..., 2] + 0.5)
    assert np.array_equal(rgb_to_gray_matlab(img), short.astype(np.uint8))
    with pytest.raises(TypeError):
        rgb_to_gray_matlab(img.astype(np.float32))


def test_mef_ssim_rgb():
    rng = np.random.default_rng(2)
    base = cv2.GaussianBlur(rng.random((48, 52, 3)), (0, 0), 2)
    ins = [np.clip(np.round(255 * base * e), 0, 255).astype(np.uint8) for e in (0.6, 1.4)]
    fused = np.clip(np.round(np.mean(ins, 0)), 0, 255).astype(np.uint8)
    want = mef_ssim([rgb_to_gray_matlab(i) for i in ins], rgb_to_gray_matlab(fused), scales=1)
    assert mef_ssim_rgb(ins, fused, scales=1) == pytest.approx(want, abs=1e-15)
    # float [0, 1] images are rounded to 8 bits first
    ins_f = [i.astype(np.float32) / 255 for i in ins]
    assert mef_ssim_rgb(ins_f, fused.astype(np.float64) / 255, scales=1) == pytest.approx(want, abs=1e-15)
