"""'Refine this bracket' for v2 models: the logit residual, its guard, cancel and budget, and the
fast input-only precomputations it optimises through (tiny synthetic brackets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synth import expose, make_scene

from hdrdesk.core.fusion import FusionOptions, fuse_frames
from hdrdesk.core.io import ExposureInfo, Frame, to_uint
from hdrdesk.core.mefssim import mef_ssim, mef_ssim_torch, rgb_to_gray_matlab
from hdrdesk.core.model import FusionNet, NetConfig
from hdrdesk.core.spd import _box_mean, spd_fuse
from hdrdesk.errors import Cancelled, InputError
from hdrdesk.tasks import TaskState
from hdrdesk.training.refine import GAIN_BOUND, GAIN_SCALES, ResidualLogits, metric_exposures, refine_logits
from hdrdesk.training.refine_ops import FixedBracketMEFSSIM, FixedBracketSPD, box_mean_by_sums


def _net(seed: int = 0) -> FusionNet:
    torch.manual_seed(seed)
    net = FusionNet(NetConfig(fusion="spd", exposedness_prior=False, working_size=32, extra_levels=1)).eval()
    with torch.no_grad():  # a head that says something (a fresh one starts at zero: FMMEF's rule)
        net.head.weight.normal_(0.0, 0.3)
        net.head.bias.normal_(0.0, 0.3)
    return net


def _frames(h: int = 64, w: int = 96, k: int = 3) -> list[Frame]:
    from pathlib import Path

    scene = make_scene(h, w)
    rgb = [expose(scene, ev) for ev in np.linspace(-2.0, 2.0, k)]
    return [Frame(Path(f"b/{i:02d}.png"), x, ExposureInfo(), None) for i, x in enumerate(rgb)]


def _score(frames: list[Frame], image: np.ndarray) -> float:
    return float(mef_ssim(np.stack([rgb_to_gray_matlab(f.data) for f in frames]), rgb_to_gray_matlab(to_uint(image, 8))))


OPTS = FusionOptions(method="cnn", align=False, keep_weights=False)


def test_zero_residual_is_the_network_bit_for_bit():
    net, frames = _net(), _frames()
    plain = fuse_frames(frames, OPTS, model=net).image
    wrapped = fuse_frames(frames, OPTS, model=ResidualLogits(net, torch.zeros((3, 2, 4, 6)))).image
    np.testing.assert_array_equal(wrapped, plain)
    # a non-zero residual changes the picture; the wrong bracket length is refused
    other = fuse_frames(frames, OPTS, model=ResidualLogits(net, torch.full((3, 2, 4, 6), 1.0) * torch.tensor([1.0, 0, -1]).view(3, 1, 1, 1))).image
    assert np.abs(other - plain).max() > 1e-3
    with pytest.raises(InputError, match="3 exposures"):
        fuse_frames(frames[:2], OPTS, model=ResidualLogits(net, torch.zeros((3, 2, 4, 6))))


def test_refine_never_returns_worse_and_its_scores_are_the_apps():
    frames = _frames(k=4)
    for seed in (0, 1):
        net = _net(seed)
        out = refine_logits(net, [f.data for f in frames], seconds=60.0, max_steps=6)
        assert out.after >= out.before and 1 <= out.steps <= 6
        before = _score(frames, fuse_frames(frames, OPTS, model=net).image)  # the frames are as small as the scoring copy
        assert out.before == pytest.approx(before, abs=1e-12)
        if out.kept:
            assert out.after > out.before and isinstance(out.model, ResidualLogits)
            assert out.after == pytest.approx(_score(frames, fuse_frames(frames, OPTS, model=out.model).image), abs=1e-12)
        else:
            assert out.model is net and out.after == out.before
    assert out.opt_gain >= 0.0  # the best residual seen is kept, never a worse one


def test_refine_gains_where_the_network_is_poor():
    # logits pushed the wrong way (structure from the brightest frame, mean intensity from the darkest):
    # the refinement must find better ones within a few steps
    wrong = torch.zeros((3, 2, 1, 1))
    wrong[2, 0], wrong[0, 1] = 4.0, 4.0
    net = ResidualLogits(_net(3), wrong)
    frames = _frames(k=3)
    out = refine_logits(net, [f.data for f in frames], seconds=120.0, max_steps=10, lr=0.2)
    assert out.kept and out.after > out.before + 1e-3
    base_only = refine_logits(net, [f.data for f in frames], seconds=120.0, max_steps=10, lr=0.2, maps=(1,))
    assert base_only.kept and not base_only.residual[:, 0].any() and base_only.residual[:, 1].any()
    assert not base_only.scale_residual.any()
    # the detail residual is one map per scale; one for all scales gains too
    from hdrdesk.core.fmmef import fmmef_shapes

    assert out.scale_residual.shape[:2] == (3, len(fmmef_shapes(*frames[0].data.shape[:2], net.config.extra_levels)))
    one_map = refine_logits(net, [f.data for f in frames], seconds=120.0, max_steps=10, lr=0.2, per_scale=False, gain_scales=0)
    assert one_map.kept and one_map.scale_residual is None and one_map.residual[:, 0].any() and one_map.detail_gain is None
    # the contrast gain: bounded, on the finest GAIN_SCALES scales only, and what the app fuses with
    assert out.detail_gain.shape[0] == out.scale_residual.shape[1]
    assert np.abs(out.detail_gain[:GAIN_SCALES]).max() > 0 and not out.detail_gain[GAIN_SCALES:].any()
    assert np.abs(out.detail_gain).max() <= GAIN_BOUND
    assert np.allclose(out.model.detail_gains(out.detail_gain.shape[-2:]), out.detail_gain, atol=1e-6)
    assert out.after == pytest.approx(_score(frames, fuse_frames(frames, OPTS, model=out.model).image), abs=2e-3)
    with pytest.raises(InputError, match="already a refined"):
        refine_logits(out.model, [f.data for f in frames], seconds=10.0)
    gain_only = ResidualLogits(net.net, torch.zeros(3, 2, 1, 1), gain=torch.from_numpy(out.detail_gain))
    with pytest.raises(InputError, match="already a refined"):
        refine_logits(gain_only, [f.data for f in frames], seconds=10.0)


def test_per_scale_refinement_fuses_alike_on_the_gpu_path():
    from hdrdesk.core.fusion import fuse_spd, fuse_spd_torch

    net, frames = _net(2), _frames(k=3)
    images = [f.data for f in frames]
    g = torch.Generator().manual_seed(0)
    refined = ResidualLogits(
        net, torch.randn(3, 2, 4, 6, generator=g), scale_residual=torch.randn(3, 4, 4, 6, generator=g),
        gain=0.15 * torch.randn(4, 4, 6, generator=g),
    )
    cpu = fuse_spd(refined, images)
    no_gain = fuse_spd(ResidualLogits(net, refined.residual, scale_residual=refined.scale_residual), images)
    assert np.abs(cpu - no_gain).max() > 1e-3  # the gain acts
    assert np.abs(no_gain - fuse_spd(ResidualLogits(net, refined.residual), images)).max() > 1e-3  # the per-scale part acts
    np.testing.assert_allclose(fuse_spd_torch(refined, images, "cpu"), cpu, atol=2e-4)
    # a model that mixes part of the base one scale finer (NetConfig.coarse_mix): both paths, and Refine's twin
    import dataclasses

    net.config = refined.config = dataclasses.replace(net.config, coarse_mix=0.3)
    mixed = fuse_spd(refined, images)
    assert np.abs(mixed - cpu).max() > 1e-3
    np.testing.assert_allclose(fuse_spd_torch(refined, images, "cpu"), mixed, atol=2e-4)
    out = refine_logits(net, images, seconds=120.0, max_steps=3)
    assert out.after >= out.before and out.after == pytest.approx(_score(frames, fuse_spd(out.model, images)), abs=2e-3)


def test_cancel_and_budget():
    net, frames = _net(), _frames()
    task = TaskState()
    task.cancel()
    with pytest.raises(Cancelled):
        refine_logits(net, [f.data for f in frames], seconds=60.0, task=task)
    # no time left for a step: nothing is changed
    out = refine_logits(net, [f.data for f in frames], seconds=0.0)
    assert out.steps == 0 and not out.kept and out.model is net and out.after == out.before
    # a cancel during the optimisation stops it (progress reports come from every step)
    task, seen = TaskState(), []

    def progress(fraction, message):
        seen.append(message)
        if message.startswith("refining: step 2"):
            task.cancel()

    task = TaskState(on_progress=progress)
    with pytest.raises(Cancelled):
        refine_logits(net, [f.data for f in frames], seconds=60.0, task=task)
    assert any(m.startswith("refining: step 2") for m in seen) and not any(m.startswith("refining: step 4") for m in seen)


def test_refusals():
    net, frames = _net(), _frames()
    with pytest.raises(InputError):
        refine_logits(net, [frames[0].data])
    with pytest.raises(InputError, match="too small"):
        refine_logits(net, [f.data[:30, :30] for f in frames])
    v1 = FusionNet(NetConfig(widths=(4, 8))).eval()
    with pytest.raises(InputError, match="v2"):
        refine_logits(v1, [f.data for f in frames])


def test_fixed_bracket_operators_match_the_reference_functions():
    torch.manual_seed(0)
    y = torch.rand(1, 4, 3, 70, 100)
    d, b = torch.randn(1, 4, 20, 30), torch.randn(1, 4, 20, 30)
    for extra in (0, 1):
        # running sums round differently in float32 (an 8-bit step is 4e-3); in float64 the same function
        torch.testing.assert_close(FixedBracketSPD(y, extra_levels=extra)(d, b), spd_fuse(y, d, b, extra_levels=extra), atol=1e-5, rtol=0)
        y64, d64, b64 = y.double(), d.double(), b.double()
        torch.testing.assert_close(FixedBracketSPD(y64, extra_levels=extra)(d64, b64), spd_fuse(y64, d64, b64, extra_levels=extra), atol=1e-12, rtol=0)
        mixed = FixedBracketSPD(y64, extra_levels=extra, coarse_mix=0.4)(d64, b64)
        torch.testing.assert_close(mixed, spd_fuse(y64, d64, b64, extra_levels=extra, coarse_mix=0.4), atol=1e-12, rtol=0)
        gain = 0.2 * torch.randn(1, 1, 3, 5, 6, dtype=torch.float64)
        torch.testing.assert_close(
            FixedBracketSPD(y64, extra_levels=extra)(d64, b64, gain), spd_fuse(y64, d64, b64, extra_levels=extra, detail_gain=gain), atol=1e-12, rtol=0
        )
    for shape, r in (((2, 3, 70, 100), 4), ((1, 1, 5, 3), 4), ((1, 2, 9, 9), 1)):  # windows larger than the image too
        x = torch.rand(shape, dtype=torch.float64)
        torch.testing.assert_close(box_mean_by_sums(x, r), _box_mean(x, r), atol=1e-12, rtol=0)
    grey = y.mean(2)[0].double()
    fused = spd_fuse(y, d, b)[0].mean(0).double().requires_grad_(True)
    ref = mef_ssim_torch(grey, fused, data_range=1.0)
    mine = FixedBracketMEFSSIM(grey)(fused)
    assert float(mine.detach()) == pytest.approx(float(ref.detach()), abs=1e-12)
    g_ref, = torch.autograd.grad(ref, fused)
    g_mine, = torch.autograd.grad(FixedBracketMEFSSIM(grey)(fused), fused)
    torch.testing.assert_close(g_mine, g_ref, atol=1e-10, rtol=1e-7)


def test_metric_exposures_of_long_brackets():
    assert metric_exposures(5) == [0, 1, 2, 3, 4]
    idx = metric_exposures(30)
    assert idx[0] == 0 and idx[-1] == 29 and len(idx) == 7 and idx == sorted(set(idx))


def test_the_copy_is_the_bracket_itself_up_to_a_megapixel():
    from hdrdesk.training.refine import copy_side_for, refine_copy

    assert copy_side_for(3, 800, 1200) == 800  # a validation-sized bracket is refined as it is
    assert copy_side_for(9, 356, 536) == 356  # so is a 9-frame one of that size
    side = copy_side_for(3, 4000, 6000)  # a 24 MP photo: a copy of about 1 MP
    assert abs(side * side * 1.5 - 1.0e6) < 0.02e6
    # long brackets: fewer pixels, as many as keep the metric's cost (pixels x K(K+3)/2) that of 4 frames
    for k in (9, 16, 30):
        s = copy_side_for(k, 4000, 6000)
        assert s < side and s * s * 1.5 * (k + k * (k + 1) / 2) <= 1.02e6 * 14
    assert copy_side_for(30, 4000, 6000) < copy_side_for(9, 4000, 6000)
    assert copy_side_for(2, 50, 60) == 50
    # the copies are 8-bit and reduced in the frames' own depth (uint16 as well)
    big = [np.full((400, 600, 3), v, np.uint16) for v in (1000, 30000)]
    small = refine_copy(big, 100)
    assert [x.shape for x in small] == [(100, 150, 3)] * 2 and small[0].dtype == np.uint8
    assert int(small[1][0, 0, 0]) == round(30000 / 65535 * 255)
