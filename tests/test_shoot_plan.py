"""The shoot view's editable plan (hdrdesk.shoot.plan) and the frames' previews (hdrdesk.shoot.thumbs), without Qt."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from hdrdesk.errors import InputError, OutputError
from hdrdesk.shoot import group_folder
from hdrdesk.shoot.plan import ShootPlan
from hdrdesk.shoot.thumbs import read_thumbnail
from shoot_synth import T0, camera_exif, write_bracket, write_jpeg


@pytest.fixture
def shoot(tmp_path):
    """IMG_0001-0003 and IMG_0004-0006: two brackets (0, -2, +2) one second apart; IMG_0007 a single; IMG_0008-0012 a 5-frame bracket."""
    folder = tmp_path / "card"
    write_bracket(folder, 1, T0)
    write_bracket(folder, 4, T0 + timedelta(seconds=1.5), seed=1)
    write_jpeg(folder / "IMG_0007.JPG", 0.0, camera_exif(T0 + timedelta(seconds=60), bias=0.0, exposure_time=1 / 60), seed=2)
    write_bracket(folder, 8, T0 + timedelta(seconds=120), (0.0, -1.0, 1.0, -2.0, 2.0), seed=3)
    return folder


def names(plan: ShootPlan) -> list[list[str]]:
    return [[s.path.stem for s in g.shots] for g in plan.groups]


def test_plan_is_the_time_line_of_brackets_and_singles(shoot):
    plan = ShootPlan.from_grouping(group_folder(shoot), shoot)
    assert names(plan) == [["IMG_0001", "IMG_0002", "IMG_0003"], ["IMG_0004", "IMG_0005", "IMG_0006"], ["IMG_0007"],
                           ["IMG_0008", "IMG_0009", "IMG_0010", "IMG_0011", "IMG_0012"]]
    assert [g.is_bracket for g in plan.groups] == [True, True, False, True]
    assert plan.groups[0].ev_labels() == ["+0.0 EV", "-2.0 EV", "+2.0 EV"]
    assert plan.summary_text() == "3 brackets (11 frames), 1 single"
    assert [p.stem for p in plan.single_paths()] == ["IMG_0007"]


def test_split_merge_exclude_reorder(shoot, tmp_path):
    plan = ShootPlan.from_grouping(group_folder(shoot), shoot)
    heard = []
    plan.subscribe(heard.append)
    # split the 5-frame bracket before its 4th frame: 3 + 2
    plan.split(3, 3)
    assert names(plan)[3:] == [["IMG_0008", "IMG_0009", "IMG_0010"], ["IMG_0011", "IMG_0012"]]
    # a piece of one frame is a single, not a bracket
    plan.split(0, 2)
    assert names(plan)[:2] == [["IMG_0001", "IMG_0002"], ["IMG_0003"]] and not plan.groups[1].is_bracket
    # merging puts it back; merging the two back-to-back brackets makes one of six
    plan.merge(0)
    assert names(plan)[0] == ["IMG_0001", "IMG_0002", "IMG_0003"]
    plan.merge(0)
    assert names(plan)[0] == ["IMG_0001", "IMG_0002", "IMG_0003", "IMG_0004", "IMG_0005", "IMG_0006"]
    assert plan.groups[0].key_kind == "bias"
    # a bracket and a stray single merge into one
    plan.merge(0)
    assert len(plan.groups[0].shots) == 7 and len(plan.singles()) == 0
    # exclude, reorder
    plan.set_excluded(1, True)
    assert plan.groups[1].excluded and plan.groups[1] not in plan.included()
    plan.move_frame(2, 1, 0)
    assert names(plan)[2] == ["IMG_0012", "IMG_0011"]
    assert heard.count("groups") == 5 and heard.count("group") == 2
    with pytest.raises(InputError):
        plan.split(2, 0)
    with pytest.raises(InputError):
        plan.merge(len(plan.groups) - 1)
    with pytest.raises(InputError):
        plan.move_frame(2, 0, 5)


def test_jobs_are_named_as_batch_names_them(shoot, tmp_path):
    from hdrdesk.batch import plan_batch

    plan = ShootPlan.from_grouping(group_folder(shoot), shoot)
    out = tmp_path / "out"
    batch = plan_batch(shoot, out, "auto", ".jpg")
    assert [j.output for _, j in plan.jobs(out, ".jpg", "{first}_hdr")] == [j.output for j in batch.jobs]
    assert [j.source for _, j in plan.jobs(out, ".jpg", "{first}_hdr")] == [j.source for j in batch.jobs]
    # excluding one keeps the others' {index}
    plan.set_excluded(1, True)
    jobs = plan.jobs(out, ".png", "shoot_{index:02d}")
    assert [j.output.name for _, j in jobs] == ["shoot_01.png", "shoot_03.png"]
    # reordering frames renames by the new first frame
    plan.move_frame(0, 2, 0)
    assert plan.jobs(out, ".jpg", "{first}_hdr")[0][1].output.name == "IMG_0003_hdr.jpg"
    with pytest.raises(InputError):
        plan.jobs(out, ".jpg", "{nope}")
    with pytest.raises(OutputError):
        plan.jobs(shoot, ".JPG", "{first}")  # the outputs would replace the frames


def test_thumbnails_are_small_and_upright(tmp_path):
    big = write_jpeg(tmp_path / "big.jpg", 0.0, camera_exif(T0, bias=0.0, exposure_time=0.01), size=(1600, 1200))
    t = read_thumbnail(big, 120)
    assert t.dtype == np.uint8 and t.shape == (90, 120, 3)
    # orientation 6 (the camera held upright): the preview is upright too
    exif = camera_exif(T0, bias=0.0, exposure_time=0.01)
    exif[0x0112] = 6
    rot = write_jpeg(tmp_path / "rot.jpg", 0.0, exif, size=(160, 120))
    assert read_thumbnail(rot, 80).shape == (80, 60, 3)
    # 16-bit PNG, and a file that is not an image
    png = tmp_path / "deep.png"
    import cv2

    cv2.imwrite(str(png), np.full((40, 80, 3), 40000, np.uint16))
    t = read_thumbnail(png, 40)
    assert t.shape == (20, 40, 3) and int(t[0, 0, 0]) == 40000 >> 8
    (tmp_path / "junk.jpg").write_bytes(b"not a jpeg")
    assert read_thumbnail(tmp_path / "junk.jpg") is None


def test_plan_and_thumbs_are_qt_free():
    from importcheck import imports_in_fresh_interpreter

    res = imports_in_fresh_interpreter(["hdrdesk.shoot.plan", "hdrdesk.shoot.thumbs"], ("PySide6", "shiboken6", "torch"))
    assert res == {"loaded": [], "failed": {}}
