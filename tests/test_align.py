"""Alignment: synthetic brackets with known motion (no Qt)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrdesk.core import align as align_mod
from hdrdesk.core.align import align_frames
from hdrdesk.core.io import Frame


def textured_radiance(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Linear radiance with structure at several scales and a 6-stop gradient (HxWx3 float32)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(rng.random((h // 8 + 1, w // 8 + 1)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 1.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rad = np.exp2(6.0 * xx / w - 3.0) * (0.3 + coarse + 0.5 * fine)
    return np.stack([rad, rad * (0.8 + 0.2 * yy / h), rad * 0.7], axis=2)


def expose(rad: np.ndarray, ev: float) -> np.ndarray:
    v = np.clip(rad * np.exp2(ev) * 0.18, 0, 1) ** (1 / 2.2)
    return (v * 255 + 0.5).astype(np.uint8)


def moved(img: np.ndarray, m: np.ndarray, homography: bool = False) -> np.ndarray:
    """The frame a camera that moved by ``m`` would have taken (pixels of the reference at m^-1 x)."""
    h, w = img.shape[:2]
    if homography:
        return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def corner_error(found: np.ndarray, truth: np.ndarray, w: int, h: int) -> float:
    """Largest distance between where the two warps send the image corners (pixels)."""
    pts = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64).T

    def apply(m):
        m = np.asarray(m, np.float64)
        if m.shape[0] == 2:
            m = np.vstack([m, [0, 0, 1]])
        p = m @ pts
        return p[:2] / p[2:]

    return float(np.abs(apply(found) - apply(truth)).max())


def frames_of(images, names=("dark.png", "mid.png", "bright.png")) -> list[Frame]:
    return [Frame(path=Path(n), data=d) for n, d in zip(names, images)]


SHIFT = np.float32([[1, 0, 3.4], [0, 1, -2.2]])


@pytest.mark.parametrize("size", [(480, 640), (1200, 1800)])  # the second is reduced for ECC: checks the scaling
def test_shifted_and_rotated_frames_are_realigned_within_half_a_pixel(size):
    h, w = size
    rad = textured_radiance(h, w)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 0.6, 1.0).astype(np.float32)
    frames = frames_of([moved(expose(rad, -2), SHIFT), expose(rad, 0), moved(expose(rad, 2), rot)])
    out, infos = align_frames(frames)
    assert infos[1].note == "reference" and out[1] is frames[1]
    for k, truth in ((0, SHIFT), (2, rot)):
        info = infos[k]
        assert info.applied, info.describe()
        assert info.matrix is not None
        assert corner_error(info.matrix, truth, w, h) < 0.5, (info.describe(), info.matrix, truth)
    assert infos[0].dx == pytest.approx(3.4, abs=0.3) and infos[0].dy == pytest.approx(-2.2, abs=0.3)
    assert abs(abs(infos[2].rotation_deg) - 0.6) < 0.05
    # and the pixels line up: the realigned frames match unmoved renders of the scene
    m = 24
    for k, ev in ((0, -2), (2, 2)):
        truth = expose(rad, ev).astype(np.float32)[m:-m, m:-m]
        before = np.abs(frames[k].data.astype(np.float32)[m:-m, m:-m] - truth).mean()
        after = np.abs(out[k].data.astype(np.float32)[m:-m, m:-m] - truth).mean()
        assert after < 0.6 and after < before / 5, (k, before, after)


def test_a_smaller_registration_copy_still_aligns_within_a_pixel_or_two(monkeypatch):
    """The preview's alignment (a 512-px copy of an 1800-px frame): coarser, still close."""
    h, w = 1200, 1800
    rad = textured_radiance(h, w)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 0.6, 1.0).astype(np.float32)
    frames = frames_of([moved(expose(rad, -2), SHIFT), expose(rad, 0), moved(expose(rad, 2), rot)])
    seen = []
    real_resize = cv2.resize

    def spy(img, dsize, *a, **k):
        seen.append(dsize)
        return real_resize(img, dsize, *a, **k)

    monkeypatch.setattr(align_mod.cv2, "resize", spy)
    _, infos = align_frames(frames, size=512)
    assert (512, 341) in seen  # the copies registered are 512 px long
    for k, truth in ((0, SHIFT), (2, rot)):
        assert infos[k].applied, infos[k].describe()
        assert corner_error(infos[k].matrix, truth, w, h) < 2.0, (infos[k].describe(), infos[k].matrix, truth)


