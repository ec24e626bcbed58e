"""Camera RAW input (rawpy): develop settings, ordering, orientation, corrupt files (no Qt)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rawpy")
pytest.importorskip("pidng")

from dng_synth import raw_scene, write_dng  # noqa: E402

from hdrdesk.core import raw as hraw  # noqa: E402
from hdrdesk.core.io import load_bracket, read_frame  # noqa: E402
from hdrdesk.errors import InputError  # noqa: E402


@pytest.fixture
def dng_bracket(tmp_path):
    rad = raw_scene()
    times = {"b_mid.dng": 1.0, "c_dark.dng": 0.25, "a_bright.dng": 4.0}  # names sort in no exposure order
    return [write_dng(tmp_path / name, rad, t) for name, t in times.items()]


def test_develop_is_16_bit_srgb_with_exposure_metadata(dng_bracket):
    frame = read_frame(dng_bracket[0])
    assert frame.data.dtype == np.uint16 and frame.data.ndim == 3
    assert frame.exposure.exposure_time == pytest.approx(1.0)
    assert frame.exposure.f_number == pytest.approx(8.0)
    # no auto-brightening: a 2-stop shorter exposure of the same scene is clearly darker
    dark = read_frame(dng_bracket[1])
    assert dark.data.mean() < 0.6 * frame.data.mean()


def test_bracket_ordered_by_exposure_and_any_order_gives_same_frames(dng_bracket):
    frames = load_bracket(dng_bracket)
    assert [f.path.name for f in frames] == ["c_dark.dng", "b_mid.dng", "a_bright.dng"]
    again = load_bracket(list(reversed(dng_bracket)))
    for a, b in zip(frames, again):
        assert np.array_equal(a.data, b.data)


def test_reference_white_balance_is_used_for_every_frame(tmp_path):
    rad = raw_scene()
    paths = [
        write_dng(tmp_path / "d.dng", rad, 0.25, neutral=(0.5, 1.0, 0.6)),
        write_dng(tmp_path / "m.dng", rad, 1.0, neutral=(0.5, 1.0, 0.6)),
        write_dng(tmp_path / "b.dng", rad, 4.0, neutral=(0.8, 1.0, 0.3)),  # a different as-shot WB
    ]
    assert hraw.reference_white_balance(paths) == pytest.approx(hraw.as_shot_white_balance(paths[1]))
    frames = load_bracket(paths)
    own = read_frame(paths[2])  # developed with its own as-shot white balance
    bright = frames[2]
    assert bright.path.name == "b.dng"
    assert not np.array_equal(own.data, bright.data)
    assert np.array_equal(read_frame(paths[2], hraw.as_shot_white_balance(paths[1])).data, bright.data)


def test_orientation_applied(tmp_path):
    rad = raw_scene()
    upright = read_frame(write_dng(tmp_path / "o1.dng", rad, 1.0, orientation=1)).data
    rotated = read_frame(write_dng(tmp_path / "o6.dng", rad, 1.0, orientation=6)).data  # 90 deg clockwise
    assert rotated.shape[:2] == upright.shape[1::-1]
    assert np.array_equal(rotated, np.rot90(upright, k=-1))


def test_raw_preferred_over_jpeg_of_same_shot(tmp_path):
    from pathlib import Path

    files = [Path(tmp_path / "x.dng"), Path(tmp_path / "x.JPG"), Path(tmp_path / "y.jpg")]
    kept, notes = hraw.prefer_raw(files)
    assert kept == [files[0], files[2]] and len(notes) == 1 and "x.JPG" in notes[0]


def test_thumbnail_none_without_preview(dng_bracket):
    assert hraw.raw_thumbnail(dng_bracket[0]) is None  # pidng writes no preview


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_raw_one_line_error_exit_2(tmp_path, dng_bracket, kind):
    bad = tmp_path / "bad.dng"
    if kind == "garbage":
        bad.write_bytes(b"this is not a raw file" * 50)
    else:
        bad.write_bytes(dng_bracket[0].read_bytes()[:300])
    with pytest.raises(InputError, match="bad.dng"):
        read_frame(bad)
    proc = subprocess.run(
        [sys.executable, "-m", "hdrdesk", "fuse", str(bad), str(dng_bracket[1]), "-o", str(tmp_path / "out.png"), "--method", "mertens"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "bad.dng" in proc.stderr
    assert not (tmp_path / "out.png").exists()


def test_fuse_raw_bracket_cli(tmp_path, dng_bracket):
    out = tmp_path / "fused.tif"
    proc = subprocess.run(
        [sys.executable, "-m", "hdrdesk", "fuse", *map(str, dng_bracket), "-o", str(out), "--method", "mertens", "--bits", "16"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    img = read_frame(out).data
    assert img.dtype == np.uint16 and img.shape[:2] == (48, 64)
