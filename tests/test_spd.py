"""The torch structural patch decomposition (training's fusion operator) against FMMEF's reference outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hdrdesk.core.spd import spd_fuse, spd_levels

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "testvectors" / "fmmef"


def _cases() -> list[str]:
    if not (VECTORS / "cases.json").is_file():
        return []
    return sorted(json.loads((VECTORS / "cases.json").read_text()))


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_zero_logits_reproduce_fmmef_reference(case: str, dtype: torch.dtype) -> None:
    frames = [_read(f) for f in sorted((VECTORS / "in" / case).glob("*.png"))]
    x = torch.from_numpy(np.stack(frames).astype(np.float64) / 255.0).permute(0, 3, 1, 2)[None].to(dtype)
    k, (h, w) = len(frames), frames[0].shape[:2]
    zeros = torch.zeros(1, k, 16, 24, dtype=dtype)
    out = spd_fuse(x, zeros, zeros)[0].permute(1, 2, 0).double().numpy()
    expected = _read(VECTORS / "expected" / f"{case}.png") / 65535.0
    diff = np.abs(out - expected)
    assert diff.mean() < 1e-4 and diff.max() < 1e-3, (diff.mean(), diff.max())


def test_levels_rule() -> None:
    from hdrdesk.core.fmmef import fmmef_shapes

    assert spd_levels(512, 335) == 3  # floor(log2(335)) - 5
    assert spd_levels(64, 64) == 1
    assert spd_levels(63, 100) == 0 and spd_levels(8, 8) == 0
    assert spd_levels(512, 335, extra_levels=1) == 4
    assert spd_levels(4, 4, extra_levels=5) == 2  # never below a 1-pixel coarsest scale
    for h, w, extra in ((512, 335, 0), (512, 335, 1), (40, 70, 2), (4, 4, 5)):
        assert len(fmmef_shapes(h, w, extra)) == spd_levels(h, w, extra) + 2  # finest + intermediates + coarsest


def test_base_logit_pulls_brightness_toward_that_exposure() -> None:
    torch.manual_seed(0)
    base = torch.rand(1, 1, 3, 96, 96) * 0.2 + 0.4
    y = torch.cat([base * 0.5, base * 1.5], dim=1).clamp(0, 1)
    plain = spd_fuse(y).mean()
    logits = torch.zeros(1, 2, 12, 12)
    logits[:, 1] = 4.0  # favour the bright frame's mean intensity
    bright = spd_fuse(y, None, logits).mean()
    logits[:, 1] = -4.0
    dark = spd_fuse(y, None, logits).mean()
    assert dark < plain < bright


def test_detail_logits_select_structure_and_carry_gradients() -> None:
    torch.manual_seed(1)
    y = torch.rand(1, 2, 1, 80, 80)
    detail = torch.zeros(1, 2, 10, 10, requires_grad=True)
    out = spd_fuse(y, detail, None)
    # favour exposure 0's structure strongly: the result follows it more closely than exposure 1
    with torch.no_grad():
        d = torch.zeros(1, 2, 10, 10)
        d[:, 0] = 8.0
        favoured = spd_fuse(y, d, None)
    c0 = np.corrcoef(favoured.flatten().numpy(), y[:, 0].flatten().numpy())[0, 1]
    c1 = np.corrcoef(favoured.flatten().numpy(), y[:, 1].flatten().numpy())[0, 1]
    assert c0 > c1
    out.mean().backward()
    assert detail.grad is not None and torch.isfinite(detail.grad).all() and detail.grad.abs().sum() > 0


def test_identical_frames_fuse_to_that_frame() -> None:
    torch.manual_seed(2)
    f = torch.rand(1, 1, 3, 70, 90) * 0.6 + 0.2
    out = spd_fuse(torch.cat([f, f, f], dim=1))
    assert (out - f[:, 0]).abs().mean() < 0.02


def _bracket(k: int = 3, h: int = 70, w: int = 90, seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 2.0) * 1.5
    return [(np.clip(scene * 2.0 ** (e - 1), 0, 1) * 255 + 0.5).astype(np.uint8) for e in range(k)]


@pytest.mark.parametrize("extra_levels", [0, 1])
def test_torch_twin_equals_the_app_operator_with_logits(extra_levels: int) -> None:
    from hdrdesk.core.fmmef import fmmef_fuse

    frames = _bracket()
    logits = torch.randn(1, 3, 2, 11, 7, generator=torch.Generator().manual_seed(0)) * 2
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    twin = spd_fuse(x, logits[:, :, 0], logits[:, :, 1], extra_levels=extra_levels)[0].permute(1, 2, 0).numpy()
    app = fmmef_fuse(frames, detail_logits=[l[0].numpy() for l in logits[0]], base_logits=[l[1].numpy() for l in logits[0]], extra_levels=extra_levels)
    assert np.abs(twin - app).max() < 1e-4
    if extra_levels:
        assert np.abs(app - fmmef_fuse(frames, detail_logits=[l[0].numpy() for l in logits[0]], base_logits=[l[1].numpy() for l in logits[0]])).max() > 1e-3


@pytest.mark.parametrize("n_maps", [2, 5, 9])
def test_per_scale_detail_maps_fuse_alike_in_both_operators_and_each_drives_its_scale(n_maps: int) -> None:
    from hdrdesk.core.fmmef import detail_map_index, fmmef_fuse, fmmef_shapes

    frames = _bracket()
    n_scales = len(fmmef_shapes(*frames[0].shape[:2], 1))
    g = torch.Generator().manual_seed(1)
    detail = torch.randn(1, 3, n_maps, 11, 7, generator=g) * 2
    base = torch.randn(1, 3, 11, 7, generator=g)
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    twin = spd_fuse(x, detail, base, extra_levels=1)[0].permute(1, 2, 0).numpy()
    app = fmmef_fuse(frames, detail_logits=list(detail[0].numpy()), base_logits=list(base[0].numpy()), extra_levels=1)
    assert np.abs(twin - app).max() < 1e-4
    # maps are matched from the coarse end; scales finer than the finest map use it
    index = [detail_map_index(s, n_scales, n_maps) for s in range(n_scales)]
    assert index[-1] == n_maps - 1 and index[0] == max(0, n_maps - n_scales) and index == sorted(index)
    # the same map at every scale is the one-map fusion
    same = detail[:, :, :1].expand(-1, -1, n_maps, -1, -1)
    np.testing.assert_allclose(spd_fuse(x, same, base, extra_levels=1).numpy(), spd_fuse(x, detail[:, :, 0], base, extra_levels=1).numpy(), atol=1e-6)
    # changing the finest scale's map changes the result
    other = detail.clone()
    other[:, :, index[0]] = 0.0
    assert (spd_fuse(x, other, base, extra_levels=1) - spd_fuse(x, detail, base, extra_levels=1)).abs().max() > 1e-4


@pytest.mark.parametrize("n_maps", [1, 3])
def test_contrast_gain_fuses_alike_in_both_operators_and_scales_only_its_scale(n_maps: int) -> None:
    from hdrdesk.core.fmmef import fmmef_fuse, fmmef_shapes

    frames = _bracket()
    g = torch.Generator().manual_seed(2)
    detail = torch.randn(1, 3, 11, 7, generator=g)
    base = torch.randn(1, 3, 11, 7, generator=g)
    gain = torch.randn(1, 1, n_maps, 5, 4, generator=g) * 0.3
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    twin = spd_fuse(x, detail, base, extra_levels=1, detail_gain=gain)[0].permute(1, 2, 0).numpy()
    app = fmmef_fuse(frames, detail_logits=list(detail[0].numpy()), base_logits=list(base[0].numpy()), extra_levels=1, detail_gain=gain[0, 0].numpy())
    plain = fmmef_fuse(frames, detail_logits=list(detail[0].numpy()), base_logits=list(base[0].numpy()), extra_levels=1)
    assert np.abs(twin - app).max() < 1e-4 and np.abs(app - plain).max() > 1e-3
    zero = fmmef_fuse(frames, detail_logits=list(detail[0].numpy()), base_logits=list(base[0].numpy()), extra_levels=1, detail_gain=np.zeros((n_maps, 5, 4), np.float32))
    np.testing.assert_allclose(zero, plain, atol=1e-6)
    # a uniform gain g on the finest scale alone multiplies that scale's detail by exp(g): the result's
    # finest detail (the result minus the unclipped result without it) scales with it
    n_scales = len(fmmef_shapes(*frames[0].shape[:2], 1))
    only_finest = torch.zeros(1, 1, n_scales, 1, 1)
    only_finest[:, :, 0] = math.log(1.5)
    raw = lambda gain: spd_fuse(x, detail, base, extra_levels=1, detail_gain=gain, clip=False)  # noqa: E731
    no_fine = torch.zeros(1, 1, n_scales, 1, 1)
    no_fine[:, :, 0] = -60.0  # exp(-50) after the clamp: the finest detail is gone
    d_one = raw(None) - raw(no_fine)
    d_gain = raw(only_finest) - raw(no_fine)
    torch.testing.assert_close(d_gain, 1.5 * d_one, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mix", [0.3, 1.0])
def test_coarse_mix_fuses_alike_in_both_operators_and_one_is_a_scale_shallower(mix: float) -> None:
    from hdrdesk.core.fmmef import fmmef_fuse

    frames = _bracket()
    g = torch.Generator().manual_seed(3)
    detail, base = torch.randn(1, 3, 11, 7, generator=g), torch.randn(1, 3, 11, 7, generator=g)
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    maps = dict(detail_logits=list(detail[0].numpy()), base_logits=list(base[0].numpy()))
    app = fmmef_fuse(frames, extra_levels=1, coarse_mix=mix, **maps)
    twin = spd_fuse(x, detail, base, extra_levels=1, coarse_mix=mix)[0].permute(1, 2, 0).numpy()
    assert np.abs(twin - app).max() < 1e-4
    plain = fmmef_fuse(frames, extra_levels=1, **maps)
    assert np.abs(app - plain).max() > 1e-3
    if mix == 1.0:  # all of the base one scale finer: the decomposition one scale shallower
        np.testing.assert_allclose(app, fmmef_fuse(frames, extra_levels=0, **maps), atol=2e-5)
        torch.testing.assert_close(spd_fuse(x, detail, base, extra_levels=1, coarse_mix=1.0), spd_fuse(x, detail, base, extra_levels=0), atol=2e-5, rtol=0)
    with pytest.raises(ValueError, match="coarse_mix"):
        fmmef_fuse(frames, coarse_mix=1.5)
    # a mix map (the network's, NetConfig.learned_mix): both operators alike, a constant map is the share
    mix_map = torch.rand(1, 1, 6, 9, generator=g)
    app_map = fmmef_fuse(frames, extra_levels=1, coarse_mix=mix_map[0, 0].numpy(), **maps)
    twin_map = spd_fuse(x, detail, base, extra_levels=1, coarse_mix=mix_map)[0].permute(1, 2, 0).numpy()
    assert np.abs(twin_map - app_map).max() < 1e-4
    np.testing.assert_allclose(fmmef_fuse(frames, extra_levels=1, coarse_mix=np.full((6, 9), mix, np.float32), **maps), app, atol=1e-6)


def test_training_objective_fuses_what_the_app_fuses() -> None:
    from hdrdesk.core.fusion import fuse_spd
    from hdrdesk.core.model import FusionNet, NetConfig
    from hdrdesk.training.objective import network_input

    torch.manual_seed(0)
    net = FusionNet(NetConfig(fusion="spd", exposedness_prior=False, working_size=32, extra_levels=1)).eval()
    for prm in net.head.parameters():
        torch.nn.init.normal_(prm, 0.0, 0.1)  # non-zero logits
    frames = _bracket()
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    with torch.no_grad():
        lg = net(network_input(x, 32))
        assert lg.abs().max() > 1e-3
        twin = spd_fuse(x, lg[:, :, 0], lg[:, :, 1], extra_levels=1)[0].permute(1, 2, 0).numpy()
    app = fuse_spd(net, frames)
    assert np.abs(twin - app).max() < 1e-3


def test_fusion_pipeline_runs_v2_networks_with_weight_maps() -> None:
    from hdrdesk.core.fusion import FusionOptions, fuse_frames, fuse_spd
    from hdrdesk.core.io import Frame
    from hdrdesk.core.model import FusionNet, NetConfig

    torch.manual_seed(0)
    net = FusionNet(NetConfig(fusion="spd", exposedness_prior=False, working_size=32)).eval()
    for prm in net.head.parameters():
        torch.nn.init.normal_(prm, 0.0, 0.1)
    frames = _bracket(k=3, h=64, w=80)
    bracket = [Frame(path=Path(f"f{i}.png"), data=f) for i, f in enumerate(frames)]
    result = fuse_frames(bracket, FusionOptions(align=False), model=net)
    assert result.method == "cnn" and result.image.shape == (64, 80, 3)
    assert np.abs(result.image - fuse_spd(net, frames)).max() < 1e-6
    assert result.weights.shape == (3, 64, 80)
    assert np.allclose(result.weights.sum(axis=0), 1.0, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_torch_fusion_path_equals_the_opencv_path_on_cpu_tensors(dtype) -> None:
    """The GPU path (network and decomposition as torch ops) checked where CI can run it: on CPU tensors."""
    from hdrdesk.core.fusion import fuse_spd, fuse_spd_torch
    from hdrdesk.core.model import FusionNet, NetConfig

    torch.manual_seed(0)
    net = FusionNet(NetConfig(fusion="spd", exposedness_prior=False, working_size=32, extra_levels=1)).eval()
    for prm in net.head.parameters():
        torch.nn.init.normal_(prm, 0.0, 0.1)
    frames = _bracket()
    if dtype == np.uint16:
        frames = [f.astype(np.uint16) * 257 for f in frames]
    assert np.abs(fuse_spd_torch(net, frames, "cpu") - fuse_spd(net, frames)).max() < 1e-3


class FixedLogits(torch.nn.Module):
    """Logits that favour the darkest exposure by ``pull`` (0: the zero-logit rule), in its structure
    (``channel`` 0) or its brightness (1)."""

    def __init__(self, pull: float, channel: int = 0) -> None:
        super().__init__()
        from types import SimpleNamespace

        self.pull = torch.nn.Parameter(torch.tensor(pull))
        self.channel = channel
        self.config = SimpleNamespace(extra_levels=1, working_size=32)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        b, k, h, w = y.shape
        favour = torch.zeros(b, k, h, w)
        favour[:, 0] = 1.0
        out = [torch.zeros(b, k, h, w), torch.zeros(b, k, h, w)]
        out[self.channel] = favour * self.pull
        return torch.stack(out, dim=2)


def test_hinge_term_is_zero_at_the_zero_logit_rule_and_positive_below_it() -> None:
    from hdrdesk.core.gamma import GammaParams
    from hdrdesk.training.objective import SPDObjective

    frames = _bracket()
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    objective = SPDObjective(GammaParams.for_window("variance", 11, 0.5), w_wssim=0.0, w_logit=0.0, working_size=32, w_hinge=4.0)
    _, terms = objective(FixedLogits(0.0), x)
    assert terms["hinge"] == pytest.approx(0.0, abs=1e-6)
    worse = FixedLogits(6.0)  # the darkest frame's structure dominates: MEF-SSIM drops
    loss, terms = objective(worse, x)
    assert terms["hinge"] > 1e-4
    assert loss.item() == pytest.approx(terms["mefssim"] + 4.0 * terms["hinge"], rel=1e-5)
    loss.backward()
    assert float(worse.pull.grad) > 0  # the hinge pushes back toward the rule


def test_pair_keep_term_holds_two_frame_brackets_to_the_reference_model_only() -> None:
    from hdrdesk.core.gamma import GammaParams
    from hdrdesk.training.objective import SPDObjective

    frames = _bracket(k=3)
    x = torch.from_numpy(np.stack(frames).astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]
    pair = x[:, [0, 1]]  # the brighter frame is mostly blown: a mean-intensity weight would not move
    gamma = GammaParams.for_window("variance", 11, 0.5)
    objective = SPDObjective(gamma, w_wssim=0.0, w_logit=0.0, working_size=32, keep_model=FixedLogits(0.0, channel=1), w_keep_pair=2.0)
    _, terms = objective(FixedLogits(0.0, channel=1), pair)
    assert terms["keep"] == pytest.approx(0.0, abs=1e-7)  # the reference's own picture
    darker = FixedLogits(3.0, channel=1)  # brightness pulled toward the darkest frame
    loss, terms = objective(darker, pair)
    assert terms["keep"] > 1e-3
    assert loss.item() == pytest.approx(terms["mefssim"] + 2.0 * terms["keep"], rel=1e-5)
    loss.backward()
    assert float(darker.pull.grad) > 0  # back toward the reference's brightness
    _, terms = objective(darker, x)
    assert "keep" not in terms  # longer brackets are free
    assert "keep" not in SPDObjective(gamma, working_size=32, keep_model=None, w_keep_pair=2.0)(darker, pair)[1]
    # in blocks the term weighs brightness: a change of structure counts far less than per pixel
    sharper = FixedLogits(3.0, channel=0)
    per_pixel = objective(sharper, pair)[1]["keep"]
    in_blocks = SPDObjective(gamma, w_wssim=0.0, w_logit=0.0, working_size=32, keep_model=FixedLogits(0.0, channel=1), w_keep_pair=2.0,
                             keep_cell=8)
    assert in_blocks(sharper, pair)[1]["keep"] < 0.5 * per_pixel
    assert in_blocks(darker, pair)[1]["keep"] > 0.5 * objective(darker, pair)[1]["keep"]