def test_perspective_change_is_corrected():
    h, w = 480, 640
    rad = textured_radiance(h, w, seed=3)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[6, 3], [w - 2, -4], [w + 3, h + 5], [-4, h - 2]])
    hom = cv2.getPerspectiveTransform(src, dst).astype(np.float32)
    frames = frames_of([expose(rad, -1.5), expose(rad, 0), moved(expose(rad, 1.5), hom, homography=True)])
    out, infos = align_frames(frames)
    assert infos[2].applied
    # corners are where a homography's error shows most (and the synthetic frame's mirrored
    # borders have no counterpart in the reference): within ~1 px
    assert corner_error(infos[2].matrix, hom, w, h) < 1.5, infos[2].describe()
    m = 24
    truth = expose(rad, 1.5).astype(np.float32)[m:-m, m:-m]
    assert np.abs(out[2].data.astype(np.float32)[m:-m, m:-m] - truth).mean() < 1.5


def test_aligned_bracket_is_left_untouched():
    rad = textured_radiance(360, 480, seed=1)
    frames = frames_of([expose(rad, -2), expose(rad, 0), expose(rad, 2)])
    out, infos = align_frames(frames)
    assert all(o is f for o, f in zip(out, frames))  # same objects: no resampling
    assert [i.applied for i in infos] == [False, False, False]
    assert infos[0].note == infos[2].note == "already aligned"


def test_guard_keeps_the_frame_when_alignment_would_make_it_worse(monkeypatch):
    rad = textured_radiance(360, 480, seed=2)
    frames = frames_of([expose(rad, -2), expose(rad, 0), expose(rad, 2)])

    def bad_ecc(template, image, warp, motion, criteria, mask, gauss):  # a wrong answer, 7 px off
        w = np.array(warp, np.float32).copy()
        w[0, 2] += 7.0 * (template.shape[1] / 480)
        return 0.5, w

    monkeypatch.setattr(align_mod.cv2, "findTransformECC", bad_ecc)
    out, infos = align_frames(frames)
    for k in (0, 2):
        assert out[k] is frames[k]
        assert not infos[k].applied
        assert "worse" in infos[k].note


def test_failed_alignment_keeps_the_frame(monkeypatch):
    rad = textured_radiance(200, 300, seed=4)
    frames = frames_of([expose(rad, -1), expose(rad, 1)], names=("a.png", "b.png"))

    def failing(*a, **k):
        raise cv2.error("The algorithm stopped before its convergence")

    monkeypatch.setattr(align_mod.cv2, "findTransformECC", failing)
    out, infos = align_frames(frames)
    assert out[0] is frames[0] and not infos[0].applied
    assert infos[0].note.startswith("alignment failed")


def test_tiny_frames_are_not_aligned():
    frames = frames_of([np.full((8, 8, 3), v, np.uint8) for v in (40, 120, 220)])
    out, infos = align_frames(frames)
    assert all(o is f for o, f in zip(out, frames))
    assert "too small" in infos[0].note


def test_sixteen_bit_and_gray_frames_align():
    h, w = 300, 400
    rad = textured_radiance(h, w, seed=5)
    dark = cv2.cvtColor(moved(expose(rad, -1), SHIFT), cv2.COLOR_RGB2GRAY)
    bright = cv2.cvtColor(expose(rad, 1), cv2.COLOR_RGB2GRAY)
    frames = frames_of([dark.astype(np.uint16) * 257, bright.astype(np.uint16) * 257], names=("d.tif", "b.tif"))
    out, infos = align_frames(frames)
    assert infos[0].applied and out[0].data.dtype == np.uint16 and out[0].data.ndim == 2
    assert corner_error(infos[0].matrix, SHIFT, w, h) < 0.5


