"""Deghosting: motion masks against a reference, content taken from it, off = untouched (no Qt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hdrdesk.core.deghost import best_exposed_index, deghost_frames, intensity_mapping
from hdrdesk.core.fusion import FusionOptions, fuse_frames, prepare_fusion
from hdrdesk.core.io import Frame
from hdrdesk.errors import InputError
from synth import make_scene

EVS = (-2.0, 0.0, 2.0)


def _expose(rad: np.ndarray, ev: float) -> np.ndarray:
    v = np.clip(rad * np.exp2(ev) * 0.18, 0, 1) ** (1 / 2.2)
    return (v * 255 + 0.5).astype(np.uint8)


def ghost_bracket(h: int = 96, w: int = 144, moving: bool = True, seed: int = 0) -> tuple[list[Frame], list[tuple[int, int]]]:
    """A static scene with a bright square pasted at a different place in every frame (scaled
    to each frame's exposure, as the camera would see it). Returns frames and square corners."""
    rad = make_scene(h, w, seed)
    frames, spots = [], []
    for i, ev in enumerate(EVS):
        r = rad.copy()
        y, x = (30, 20 + 40 * i) if moving else (30, 60)
        r[y : y + 24, x : x + 24] = np.array([3.0, 1.0, 0.4])  # an orange object
        spots.append((y, x))
        frames.append(Frame(path=Path(f"{i}.png"), data=_expose(r, ev)))
    return frames, spots


def test_masks_cover_the_moving_object_and_leave_the_rest():
    frames, spots = ghost_bracket()
    res = deghost_frames(frames, "medium", reference=1)
    assert res.reference == 1 and not res.masks[1].any()
    for i in (0, 2):
        m = res.masks[i]
        for y, x in (spots[i], spots[1]):  # where the object is in this frame, and in the reference
            assert m[y + 4 : y + 20, x + 4 : x + 20].mean() > 0.9
        far = np.ones_like(m, bool)
        for y, x in spots:
            far[max(0, y - 16) : y + 40, max(0, x - 16) : x + 40] = False
        assert m[far].mean() < 0.03


def test_masked_regions_show_the_reference_content():
    frames, spots = ghost_bracket()
    res = deghost_frames(frames, "medium", reference=1)
    still, _ = ghost_bracket(moving=False)  # the object where the reference has it, in every frame
    for i in (0, 2):
        y, x = spots[i]
        got = res.frames[i].data[y + 4 : y + 20, x + 4 : x + 20].astype(float)
        want = still[i].data[y + 4 : y + 20, x + 4 : x + 20].astype(float)
        before = frames[i].data[y + 4 : y + 20, x + 4 : x + 20].astype(float)
        assert np.abs(got - want).mean() < 0.25 * np.abs(before - want).mean()


@pytest.mark.parametrize("method", ["mertens", "cnn", "fmmef"])
def test_fusion_without_ghosts_for_every_method(method):
    frames, spots = ghost_bracket()
    target = fuse_frames(ghost_bracket(moving=False)[0], FusionOptions(method=method, align=False)).image
    errs = {}
    for level in ("off", "medium"):
        res = fuse_frames(frames, FusionOptions(method=method, align=False, deghost=level, reference=1))
        ghost = np.zeros(target.shape[:2], bool)
        for i in (0, 2):
            y, x = spots[i]
            ghost[y : y + 24, x : x + 24] = True
        errs[level] = float(np.abs(res.image - target)[ghost].mean())
        if level == "medium":
            assert res.motion_masks is not None and len(res.motion_masks) == 3
        else:
            assert res.motion_masks is None
    assert errs["medium"] < 0.3 * errs["off"]


def test_off_is_bit_identical_and_static_low_changes_nothing():
    frames, _ = ghost_bracket(moving=False)
    base = fuse_frames(frames, FusionOptions(method="cnn", align=False)).image
    off = fuse_frames(frames, FusionOptions(method="cnn", align=False, deghost="off")).image
    assert np.array_equal(base, off)
    prep = prepare_fusion(frames, FusionOptions(method="mertens", align=False, deghost="off"))
    assert all(a is b for a, b in zip(prep.frames, frames)) and prep.motion_masks is None
    res = deghost_frames(frames, "low")
    assert all(not m.any() for m in res.masks)
    assert all(a.data is b.data for a, b in zip(frames, res.frames))


def test_reference_default_and_range():
    flat = [Frame(path=Path(f"{v}.png"), data=np.full((40, 60, 3), v, np.uint8)) for v in (20, 120, 240)]
    assert best_exposed_index(flat) == 1
    frames, _ = ghost_bracket()
    with pytest.raises(InputError, match="reference frame 4"):
        deghost_frames(frames, "low", reference=3)
    with pytest.raises(InputError, match="deghosting level"):
        deghost_frames(frames, "extreme")


def test_intensity_mapping_follows_exposure():
    rng = np.random.default_rng(0)
    lin = rng.random(20000) * 0.2
    dark = (lin ** (1 / 2.2)).astype(np.float32)
    bright = (np.clip(lin * 4, 0, 1) ** (1 / 2.2)).astype(np.float32)
    fmap = intensity_mapping(dark, bright)
    assert np.all(np.diff(fmap) >= -1e-6)
    x = 0.3
    expected = min(1.0, (x**2.2) * 4) ** (1 / 2.2)
    assert fmap[int(x * fmap.size)] == pytest.approx(expected, abs=0.03)


def test_cli_deghost_options(tmp_path, bracket_files):
    out = tmp_path / "o.png"
    cmd = [sys.executable, "-m", "hdrdesk", "fuse", *map(str, bracket_files), "-o", str(out), "--method", "mertens"]
    ok = subprocess.run([*cmd, "--deghost", "high", "--reference", "3"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr and out.exists()
    bad = subprocess.run([*cmd, "--overwrite", "--reference", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    bad = subprocess.run([*cmd, "--overwrite", "--deghost", "low", "--reference", "9"], capture_output=True, text=True)
    assert bad.returncode == 2 and "reference frame 9" in bad.stderr
