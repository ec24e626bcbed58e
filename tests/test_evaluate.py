"""``hdrdesk eval`` and the reusable evaluate_scenes() (no Qt)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from synth import BRACKETS, expose, make_scene
from hdrdesk.core.fusion import FusionOptions, fuse_mertens, get_model
from hdrdesk.core.io import read_frame
from hdrdesk.core.mefssim import mef_ssim, rgb_to_gray_matlab
from hdrdesk.errors import InputError
from hdrdesk.evaluate import (
    SceneScore,
    evaluate_scenes,
    list_scenes,
    mean_score,
    parse_mertens_weights,
    read_scene_list,
    scene_files,
    score_fusion,
)


def make_root(tmp_path: Path) -> Path:
    """Three small scenes: one with a manifest naming an MEFB pair, one without, one broken."""
    root = tmp_path / "brackets"
    for name, evs, seed in (("sc_a", (-2, -1, 0, 1), 0), ("sc_b", (-1.5, 0, 1.5), 1)):
        d = root / name
        d.mkdir(parents=True)
        rad = make_scene(48, 64, seed=seed)  # MEF-SSIM's 3 scales need >= 44 px
        for i, ev in enumerate(evs):
            cv2.imwrite(str(d / f"{i:02d}.png"), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
    (root / "sc_a" / "manifest.json").write_text(json.dumps({"scene": "sc_a", "mefb_pair": {"under": "01.png", "over": "03.png"}}))
    (root / "sc_b" / "manifest.json").write_text(json.dumps({"scene": "sc_b"}))
    bad = root / "sc_c"
    bad.mkdir()
    (bad / "00.png").write_bytes(b"broken")
    (bad / "01.png").write_bytes(b"broken")
    return root


def test_track_frame_selection(tmp_path):
    root = make_root(tmp_path)
    assert [p.name for p in scene_files(root / "sc_a", "pair")] == ["01.png", "03.png"]  # manifest's mefb_pair
    assert [p.name for p in scene_files(root / "sc_b", "pair")] == ["00.png", "02.png"]  # darkest and brightest
    assert [p.name for p in scene_files(root / "sc_a", "seq")] == ["00.png", "01.png", "02.png", "03.png"]
    with pytest.raises(InputError):
        scene_files(root / "sc_a", "triple")


def test_scene_lists(tmp_path):
    root = make_root(tmp_path)
    listing = tmp_path / "val.txt"
    listing.write_text("# validation\nsc_b\n\nsc_a  # comment\n")
    assert read_scene_list(listing) == ["sc_b", "sc_a"]
    assert read_scene_list("sc_a, sc_b") == ["sc_a", "sc_b"]
    assert [p.name for p in list_scenes(root, str(listing))] == ["sc_b", "sc_a"]
    assert [p.name for p in list_scenes(root)] == ["sc_a", "sc_b", "sc_c"]
    with pytest.raises(InputError, match="no scene folder nope"):
        list_scenes(root, "sc_a,nope")


def test_mertens_weights_parsing():
    assert parse_mertens_weights("1,1,0") == (1.0, 1.0, 0.0)
    assert parse_mertens_weights([1, 0.5, 1]) == (1.0, 0.5, 1.0)
    for bad in ("1,1", "a,b,c", "1,-1,0"):
        with pytest.raises(InputError):
            parse_mertens_weights(bad)


def test_scoring_convention_matches_mefssim_directly(tmp_path):
    """8-bit rounding of the result, MATLAB rgb2gray, the same 8-bit gray frames."""
    root = make_root(tmp_path)
    files = scene_files(root / "sc_b", "seq")
    frames = [read_frame(f) for f in files]
    fused = fuse_mertens(frames)
    expected = mef_ssim(
        np.stack([rgb_to_gray_matlab(f.data) for f in frames]).astype(np.float64),
        rgb_to_gray_matlab(np.floor(np.clip(fused, 0, 1).astype(np.float64) * 255 + 0.5).astype(np.uint8)).astype(np.float64),
    )
    assert score_fusion(frames, fused) == pytest.approx(expected, abs=1e-12)
    res = evaluate_scenes(root, ["sc_b"], "seq", FusionOptions(method="mertens", align=False))
    assert res[0].score == pytest.approx(expected, abs=1e-12)
    assert res[0].frames == ["00.png", "01.png", "02.png"]


def test_evaluate_scenes_reports_failures_and_goes_on(tmp_path):
    root = make_root(tmp_path)
    seen: list[SceneScore] = []
    res = evaluate_scenes(root, None, "pair", FusionOptions(method="mertens", align=False), on_scene=seen.append)
    assert [r.scene for r in res] == ["sc_a", "sc_b", "sc_c"] and len(seen) == 3
    assert res[0].ok and res[1].ok and 0.5 < res[0].score <= 1
    assert not res[2].ok and math.isnan(res[2].score) and "00.png" in res[2].error
    assert mean_score(res) == pytest.approx((res[0].score + res[1].score) / 2)


def test_evaluate_with_a_model_in_memory(tmp_path, monkeypatch):
    """What training validation does: pass the torch module itself."""
    import torch

    monkeypatch.setenv("HDRDESK_RUNTIME", "torch")  # the model file through torch too: like for like
    root = make_root(tmp_path)
    model, _, _ = get_model(torch_only=True)
    net = type(model)(model.config)
    net.load_state_dict(model.state_dict())
    net.train()
    opts = FusionOptions(align=False, working_size=32)
    by_model = evaluate_scenes(root, ["sc_a", "sc_b"], "seq", opts, model=net)
    by_path = evaluate_scenes(root, ["sc_a", "sc_b"], "seq", opts)
    assert net.training  # restored
    for a, b in zip(by_model, by_path):
        assert a.ok and a.score == pytest.approx(b.score, abs=1e-9)
    # a different model gives a different score: the object really is used
    with torch.no_grad():
        net.head.bias.add_(3.0)
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    other = evaluate_scenes(root, ["sc_a"], "seq", opts, model=net)
    assert other[0].score != pytest.approx(by_path[0].score, abs=1e-6)


def test_cli_eval_table_and_json(tmp_path, capsys):
    from hdrdesk.cli import main

    root = make_root(tmp_path)
    code = main(["eval", str(root), "--scenes", "sc_a,sc_b", "--method", "mertens", "--track", "pair"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "sc_a" in out and "01.png 03.png" in out and out.strip().splitlines()[-1].startswith("mean")
    code = main(["eval", str(root), "--method", "mertens", "--json", "--mertens-weights", "1,1,1"])
    out, err = capsys.readouterr()
    assert code == 1  # sc_c failed
    doc = json.loads(out)
    assert doc["scored"] == 2 and doc["failed"] == 1 and doc["mertens_weights"] == [1.0, 1.0, 1.0]
    assert doc["per_scene"][2]["score"] is None and "sc_c" in err
    assert doc["align"] is False


def test_cli_eval_help_documents_the_alignment_default(capsys):
    from hdrdesk.cli import main

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert "--align" in out and "pre-registered" in out


VAL = BRACKETS / "val_scenes.txt"


# per-scene anchors (anchors.md, pair track, OpenCV Mertens default weights)
ANCHORS = {"ma_Church": 0.9894, "misc_Villa": 0.9595, "hdrps_WaffleHouse": 0.9880, "mefb_disney1": 0.9864, "pmef3_RevelStoke": 0.9851}


@pytest.mark.skipif(not VAL.is_file(), reason="shared/data/brackets not available")
def test_reproduces_the_mertens_anchors_on_validation_pairs():
    """A subset of the validation scenes (the whole set: ``hdrdesk eval ... --method mertens --track pair``)."""
    res = evaluate_scenes(BRACKETS, list(ANCHORS), "pair", FusionOptions(method="mertens", align=False))
    for r in res:
        assert r.ok, r.error
        assert r.score == pytest.approx(ANCHORS[r.scene], abs=1e-4), r.scene
    assert res[2].frames == ["03.png", "08.png"]  # WaffleHouse: the manifest's MEFB pair
    small = [r for r in res if r.scene == "pmef3_RevelStoke"]
    assert small and small[0].frames == ["00.png", "04.png"]


def test_too_small_scene_is_reported_not_raised(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    rad = make_scene(20, 20)
    for i, ev in enumerate((-1, 1)):
        cv2.imwrite(str(d / f"{i:02d}.png"), expose(rad, ev))
    res = evaluate_scenes(tmp_path, None, "seq", FusionOptions(method="mertens", align=False))
    assert not res[0].ok and "small" in res[0].error


# ------------------------------------------------------------------ engine pieces the scores rest on


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (37, 53), (300, 401)])
def test_fast_blend_and_colour_match_the_reference_operators(shape):
    """fusion.blend_luma / compose_rgb (lean, strip-wise) against pyramid.blend_cv / color.ycbcr_to_rgb."""
    from hdrdesk.core.color import ycbcr_to_rgb
    from hdrdesk.core.fusion import blend_luma, compose_rgb
    from hdrdesk.core.pyramid import blend_cv

    rng = np.random.default_rng(7)
    ys = [rng.random(shape, dtype=np.float32) for _ in range(3)]
    w = rng.random((3,) + shape, dtype=np.float32)
    w /= w.sum(0)
    ref = blend_cv(ys, list(w))
    got = blend_luma(ys, list(w))
    assert np.abs(ref - got).max() < 1e-5
    cb, cr = rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)
    rgb = ycbcr_to_rgb(ref, cb, cr)
    assert np.abs(compose_rgb(ref, cb, cr) - rgb).max() < 1e-6
    assert np.abs(compose_rgb(ref, cb, cr, np.uint8).astype(int) - np.floor(rgb * 255 + 0.5)).max() <= 1
    assert np.abs(compose_rgb(ref, cb, cr, np.uint16).astype(int) - np.floor(rgb * 65535 + 0.5)).max() <= 1


def test_fused_chroma_and_luma_match_the_float_reference(tmp_path):
    """_luma_and_chroma (strips, LUT) against rgb_to_ycbcr on float RGB and the |C-0.5| rule."""
    from hdrdesk.core.color import rgb_to_ycbcr
    from hdrdesk.core.fusion import _fuse_chroma, _luma_and_chroma
    from hdrdesk.core.io import Frame
    from hdrdesk.tasks import null_task

    rng = np.random.default_rng(8)
    frames = [Frame(Path(f"{i}.png"), rng.integers(0, 256, (301, 203, 3), dtype=np.uint8)) for i in range(3)]
    ys, lows, cb, cr = _luma_and_chroma(frames, (150, 101), null_task())
    ycc = [rgb_to_ycbcr(f.rgb_float()) for f in frames]
    for y, ref in zip(ys, ycc):
        assert np.abs(y - ref[0]).max() < 1e-6
    assert np.abs(cb - _fuse_chroma([c[1] for c in ycc])).max() < 1e-5
    assert np.abs(cr - _fuse_chroma([c[2] for c in ycc])).max() < 1e-5
    assert lows.shape == (3, 150, 101)