# ------------------------------------------------------------------ CLI


def _write_bracket(folder: Path, images, names=("a_dark.png", "b_mid.png", "c_bright.png")) -> list[Path]:
    paths = []
    for n, img in zip(names, images):
        p = folder / n
        cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths


def test_cli_fuse_reports_alignment_and_no_align_turns_it_off(tmp_path, capsys):
    from hdrdesk.cli import main

    rad = textured_radiance(240, 320, seed=6)
    files = _write_bracket(tmp_path, [moved(expose(rad, -2), SHIFT), expose(rad, 0), expose(rad, 2)])
    out = tmp_path / "out.png"
    assert main(["fuse", *map(str, files), "-o", str(out), "--working-size", "64"]) == 0
    err = capsys.readouterr().err
    lines = [l for l in err.splitlines() if l.startswith("align:")]
    dark = [l for l in lines if "a_dark.png:" in l]
    assert len(dark) == 1 and "euclidean" in dark[0], err
    dx, dy = (float(re.search(rf"{k}=([-+0-9.]+)px", dark[0]).group(1)) for k in ("dx", "dy"))
    assert abs(dx - 3.4) <= 0.3 and abs(dy + 2.2) <= 0.3, dark[0]
    assert any("c_bright.png: not moved (already aligned)" in l for l in lines), err
    assert not any("b_mid.png" in l for l in lines)  # the reference is not reported

    out.unlink()
    assert main(["fuse", *map(str, files), "-o", str(out), "--working-size", "64", "--no-align"]) == 0
    err = capsys.readouterr().err
    assert [l for l in err.splitlines() if l.startswith("align:")] == ["align: off"]


def test_release_replaces_each_original_by_its_aligned_copy_as_it_goes():
    """``release=True`` (what prepare_fusion does when nobody keeps the frames): the caller's list
    holds the aligned copies afterwards and the moved originals are gone, so a long bracket
    never holds every original and every copy at once."""
    import gc
    import weakref

    h, w = 480, 640
    rad = textured_radiance(h, w)
    frames = frames_of([moved(expose(rad, -2), SHIFT), expose(rad, 0), moved(expose(rad, 2), SHIFT)])
    originals = [weakref.ref(f) for f in frames]
    out, infos = align_frames(frames, release=True)
    gc.collect()
    assert [i.applied for i in infos] == [True, False, True]
    assert all(a is b for a, b in zip(frames, out))  # the list now holds what alignment returned
    assert originals[0]() is None and originals[2]() is None  # the moved originals were dropped
    assert originals[1]() is out[1]  # the reference is kept as it is
    kept = frames_of([moved(expose(rad, -2), SHIFT), expose(rad, 0), moved(expose(rad, 2), SHIFT)])
    first = kept[0]
    out2, _ = align_frames(kept)  # the default leaves the caller's list alone
    assert kept[0] is first and out2[0] is not first
    np.testing.assert_array_equal(out2[0].data, out[0].data)


def test_frames_registered_two_at_a_time_give_what_one_at_a_time_gives(monkeypatch):
    h, w = 360, 480
    rad = textured_radiance(h, w, seed=3)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 0.4, 1.0).astype(np.float32)
    images = [moved(expose(rad, -2), SHIFT), moved(expose(rad, -1), rot), expose(rad, 0), moved(expose(rad, 1), SHIFT), expose(rad, 2)]
    names = [f"{i}.png" for i in range(5)]
    seen = []
    out2, infos2 = align_frames(frames_of(images, names), progress=seen.append)
    monkeypatch.setattr(align_mod, "ALIGN_WORKERS", 1)
    out1, infos1 = align_frames(frames_of(images, names))
    assert [i.describe() for i in infos2] == [i.describe() for i in infos1] and sum(i.applied for i in infos2) == 3
    for a, b in zip(out2, out1):
        np.testing.assert_array_equal(a.data, b.data)
    assert seen == sorted(seen) and seen[-1] == 1.0
