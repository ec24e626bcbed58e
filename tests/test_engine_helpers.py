"""The engine's small shared helpers: TaskState, the quantiser, the error mapper, the scene finder,
mixed-folder grouping and the guided lifting of the weights."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrdesk.errors import Cancelled, InputError, OutputError, is_expected, user_message
from hdrdesk.tasks import TaskState

# ----------------------------------------------------------------- TaskState


def test_task_reports_clamped_progress_and_sub_ranges_map_into_the_parent():
    seen = []
    task = TaskState(lambda f, m: seen.append((round(f, 3), m)))
    task.report(-1.0, "start")
    sub = task.sub(0.5, 1.0).sub(0.0, 0.5)  # [0.5, 0.75] of the parent
    sub.report(0.5, "half of the first half")
    task.report(2.0)
    assert seen == [(0.0, "start"), (0.625, "half of the first half"), (1.0, "half of the first half")]


def test_cancel_raises_at_the_next_check_also_through_a_sub_task():
    task = TaskState()
    sub = task.sub(0.2, 0.4)
    task.check()
    task.cancel()
    assert sub.cancelled
    with pytest.raises(Cancelled):
        sub.report(0.5)


def test_pause_blocks_the_job_until_resume_and_cancel_wakes_a_paused_job():
    task = TaskState()
    task.pause()
    assert task.paused
    reached = threading.Event()
    outcome = []

    def job():
        try:
            task.check()
            reached.set()
            task.check()
            outcome.append("done")
        except Cancelled:
            outcome.append("cancelled")

    t = threading.Thread(target=job)
    t.start()
    assert not reached.wait(0.3)  # paused: check() does not return
    task.resume()
    assert reached.wait(5)
    t.join(5)
    assert outcome == ["done"]
    task2 = TaskState()
    task2.pause()

    def paused_job():
        try:
            task2.check()
            outcome.append("ran")
        except Cancelled:
            outcome.append("cancelled")

    t2 = threading.Thread(target=paused_job)
    t2.start()
    task2.cancel()
    t2.join(5)
    assert not t2.is_alive() and outcome[-1] == "cancelled"


def test_publish_hands_partial_results_to_the_listener_through_sub_tasks():
    got = []
    task = TaskState(on_partial=got.append)
    task.sub(0.0, 0.5).publish({"type": "step", "step": 3})
    TaskState().publish("nobody listens")  # no listener: no error
    assert got == [{"type": "step", "step": 3}]


# ----------------------------------------------------------------- quantiser


def test_one_quantiser_rounds_to_nearest_for_every_source_type():
    from hdrdesk.core.io import to_uint
    from hdrdesk.evaluate import to_uint8 as eval_u8
    from hdrdesk.core.mefssim import _to_uint8_rgb

    rng = np.random.default_rng(0)
    f = rng.random((33, 17, 3)).astype(np.float32)
    expect = np.floor(np.clip(f.astype(np.float64), 0, 1) * 255 + 0.5)
    ties = np.abs(f.astype(np.float64) * 255 - np.floor(f.astype(np.float64) * 255) - 0.5) < 1e-4
    got = to_uint(f, 8)
    assert np.array_equal(got[~ties], expect[~ties].astype(np.uint8))
    assert np.array_equal(eval_u8(f), got) and np.array_equal(_to_uint8_rgb(f), got)
    v16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    assert np.array_equal(to_uint(v16, 8), ((v16.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8))
    v8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert np.array_equal(to_uint(v8, 16), v8.astype(np.uint16) * 257)
    assert to_uint(np.array([[-0.5, 1.5]], np.float32), 16).tolist() == [[0, 65535]]


def test_the_gui_display_uses_the_same_quantiser():
    pytest.importorskip("PySide6")
    from hdrdesk.core.io import to_uint
    from hdrdesk.gui.imaging import to_uint8

    v16 = np.arange(0, 65536, 7, dtype=np.uint16).reshape(1, -1)
    assert np.array_equal(to_uint8(v16), to_uint(v16, 8))


# --------------------------------------------------------------- error mapper


def test_user_message_is_one_line_for_every_kind_of_error():
    assert user_message(InputError("a.png: not an image")) == "a.png: not an image"
    assert user_message(FileNotFoundError(2, "No such file or directory", "x.png")) == "x.png: No such file or directory"
    assert "out of memory" in user_message(MemoryError())
    msg = user_message(ValueError("bad thing\nsecond line"))
    assert msg == "ValueError: bad thing" and "\n" not in msg
    assert is_expected(OutputError("x")) and is_expected(OSError()) and not is_expected(KeyError("k"))


# ------------------------------------------------------------ scene finding


def _img(path: Path, value: int = 100, size=(12, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((*size, 3), value, np.uint8))
    return path


def test_bracket_folders_finds_image_folders_skips_hidden_and_excluded(tmp_path):
    from hdrdesk.scenes import bracket_folders

    for name in ("b", "a", ".hidden", "out"):
        _img(tmp_path / name / "x.png")
    (tmp_path / "empty").mkdir()
    assert [p.name for p in bracket_folders(tmp_path, exclude=tmp_path / "out")] == ["a", "b"]
    single = tmp_path / "a"
    assert bracket_folders(single) == [single]  # a bracket folder itself
    assert bracket_folders(single, include_root=False) == []
    assert bracket_folders(tmp_path / "empty") == []
    with pytest.raises(InputError):
        bracket_folders(tmp_path / "nope")


def test_one_scene_list_reader_for_eval_and_training(tmp_path):
    from hdrdesk.scenes import read_scene_list
    from hdrdesk.training.data import read_scene_list as training_reader

    f = tmp_path / "val.txt"
    f.write_text("# validation\nsc_b  # inline comment\n\nsome/path/sc_a/\n")
    assert read_scene_list(f) == training_reader(f) == ["sc_b", "sc_a"]
    assert read_scene_list("x, y") == ["x", "y"] and read_scene_list(None) is None


def test_manifest_pair_is_checked_the_same_way_everywhere(tmp_path):
    from hdrdesk.scenes import manifest_pair
    from hdrdesk.training.data import DataReport, discover_scenes

    sc = tmp_path / "root" / "sc"
    for i in range(3):
        _img(sc / f"{i:02d}.png", 40 + 80 * i)
    assert manifest_pair(sc) is None
    (sc / "manifest.json").write_text('{"mefb_pair": {"under": "00.png", "over": "02.png"}}')
    assert manifest_pair(sc) == ("00.png", "02.png")
    assert discover_scenes([tmp_path / "root"])[0].pair == (0, 2)
    (sc / "manifest.json").write_text('{"mefb_pair": {"under": "00.png", "over": "09.png"}}')
    with pytest.raises(InputError, match="09.png"):
        manifest_pair(sc)
    report = DataReport()
    assert discover_scenes([tmp_path / "root"], report=report)[0].pair is None  # training goes on, says why
    assert any("09.png" in s for s in report.skipped)


def _shot(path: Path, when: str, value: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", (16, 12), (value, value, value))
    exif = Image.Exif()
    exif[0x0132] = when  # DateTime
    im.save(path, exif=exif)
    return path


def test_group_mixed_folder_groups_by_capture_time(tmp_path):
    from hdrdesk.training.data import DataReport, group_mixed_folder

    folder = tmp_path / "mixed"
    _shot(folder / "1.jpg", "2024:05:01 10:00:00", 40)
    _shot(folder / "2.jpg", "2024:05:01 10:00:01", 120)
    _shot(folder / "3.jpg", "2024:05:01 10:00:02", 200)
    _shot(folder / "4.jpg", "2024:05:01 10:05:00", 60)  # minutes later: another scene ...
    _shot(folder / "5.jpg", "2024:05:01 10:05:01", 180)
    _shot(folder / "6.jpg", "2024:05:01 11:00:00", 90)  # ... and a lone shot
    report = DataReport()
    scenes = group_mixed_folder(folder, report=report)
    assert [[f.name for f in s.files] for s in scenes] == [["1.jpg", "2.jpg", "3.jpg"], ["4.jpg", "5.jpg"]]
    assert [s.name for s in scenes] == ["mixed#1", "mixed#2"]
    assert len(report.skipped) == 1 and "6.jpg" in report.skipped[0]
    assert len(group_mixed_folder(folder, gap_seconds=3600)) == 1


# ------------------------------------------------------------- guided lifting


def test_guided_coefficients_match_korniass_guided_filter_on_interior_pixels():
    import torch
    from kornia.filters import guided_blur

    from hdrdesk.core.guided import guided_coefficients

    rng = np.random.default_rng(1)
    guide = cv2.GaussianBlur(rng.random((40, 52)).astype(np.float32), (0, 0), 2.0)
    src = np.clip(guide * 0.7 + 0.1 * rng.random((40, 52)).astype(np.float32), 0, 1)
    r, eps = 2, 1e-3
    a, b = guided_coefficients(guide, src, r, eps)
    ours = a * guide + b
    ref = guided_blur(torch.from_numpy(guide)[None, None].double(), torch.from_numpy(src)[None, None].double(), 2 * r + 1, eps)[0, 0].numpy()
    m = 2 * r  # the borders differ by design (BORDER_REFLECT here, reflect-101 in kornia)
    np.testing.assert_allclose(ours[m:-m, m:-m], ref[m:-m, m:-m], atol=2e-5)


def test_lift_weights_is_the_fast_guided_filter_and_sums_to_one():
    from hdrdesk.core.fusion import lift_weights
    from hdrdesk.core.guided import guided_coefficients

    rng = np.random.default_rng(2)
    full = [cv2.GaussianBlur(rng.random((64, 96)).astype(np.float32), (0, 0), 3.0) for _ in range(3)]
    low = np.stack([cv2.resize(y, (48, 32), interpolation=cv2.INTER_AREA) for y in full])
    w_low = rng.random((3, 32, 48)).astype(np.float32)
    w_low /= w_low.sum(0, keepdims=True)
    lifted = lift_weights(w_low, low, full)
    assert lifted.shape == (3, 64, 96)
    np.testing.assert_allclose(lifted.sum(0), 1.0, atol=1e-4)
    # exposure 0 by hand: coefficients at low resolution, bilinear to full size, applied to the full luma
    a, b = guided_coefficients(low[0], w_low[0], 2, 1e-3)
    raw = [np.maximum(cv2.resize(a2, (96, 64), interpolation=cv2.INTER_LINEAR) * full[k] + cv2.resize(b2, (96, 64), interpolation=cv2.INTER_LINEAR), 0)
           for k, (a2, b2) in enumerate(guided_coefficients(low[k], w_low[k], 2, 1e-3) for k in range(3))]
    expect = raw[0] / (raw[0] + raw[1] + raw[2] + 1e-12)
    assert a.shape == (32, 48) and b.shape == (32, 48)
    np.testing.assert_allclose(lifted[0], expect, atol=1e-4)
    # same resolution: the weights pass through (only renormalised)
    same = lift_weights(w_low, low, list(low))
    np.testing.assert_allclose(same, w_low, atol=1e-5)


def test_training_and_overlay_share_one_sigma_rule():
    from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GammaParams, sigma_for_window

    assert sigma_for_window(11) == 1.5 and sigma_for_window(21) == pytest.approx(2.864, abs=1e-3)
    p = GammaParams.for_window("gradient", 21, 0.3)
    assert (p.variant, p.window, p.sigma, p.alpha) == ("gradient", 21, sigma_for_window(21), 0.3)
    assert GammaParams().variant == DEFAULT_GAMMA_VARIANT == "variance"
    import inspect

    from hdrdesk.training import loop

    assert "GammaParams.for_window(" in inspect.getsource(loop)
