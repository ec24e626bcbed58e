"""Finding the brackets in a flat folder of camera files (hdrdesk.shoot): header reading and grouping.

Every shoot is written by the test: tiny JPEGs with the EXIF a camera writes (Pillow).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from PIL import Image

from hdrdesk.shoot import group_files, group_folder, read_shot_info, scan_folder
from hdrdesk.shoot import grouping as grouping_mod
from shoot_synth import T0, camera_exif, jpeg_template, with_exif, write_bracket, write_jpeg


def names(grouping) -> list[list[str]]:
    return [[s.name for s in b.shots] for b in grouping.brackets]


def seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


def no_pixels(monkeypatch) -> None:
    """Fail if grouping decodes pixels (it must read headers only when EXIF is there)."""

    def refuse(path):
        raise AssertionError(f"decoded {path}")

    monkeypatch.setattr(grouping_mod, "_thumbnail", refuse)


# ----------------------------------------------------------------- header reader


def test_header_reader_matches_pillow(tmp_path):
    when = T0 + timedelta(microseconds=370000)
    exif = camera_exif(when, bias=-2 / 3, exposure_time=1 / 250, f_number=5.6, iso=400, lens="RF 15-35mm", serial="0421")
    p = write_jpeg(tmp_path / "a.jpg", 0.0, exif)  # Pillow writes big-endian EXIF
    info = read_shot_info(p)
    with Image.open(p) as im:
        sub = im.getexif().get_ifd(0x8769)
    assert info.bias_ev == pytest.approx(float(sub[0x9204])) and info.bias_ev == pytest.approx(-2 / 3, abs=1e-3)
    assert info.exposure_time == pytest.approx(1 / 250) and info.f_number == pytest.approx(5.6) and info.iso == 400
    assert info.capture_time is not None and info.capture_time % 60 == pytest.approx(0.37)
    assert (info.make, info.model, info.lens, info.serial, info.software) == ("Canon", "Canon EOS R5", "RF 15-35mm", "0421", "")
    assert info.camera == "Canon EOS R5 #0421"
    # a TIFF-based RAW header (little-endian, IFDs at the start of the file) and a PNG with an eXIf chunk
    raw_exif = camera_exif(when, bias=1.0, exposure_time=0.5, make="NIKON CORPORATION", model="NIKON Z 8")
    raw_exif.endian = "<"
    raw = tmp_path / "DSC_0001.NEF"
    raw.write_bytes(raw_exif.tobytes()[6:] + bytes(4096))
    assert raw.read_bytes()[:2] == b"II"
    info = read_shot_info(raw)
    assert (info.bias_ev, info.exposure_time, info.camera) == (1.0, 0.5, "NIKON Z 8")
    from hdrdesk.core.io import write_image

    png = write_image(tmp_path / "c.png", np.zeros((8, 8, 3), np.float32), exif=exif.tobytes())
    info = read_shot_info(png)
    assert info.bias_ev == pytest.approx(-2 / 3, abs=1e-3) and info.software == "HDRDesk"  # our own output


def test_header_reader_survives_junk(tmp_path):
    for name, data in (("empty.jpg", b""), ("junk.jpg", b"\xff\xd8\xff\xe1\xff\xff" + b"\x00" * 40), ("text.jpg", b"hello"),
                       ("loop.tif", b"II*\x00\x08\x00\x00\x00\xff\xff")):
        (tmp_path / name).write_bytes(data)
        info = read_shot_info(tmp_path / name)
        assert info.capture_time is None and info.exposure_time is None
    assert read_shot_info(tmp_path / "missing.jpg").capture_time is None


# ----------------------------------------------------------------- orders and patterns


@pytest.mark.parametrize("order", [(0.0, -2.0, 2.0), (-2.0, 0.0, 2.0), (0.0, 2.0, -2.0), (2.0, 0.0, -2.0)])
def test_back_to_back_brackets_one_second_apart(tmp_path, monkeypatch, order):
    no_pixels(monkeypatch)
    t = T0
    expected = []
    for b in range(4):
        files = write_bracket(tmp_path, 1 + 3 * b, t, order, seed=b)
        expected.append([p.name for p in files])
        t += seconds(0.5 + 1.0)  # the next bracket starts one second after this one's last frame
    g = group_folder(tmp_path)
    assert names(g) == expected
    assert g.singles == [] and g.notes == []
    assert g.brackets[0].ev_labels() == [f"{o:+.1f} EV" for o in order]


def test_five_and_seven_frame_brackets(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    five = (0.0, -1.0, 1.0, -2.0, 2.0)
    seven = (0.0, -1.0, 1.0, -2.0, 2.0, -3.0, 3.0)
    a = write_bracket(tmp_path, 1, T0, five, step_s=0.2)
    b = write_bracket(tmp_path, 6, T0 + seconds(2.0), five, step_s=0.2)  # back to back
    c = write_bracket(tmp_path, 11, T0 + seconds(60), seven, step_s=0.2)
    d = write_bracket(tmp_path, 18, T0 + seconds(62.4), seven, step_s=0.2)
    g = group_folder(tmp_path)
    assert names(g) == [[p.name for p in x] for x in (a, b, c, d)]


def test_metering_change_between_back_to_back_brackets_without_bias(tmp_path, monkeypatch):
    """Manual-mode brackets (bias 0 on every frame): the shutter times differ between rooms, the offsets repeat."""
    no_pixels(monkeypatch)
    expected = []
    t = T0
    for b, base in enumerate((1 / 60, 1 / 15, 1 / 250, 1 / 30)):
        files = write_bracket(tmp_path, 1 + 3 * b, t, (0.0, -2.0, 2.0), base_time=base, with_bias=False, seed=b)
        expected.append([p.name for p in files])
        t += seconds(1.6)
    g = group_folder(tmp_path)
    assert names(g) == expected
    assert g.brackets[0].key_kind == "exposure"
    assert g.brackets[0].ev_labels() == ["+0.0 EV", "-2.0 EV", "+2.0 EV"]


def test_singles_are_listed_not_bracketed(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    a = write_bracket(tmp_path, 1, T0)
    # a normal shot 1.5 s after a bracket, and one with +1 EV compensation 1 s after another
    lone = write_jpeg(tmp_path / "IMG_0004.JPG", 0.0, camera_exif(T0 + seconds(2.0), bias=0.0, exposure_time=1 / 60))
    b = write_bracket(tmp_path, 5, T0 + seconds(30))
    c = write_bracket(tmp_path, 8, T0 + seconds(60))
    plus = write_jpeg(tmp_path / "IMG_0011.JPG", 1.0, camera_exif(T0 + seconds(61.5), bias=1.0, exposure_time=1 / 30))
    d = write_bracket(tmp_path, 12, T0 + seconds(90))
    far = write_jpeg(tmp_path / "IMG_0015.JPG", 0.0, camera_exif(T0 + seconds(300), bias=0.0, exposure_time=1 / 60))
    g = group_folder(tmp_path)
    assert names(g) == [[p.name for p in x] for x in (a, b, c, d)]
    assert [s.name for s in g.singles] == [lone.name, plus.name, far.name]


def test_a_burst_at_one_exposure_is_singles(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    for i in range(5):
        write_jpeg(tmp_path / f"IMG_{i:04d}.JPG", 0.0, camera_exif(T0 + seconds(0.1 * i), bias=0.0, exposure_time=1 / 500))
    g = group_folder(tmp_path)
    assert g.brackets == [] and len(g.singles) == 5


def test_same_second_without_subseconds_uses_file_order(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    files = []
    for i, off in enumerate((0.0, -2.0, 2.0, 0.0, -2.0, 2.0)):
        exif = camera_exif(T0 + seconds(i // 3), bias=off, exposure_time=1 / 60 * 2**off)
        del exif.get_ifd(0x8769)[0x9291]  # no sub-seconds: all frames of a bracket share a second
        files.append(write_jpeg(tmp_path / f"IMG_{i + 1:04d}.JPG", off, exif))
    g = group_folder(tmp_path)
    assert names(g) == [[p.name for p in files[:3]], [p.name for p in files[3:]]]


def test_long_exposures_do_not_break_a_bracket(tmp_path, monkeypatch):
    """A 4 s frame followed 4.3 s later by the next one: the pause is 0.3 s, not 4.3 s."""
    no_pixels(monkeypatch)
    files = []
    t = T0
    for i, off in enumerate((0.0, -2.0, 2.0)):
        exp = 1.0 * 2**off
        files.append(write_jpeg(tmp_path / f"IMG_{i + 1:04d}.JPG", off, camera_exif(t, bias=off, exposure_time=exp)))
        t += seconds(exp + 0.3)
    assert names(group_folder(tmp_path)) == [[p.name for p in files]]


# ----------------------------------------------------------------- cameras, RAW+JPEG, fallback


def test_mixed_cameras_shooting_at_the_same_time(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    canon = write_bracket(tmp_path, 1, T0, prefix="IMG_")
    nikon = write_bracket(tmp_path, 1, T0 + seconds(0.1), (-1.0, 0.0, 1.0), prefix="DSC_", make="NIKON CORPORATION", model="NIKON Z 8")
    # a second body of the same model, told apart by its serial number
    other = write_bracket(tmp_path, 101, T0 + seconds(0.05), prefix="IMG_", serial="2222")
    g = group_folder(tmp_path)
    assert sorted(names(g)) == sorted([[p.name for p in x] for x in (canon, nikon, other)])
    assert any("3 cameras" in n for n in g.notes)


def test_lens_change_separates(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    a = write_bracket(tmp_path, 1, T0, (0.0, -2.0), lens="RF 15-35mm")
    b = write_bracket(tmp_path, 3, T0 + seconds(1.0), (2.0, 1.0), lens="RF 100mm")
    assert names(group_folder(tmp_path)) == [[p.name for p in a], [p.name for p in b]]


def test_raw_and_jpeg_of_one_shot_count_once(tmp_path, monkeypatch):
    from hdrdesk.shoot import grouping

    monkeypatch.setattr(grouping, "raw_readable", lambda: False)  # the case of a reader without RAW
    jpegs = write_bracket(tmp_path, 1, T0)
    for p in jpegs:  # the RAW files: unreadable here; their JPEGs carry the EXIF
        p.with_suffix(".CR3").write_bytes(b"\x00\x00\x00\x18ftypcrx " + b"\x00" * 64)
    (tmp_path / "IMG_0050.NEF").write_bytes(b"MM\x00*" + b"\x00" * 32)  # a RAW with no JPEG
    files = scan_folder(tmp_path)
    assert len(files) == 7
    auto = group_files(files)  # RAW is not readable yet: the JPEG is fused
    assert names(auto) == [[p.name for p in jpegs]]
    assert [s.companions[0].suffix for s in auto.brackets[0].shots] == [".CR3"] * 3
    assert [(p.name, "RAW" in why) for p, why in auto.ignored] == [("IMG_0050.NEF", True)]
    monkeypatch.setattr(grouping, "raw_readable", lambda: True)  # a reader with RAW: the RAW of a pair by default
    assert names(group_files(files)) == [[p.with_suffix(".CR3").name for p in jpegs]]
    assert names(group_files(files, prefer_raw=False)) == [[p.name for p in jpegs]]
    raw = group_files(files, prefer_raw=True)  # the RAW, grouped by its JPEG's EXIF
    assert names(raw) == [[p.with_suffix(".CR3").name for p in jpegs]]
    assert [p.name for p, _ in raw.ignored] == []
    assert [s.name for s in raw.singles] == ["IMG_0050.NEF"]  # no EXIF and no picture to compare: a single
    assert raw.notes and "IMG_0050.NEF" in raw.notes[0]


def test_missing_exif_falls_back_to_file_order_and_brightness(tmp_path):
    # two brackets of different scenes and a single, no EXIF at all
    a = [write_jpeg(tmp_path / f"DSC{i:03d}.jpg", ev, None, seed=1) for i, ev in enumerate((0.0, -2.0, 2.0))]
    b = [write_jpeg(tmp_path / f"DSC{i + 3:03d}.jpg", ev, None, seed=7, size=(32, 24)) for i, ev in enumerate((0.0, -2.0, 2.0))]
    rng = np.random.default_rng(3)
    single = tmp_path / "DSC006.jpg"
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(single)
    g = group_folder(tmp_path)
    assert names(g) == [[p.name for p in a], [p.name for p in b]]
    assert [s.name for s in g.singles] == ["DSC006.jpg"]
    assert g.brackets[0].grouped_by == "brightness"
    assert len(g.notes) == 1 and "7 files without EXIF" in g.notes[0] and "guess" in g.notes[0]
    assert g.brackets[0].ev_labels()[1].startswith("brightness ")


def test_own_outputs_are_not_inputs(tmp_path, monkeypatch):
    no_pixels(monkeypatch)
    a = write_bracket(tmp_path, 1, T0)
    fused = tmp_path / "IMG_0001_hdr.jpg"
    write_jpeg(fused, 0.0, camera_exif(T0, bias=0.0, exposure_time=1 / 60, software="HDRDesk"))
    g = group_folder(tmp_path)
    assert names(g) == [[p.name for p in a]]
    assert [p.name for p, _ in g.ignored] == [fused.name]


def test_grouping_two_thousand_files_reads_headers_only(tmp_path, monkeypatch):
    """2,000 camera files (brackets of 3 and 5, and singles): all grouped right, no pixel decoded."""
    no_pixels(monkeypatch)
    template = jpeg_template()
    n, t, expected, k = 1, T0, [], 0
    patterns = [(0.0, -2.0, 2.0), (0.0, -1.0, 1.0, -2.0, 2.0), (0.0,)]
    while n <= 2000:
        offs = patterns[k % 3][: 2001 - n]
        names_ = []
        for i, off in enumerate(offs):
            exif = camera_exif(t + seconds(0.2 * i), bias=off, exposure_time=1 / 60 * 2**off)
            (tmp_path / f"IMG_{n:04d}.JPG").write_bytes(with_exif(template, exif))
            names_.append(f"IMG_{n:04d}.JPG")
            n += 1
        if len(offs) > 1:
            expected.append(names_)
        t += seconds(20)
        k += 1
    g = group_folder(tmp_path)
    assert sum(len(b.shots) for b in g.brackets) + len(g.singles) == 2000
    assert names(g) == expected


def test_shoot_modules_are_qt_free_and_batch_does_not_import_the_cli():
    from importcheck import imports_in_fresh_interpreter

    mods = ["hdrdesk.shoot", "hdrdesk.shoot.queue", "hdrdesk.batch", "hdrdesk.options"]
    assert imports_in_fresh_interpreter(mods, ("PySide6", "hdrdesk.cli", "torch")) == {"loaded": [], "failed": {}}
