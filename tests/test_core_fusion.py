"""Fusion engine on tiny synthetic brackets (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrdesk.core.fusion import FusionOptions, fuse_frames, working_shape
from hdrdesk.core.io import Frame, load_bracket
from hdrdesk.core.model import FusionNet, NetConfig


def test_network_weights_are_a_partition_of_unity_for_any_count():
    net = FusionNet().eval()
    for k in (2, 3, 5):
        with torch.no_grad():
            w = net(torch.rand(1, k, 40, 56))
        assert w.shape == (1, k, 40, 56)
        assert torch.all(w >= 0)
        assert torch.allclose(w.sum(1), torch.ones(1, 40, 56), atol=1e-5)


def test_network_weights_depend_on_the_other_exposures():
    torch.manual_seed(0)
    net = FusionNet().eval()
    a = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        w1 = net(torch.cat([a, torch.rand(1, 1, 32, 32)], 1))
        w2 = net(torch.cat([a, torch.rand(1, 1, 32, 32) * 0.1], 1))
    assert not torch.allclose(w1[:, 0], w2[:, 0])


def test_tiny_image_is_padded_not_refused():
    net = FusionNet().eval()
    with torch.no_grad():
        w = net(torch.rand(1, 2, 1, 1))
    assert w.shape == (1, 2, 1, 1)


def test_identical_frames_fuse_back_to_that_frame(bracket_files):
    frames = load_bracket(bracket_files)
    same = [Frame(path=f.path, data=frames[1].data.copy()) for f in frames]
    result = fuse_frames(same, FusionOptions(align=False))
    ref = frames[1].rgb_float()
    # the default (v2) network fuses by a structural patch decomposition, which, like FMMEF's, is not an
    # exact reconstruction: within a level on average, a few levels at the sharpest edges
    diff = np.abs(result.image - ref)
    assert diff.mean() < 1.5 / 255 and np.percentile(diff, 99) < 10 / 255


def test_fuse_returns_full_resolution_weights(bracket_files):
    frames = load_bracket(bracket_files)
    result = fuse_frames(frames, FusionOptions(align=False, working_size=32))
    k = len(frames)
    h, w = frames[0].data.shape[:2]
    assert result.image.shape == (h, w, 3)
    assert result.weights.shape == (k, h, w)
    assert np.allclose(result.weights.sum(0), 1.0, atol=1e-4)
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_mertens_method_runs_on_the_same_path(bracket_files):
    frames = load_bracket(bracket_files)
    result = fuse_frames(frames, FusionOptions(method="mertens", align=False))
    assert result.weights is None
    assert result.image.shape == frames[0].data.shape


def test_working_shape_keeps_aspect_and_never_upscales():
    assert working_shape(3000, 4000, 512) == (512, 683)
    assert working_shape(300, 400, 512) == (300, 400)


def test_mertens_on_16_bit_frames_matches_8_bit():
    from pathlib import Path

    from hdrdesk.core.fusion import fuse_mertens

    rng = np.random.default_rng(0)
    base = rng.random((48, 64, 3)) * 0.5 + 0.25
    f16 = [Frame(Path("a"), (np.clip(base * s, 0, 1) * 65535).astype(np.uint16)) for s in (0.5, 1.5)]
    f8 = [Frame(Path("a"), (np.clip(base * s, 0, 1) * 255).astype(np.uint8)) for s in (0.5, 1.5)]
    assert abs(fuse_mertens(f16).mean() - fuse_mertens(f8).mean()) < 0.01


def test_torch_and_opencv_pyramid_blends_agree():
    import cv2

    from hdrdesk.core.pyramid import blend_cv, blend_torch

    rng = np.random.default_rng(1)
    for h, w in ((64, 64), (67, 93)):
        img = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2)
        w0 = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 4)
        imgs, wts = [img, img**2], [w0, 1 - w0]
        a = blend_cv(imgs, wts)
        b = blend_torch(torch.from_numpy(np.stack(imgs))[None], torch.from_numpy(np.stack(wts))[None])[0, 0].numpy()
        assert np.abs(a - b).max() < 2e-3
        assert np.abs(a - b).mean() < 3e-4
