"""Colour management: embedded ICC profiles read and converted to sRGB, outputs tagged (no Qt)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from hdrdesk.core import color_profiles as cp
from hdrdesk.core.io import read_frame, write_image
from synth import expose, make_scene

SPACES = ("adobe-rgb", "prophoto")


def lcms(profile: bytes | str) -> ImageCms.ImageCmsProfile:
    if profile == "srgb-builtin":
        return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.ImageCmsProfile(io.BytesIO(profile))


def lcms_convert(rgb8: np.ndarray, src, dst) -> np.ndarray:
    """Relative colorimetric conversion by LittleCMS: an implementation independent of ours."""
    return np.asarray(ImageCms.profileToProfile(Image.fromarray(rgb8), lcms(src), lcms(dst), renderingIntent=1, outputMode="RGB"))


def random_rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 60, 3), dtype=np.uint8)


@pytest.mark.parametrize("space", ["srgb", *SPACES])
def test_profiles_parse_in_littlecms_and_conversions_agree(space):
    data = cp.profile_bytes(space)
    assert space.split("-")[0].lower() in ImageCms.getProfileDescription(lcms(data)).lower().replace(" ", "")
    img = random_rgb()
    theirs = lcms_convert(img, data, "srgb-builtin").astype(int)
    ours = cp.convert_to_srgb(img, data)
    ours8 = np.round(ours.astype(np.float64) / (257.0 if ours.dtype == np.uint16 else 1.0)).astype(int)
    assert np.abs(ours8 - theirs).max() <= 1
    assert np.abs(ours8 - theirs).mean() < 0.05


def test_srgb_and_untagged_frames_are_left_untouched():
    img = random_rgb(1)
    assert cp.convert_to_srgb(img, None) is img
    assert cp.convert_to_srgb(img, cp.profile_bytes("srgb")) is img
    assert cp.convert_to_srgb(img, lcms("srgb-builtin").tobytes()) is img
    assert not cp.is_srgb(cp.profile_bytes("adobe-rgb"))


def test_wide_gamut_primaries_and_white():
    adobe = cp.parse_profile(cp.profile_bytes("adobe-rgb"))
    pro = cp.parse_profile(cp.profile_bytes("prophoto"))
    # white (RGB = 1) maps to the D50 PCS white in every profile
    for prof in (adobe, pro):
        assert prof.to_xyz.sum(axis=1) == pytest.approx(cp.D50, abs=2e-4)
    assert adobe.curves[0][2048] == pytest.approx((2048 / 4095) ** (563 / 256), abs=1e-3)
    assert pro.curves[0][2048] == pytest.approx((2048 / 4095) ** 1.8, abs=1e-3)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg"])
def test_output_embeds_profile_and_round_trips(tmp_path, suffix):
    yy, xx = np.mgrid[0:40, 0:60].astype(np.float32)
    img = np.stack([xx / 59, yy / 39, 0.5 + 0.4 * np.sin(xx / 7)], axis=2)  # smooth: JPEG keeps it
    out = write_image(tmp_path / f"o{suffix}", cp.convert_from_srgb(img, cp.profile_bytes("adobe-rgb")), bits=8, icc=cp.profile_bytes("adobe-rgb"))
    assert cp.read_icc_profile(out) == cp.profile_bytes("adobe-rgb")
    back = read_frame(out)  # converted back to sRGB on read
    err = np.abs(back.data.astype(np.float64) / 65535 * 255 - img * 255)
    assert err.mean() < (0.8 if suffix != ".jpg" else 1.5)


def _tagged_bracket(folder: Path, space: str | None) -> list[Path]:
    """A -2/0/+2 EV sRGB bracket, converted by LittleCMS to ``space`` and tagged (None: sRGB, untagged)."""
    folder.mkdir()
    rad = make_scene(48, 72)
    paths = []
    for i, ev in enumerate((-2.0, 0.0, 2.0)):
        rgb = expose(rad, ev)
        p = folder / f"{i}.png"
        if space is None:
            Image.fromarray(rgb).save(p)
        else:
            data = cp.profile_bytes(space)
            Image.fromarray(lcms_convert(rgb, "srgb-builtin", data)).save(p, icc_profile=data)
        paths.append(p)
    return paths


def _fuse(paths, out: Path, *extra: str) -> None:
    cmd = [sys.executable, "-m", "hdrdesk", "fuse", *map(str, paths), "-o", str(out), "--method", "mertens", "--no-align", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _as_srgb(path: Path) -> np.ndarray:
    """Pixels of an output read through its own embedded profile by LittleCMS, 8-bit sRGB."""
    with Image.open(path) as im:
        icc = im.info.get("icc_profile")
    assert icc, "output carries no ICC profile"
    frame = read_frame(path)
    if frame.data.dtype == np.uint16:
        return frame.data.astype(np.float64) / 257.0  # our reader converted it (checked against LittleCMS above)
    return lcms_convert(frame.data, icc, "srgb-builtin").astype(np.float64)


@pytest.mark.parametrize("space", SPACES)
def test_wide_gamut_bracket_fuses_like_its_srgb_original(tmp_path, space):
    reference_out = tmp_path / "srgb.png"
    _fuse(_tagged_bracket(tmp_path / "srgb", None), reference_out)
    reference = read_frame(reference_out).data.astype(np.float64)
    assert cp.read_icc_profile(reference_out) == cp.profile_bytes("srgb")  # sRGB is embedded by default
    tagged = _tagged_bracket(tmp_path / space, space)
    errors = []
    for profile, suffix, bits in (("srgb", ".png", "8"), ("input", ".tif", "16"), (space, ".png", "8")):
        out = tmp_path / f"{space}_{profile}{suffix}"
        _fuse(tagged, out, "--output-profile", profile, "--bits", bits)
        expected = cp.profile_bytes("srgb" if profile == "srgb" else space)
        assert cp.read_icc_profile(out) == expected
        errors.append(np.abs(_as_srgb(out) - reference).mean())
    assert max(errors) < 1.5
    # the same pixels taken as sRGB (no colour management) are clearly further off: the test can fail
    unmanaged = np.stack([np.asarray(Image.open(p)) for p in tagged]).astype(np.float64)
    originals = np.stack([np.asarray(Image.open(p)) for p in sorted((tmp_path / "srgb").glob("*.png"))]).astype(np.float64)
    assert np.abs(unmanaged - originals).mean() > max(1.5, 3 * errors[0])


def test_output_profile_input_with_untagged_frames_is_srgb(tmp_path, bracket_files):
    out = tmp_path / "o.png"
    _fuse(bracket_files, out, "--output-profile", "input")
    assert cp.read_icc_profile(out) == cp.profile_bytes("srgb")


def test_batch_output_profile_and_deghost(tmp_path, bracket_files):
    root = tmp_path / "shoots"
    (root / "b1").mkdir(parents=True)
    for p in bracket_files:
        (root / "b1" / p.name).write_bytes(p.read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hdrdesk", "batch", str(root), "-o", str(out), "--format", "tif", "--bits", "16",
           "--method", "mertens", "--output-profile", "prophoto", "--deghost", "low", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert cp.read_icc_profile(out / "b1.tif") == cp.profile_bytes("prophoto")
