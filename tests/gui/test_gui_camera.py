"""Camera brackets in the app: deghosting (level, reference, motion masks in the overlay, the
inspector and Export), output colour profiles, sRGB display, RAW loading (previews, RAW+JPEG,
Cancel)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from guitools import load_and_fuse
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from hdrdesk.core.deghost import best_exposed_index
from hdrdesk.core.io import to_uint
from hdrdesk.export import ExportOptions, motion_mask_name
from hdrdesk.gui import settings as cfg
from synth import expose, make_scene

EVS = (-2.0, 0.0, 2.0)
H, W = 96, 144
SQUARE = 24


def _spot(i: int) -> tuple[int, int]:
    """Top-left corner of the moving object in frame ``i`` (darkest first)."""
    return 30, 20 + 40 * i


def write_moving_bracket(folder: Path) -> list[Path]:
    """A static scene with an orange square at another place in every exposure (a subject walking
    through the bracket), as PNGs; names in no exposure order."""
    folder.mkdir(parents=True, exist_ok=True)
    rad = make_scene(H, W)
    paths = []
    for i, (ev, name) in enumerate(zip(EVS, ("b_dark.png", "c_mid.png", "a_bright.png"))):
        r = rad.copy()
        y, x = _spot(i)
        r[y : y + SQUARE, x : x + SQUARE] = np.array([3.0, 1.0, 0.4])
        p = folder / name
        assert cv2.imwrite(str(p), cv2.cvtColor(expose(r, ev), cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths


@pytest.fixture
def moving_bracket(tmp_path) -> list[Path]:
    return write_moving_bracket(tmp_path / "walk")


@pytest.fixture
def deghosted(qtbot, window, moving_bracket):
    """The moving bracket fused without alignment (the scene is still) and with deghosting off, then medium."""
    window.fusion_panel.set_state({"align": False})
    res = load_and_fuse(qtbot, window, moving_bracket)
    assert res.motion_masks is None and res.reference is None
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.fusion_panel.set_deghost("medium")
    return blocker.args[0]


def _other(res) -> int:
    """A frame other than the deghosting reference (its mask covers the subject where it was)."""
    return 2 if res.reference != 2 else 0


def _alpha(display) -> np.ndarray:
    img = display.preview.convertToFormat(display.preview.Format.Format_RGBA8888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 4]
    return arr.reshape(img.height(), img.width(), 4)[:, :, 3]


def _hover(qtbot, window, x: int, y: int) -> dict:
    view = window.viewer.main
    qtbot.mouseMove(view.viewport(), view.mapFromScene(QPointF(x + 0.5, y + 0.5)))
    qtbot.waitUntil(lambda: window.inspector.values is not None and (window.inspector.values["x"], window.inspector.values["y"]) == (x, y), timeout=5000)
    return window.inspector.values


# ------------------------------------------------------------------ deghosting


def test_deghost_combo_refuses_and_masks_appear_as_overlay(qtbot, window, deghosted):
    res = deghosted
    assert window.fusion_output().options.deghost == "medium"
    assert cfg.get(window.settings, cfg.FUSION_DEGHOST) == "medium"  # persisted
    assert res.motion_masks is not None and len(res.motion_masks) == 3
    assert res.reference == best_exposed_index(window.session.frames())  # the engine's pick
    assert window.overlay_panel.kind_available("motion")

    k = _other(res)
    with qtbot.waitSignal(window.overlayShown, timeout=20000, check_params_cb=lambda kind: kind == "motion"):
        window.set_overlay("motion", k)
    overlay = window.viewer.main.overlay.display()
    assert overlay is not None and (overlay.width, overlay.height) == (W, H)
    alpha = _alpha(overlay)
    y, x = _spot(k)
    assert alpha[y + 6 : y + SQUARE - 6, x + 6 : x + SQUARE - 6].min() > 200  # the subject, where it was in that frame
    assert alpha[80:, :].max() == 0  # nothing moved there: the image shows through

    # latest request wins: two requests in a row give one result, the second's
    results = []
    window.resultReady.connect(results.append)
    window.fusion_panel.set_deghost("high")
    window.request_fusion()
    window.fusion_panel.set_deghost("low")
    window.request_fusion()
    qtbot.waitUntil(lambda: not window.fusion.is_busy(), timeout=60000)
    assert len(results) == 1 and window.fusion_output().options.deghost == "low"

    # off: the same bracket fuses without masks; the Motion mask overlay is withdrawn
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.fusion_panel.set_deghost("off")
    assert blocker.args[0].motion_masks is None
    assert window.overlay_panel.kind_value() == "none" and not window.overlay_panel.kind_available("motion")


def test_deghost_level_restored_in_a_new_window(qtbot, window):
    from hdrdesk.gui.main_window import MainWindow

    window.fusion_panel.set_deghost("high")
    window.save_settings()
    again = MainWindow(analysis=False)
    qtbot.addWidget(again)
    assert again.fusion_panel.deghost_value() == "high" and again.session.settings.deghost == "high"


def test_reference_star_changes_the_request(qtbot, window, deghosted):
    session, strip = window.session, window.filmstrip
    entries = session.bracket.entries
    auto, k = deghosted.reference, _other(deghosted)
    marks = strip.marks
    assert marks.on and marks.chosen is None and marks.used == entries[auto].uid  # the engine's pick, shown as "auto"
    assert marks.role(entries[auto].uid) == "auto" and "automatic" in marks.describe(entries[auto].uid)
    assert marks.motion[entries[k].uid] > 0.01 and marks.motion[entries[auto].uid] == 0.0

    # click the star on another frame's card
    from hdrdesk.gui.filmstrip import _CardDelegate
    from hdrdesk.gui.filmstrip_marks import star_rect

    card = strip.visualItemRect(strip.item(k)).adjusted(4, 4, -4, -4)
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=star_rect(_CardDelegate.thumb_rect(card)).center())
    res = blocker.args[0]
    assert window.fusion_output().options.reference == k and res.reference == k
    assert not res.motion_masks[k].any() and res.motion_masks[auto].any()  # masks now against frame k
    assert strip.marks.chosen == entries[k].uid and strip.marks.role(entries[k].uid) == "chosen"
    assert strip.marks.role(entries[auto].uid) == ""

    # leaving the reference out of the fusion falls back to the automatic choice
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        session.toggle_frame(entries[k].uid)
    assert window.fusion_output().options.reference is None and blocker.args[0].reference is not None
    # with deghosting off, choosing a reference asks for no fusion
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.fusion_panel.set_deghost("off")
    seen = []
    session.subscribe(seen.append)
    session.set_reference(entries[auto].uid)
    assert seen[-1].kind == "bracket" and not seen[-1].fuse and session.fusion_options().reference is None


def test_inspector_shows_the_mask_value_per_frame(qtbot, window, deghosted):
    res = deghosted
    ref, k = res.reference, _other(res)
    y, x = _spot(k)
    values = _hover(qtbot, window, x + 10, y + 10)
    rows = values["exposures"]
    for i, row in enumerate(rows):
        assert row["motion"] == pytest.approx(float(res.motion_masks[i][y + 10, x + 10]))
    assert rows[k]["motion"] > 0.9 and rows[ref]["reference"] and rows[ref]["motion"] == 0.0
    table = window.inspector.table
    assert not table.isColumnHidden(4) and table.item(k, 4).text() == f"{rows[k]['motion']:.2f}" and table.item(ref, 4).text() == "★"
    # the exposure values are the sRGB values the fusion used
    assert table.horizontalHeaderItem(1).text() == "sRGB"
    np.testing.assert_array_equal(rows[2]["value"], res.frames[2].data[y + 10, x + 10])


def test_export_writes_masks_without_overwriting(qtbot, window, deghosted, tmp_path, monkeypatch):
    res = deghosted
    out = tmp_path / "out" / "walk.png"
    out.parent.mkdir()
    taken = out.parent / motion_mask_name(out, 1, res.frames[1].path)
    taken.write_bytes(b"precious")
    asked = []
    monkeypatch.setattr(window.exports, "confirm_overwrite", lambda existing: asked.append(existing) or False)
    assert window.export_to(ExportOptions(out, masks=True)) == 0
    assert asked == [[taken]] and taken.read_bytes() == b"precious" and not out.exists()

    out2 = out.with_name("walk2.png")
    with qtbot.waitSignal(window.exportFinished, timeout=30000) as blocker:
        assert window.export_to(ExportOptions(out2, masks=True))
    written = blocker.args[0]
    assert written[0] == out2 and len(written) == 4
    for k, path in enumerate(written[1:]):
        assert path.name == motion_mask_name(out2, k, res.frames[k].path)
        m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert m.dtype == np.uint16
        np.testing.assert_allclose(m / 65535.0, res.motion_masks[k], atol=1e-4)
    assert taken.read_bytes() == b"precious" and not list(out.parent.glob("*.tmp"))


def test_export_dialog_offers_masks_and_output_profiles(qtbot, tmp_path):
    from hdrdesk.core.gamma import GammaParams
    from hdrdesk.gui.export_dialog import ExportDialog

    dlg = ExportDialog(tmp_path / "x.png", GammaParams(), True, masks_available=False)
    qtbot.addWidget(dlg)
    dlg.masks.setChecked(True)
    assert not dlg.masks.isEnabled() and not dlg.options().masks  # nothing to write without deghosting
    assert dlg.options().output_profile == "srgb"  # the default

    dlg = ExportDialog(tmp_path / "x.png", GammaParams(), True, masks_available=True, profile="adobe-rgb")
    qtbot.addWidget(dlg)
    dlg.masks.setChecked(True)
    assert dlg.options().masks and dlg.options().output_profile == "adobe-rgb"
    assert [dlg.profile.itemData(i) for i in range(dlg.profile.count())] == ["srgb", "adobe-rgb", "prophoto", "input"]
    assert "16-bit TIFF" in dlg.profile_hint.text()  # a wide gamut in an 8-bit PNG
    dlg.path.setText(str(tmp_path / "x.tif"))
    dlg.bits.setCurrentIndex(dlg.bits.findData(16))
    assert "16-bit TIFF" not in dlg.profile_hint.text()


def test_export_converts_to_the_output_profile_and_embeds_it(qtbot, window, small_bracket, tmp_path):
    from PIL import Image

    from hdrdesk.core.color_profiles import convert_to_srgb, profile_bytes

    res = load_and_fuse(qtbot, window, small_bracket)
    outs = {}
    for profile in ("srgb", "prophoto"):
        out = tmp_path / f"fused-{profile}.png"
        with qtbot.waitSignal(window.exportFinished, timeout=30000):
            window.export_to(ExportOptions(out, bits=16, output_profile=profile))
        outs[profile] = out
    shown = to_uint(res.image, 16).astype(np.float64)
    for profile, out in outs.items():
        assert Image.open(out).info.get("icc_profile") == profile_bytes(profile)
        data = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
        back = convert_to_srgb(data, profile_bytes(profile)).astype(np.float64)  # read through its own profile
        assert np.abs(back - shown).mean() < 1.5 * 257
        if profile == "prophoto":
            assert np.abs(data.astype(np.float64) - shown).mean() > 10 * 257  # really converted


def test_display_and_inspector_are_srgb(qtbot, window, tmp_path, monkeypatch):
    """Frames tagged Adobe RGB: the inspector shows their sRGB values, and the About box says the display is sRGB."""
    from guitools import synthetic_bracket

    from hdrdesk.core.color_profiles import convert_from_srgb, convert_to_srgb, profile_bytes
    from hdrdesk.core.io import write_image

    icc = profile_bytes("adobe-rgb")
    folder = tmp_path / "adobe"
    folder.mkdir()
    stored = []
    for name, img in zip(("b.png", "a.png", "c.png"), synthetic_bracket(48, 72, (0.0, 2.0, -2.0))):
        data = convert_from_srgb(img, icc)
        write_image(folder / name, data, icc=icc)
        stored.append(data)
    window.fusion_panel.set_state({"align": False})
    res = load_and_fuse(qtbot, window, sorted(folder.iterdir()))
    values = _hover(qtbot, window, 40, 20)
    by_name = {r["name"]: r["value"] for r in values["exposures"]}
    for name, data in zip(("b.png", "a.png", "c.png"), stored):
        srgb = convert_to_srgb(data, icc)[20, 40]
        np.testing.assert_array_equal(by_name[name], srgb)
    assert any(np.abs(by_name[n].astype(int) - d[20, 40].astype(int)).max() > 3 for n, d in zip(("b.png", "a.png", "c.png"), stored))
    assert res.frames[0].icc_profile == icc  # kept through alignment-free fusion for "input" exports

    from PySide6.QtWidgets import QMessageBox

    from hdrdesk.gui import about

    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda _parent, _title, text: shown.append(text))
    about.show_about(window, {})
    assert "displays in <b>sRGB</b>" in shown[0] and "inspector shows sRGB" in shown[0]


def test_aligned_frames_keep_their_icc_profile():
    """An "input" export takes the profile from the fused (aligned) frames: alignment must keep it."""
    from guitools import synthetic_bracket

    from hdrdesk.core.align import align_frames
    from hdrdesk.core.color_profiles import profile_bytes
    from hdrdesk.core.io import Frame

    icc = profile_bytes("adobe-rgb")
    imgs = synthetic_bracket(240, 360, (-1.0, 0.0, 1.0))
    imgs[2] = np.roll(imgs[2], (4, -6), axis=(0, 1))  # a frame that really moves
    frames = [Frame(path=Path(f"{i}.png"), data=d, icc_profile=icc) for i, d in enumerate(imgs)]
    aligned, infos = align_frames(frames)
    assert infos[2].applied and aligned[2] is not frames[2]
    assert all(f.icc_profile == icc for f in aligned)


# ------------------------------------------------------------------ RAW


needs_dng = pytest.mark.skipif(importlib.util.find_spec("pidng") is None, reason="the tiny DNGs are written with pidng (test extra)")


def _write_raw_jpeg_pairs(folder: Path) -> tuple[list[Path], list[Path]]:
    from dng_synth import raw_scene, write_dng

    folder.mkdir(parents=True, exist_ok=True)
    rad = raw_scene()
    raws, jpegs = [], []
    for name, t in (("IMG_2.dng", 1.0), ("IMG_1.dng", 0.25), ("IMG_3.dng", 4.0)):
        raws.append(write_dng(folder / name, rad, t))
        jpg = folder / name.replace(".dng", ".jpg")
        assert cv2.imwrite(str(jpg), np.full((48, 64, 3), 128, np.uint8))
        jpegs.append(jpg)
    return raws, jpegs


def _drop(window, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


@needs_dng
def test_raw_and_jpeg_drop_uses_the_raw_and_says_so(qtbot, window, tmp_path, monkeypatch):
    import hdrdesk.gui.raw_loading as raw_loading

    raws, jpegs = _write_raw_jpeg_pairs(tmp_path / "shoot")
    magenta = np.zeros((40, 60, 3), np.uint8)
    magenta[:, :, 0] = magenta[:, :, 2] = 255
    # one file with an embedded preview (pidng writes none): that one becomes its thumbnail
    monkeypatch.setattr(raw_loading, "raw_thumbnail", lambda p: magenta if Path(p).name == "IMG_3.dng" else None)
    previews, status = [], []
    window.loader.partial.connect(lambda _rid, v: previews.append(v))
    window.loadFinished.connect(lambda: status.append(window.status_label.text()))  # before the fusion's status
    with qtbot.waitSignal(window.loadFinished, timeout=60000):
        _drop(window, sorted(raws + jpegs))
    entries = window.session.bracket.entries
    assert [e.name for e in entries] == ["IMG_1.dng", "IMG_2.dng", "IMG_3.dng"]  # darkest first, the RAWs only
    assert all(e.frame.data.dtype == np.uint16 for e in entries)
    messages = [t for _level, t in window.notifications.messages()]
    assert any("using the RAW files" in t and "IMG_1.jpg" in t for t in messages)
    assert "RAW files used instead of 3 JPEG" in status[0] and "3 RAW developed" in status[0]
    # the previews came first, as pending cards, before any develop had finished
    assert previews and previews[0].done == 0 and sorted(previews[0].names) == ["IMG_1.dng", "IMG_2.dng", "IMG_3.dng"]
    assert not window.filmstrip.pending_cards()
    thumb = entries[2].thumb
    assert (thumb.width(), thumb.height()) == (60, 40) and thumb.pixelColor(5, 5).name() == "#ff00ff"
    assert entries[0].thumb.pixelColor(5, 5).name() != "#ff00ff"  # no preview: made from the developed pixels


@needs_dng
def test_cancel_stops_a_raw_develop(qtbot, window, tmp_path, monkeypatch):
    import hdrdesk.gui.jobs as jobs

    raws, _ = _write_raw_jpeg_pairs(tmp_path / "shoot")
    real_read = jobs.read_frame
    developing, release = threading.Event(), threading.Event()

    def gated_read(path, *args, **kwargs):  # the first develop waits until the test has pressed Cancel
        developing.set()
        release.wait(30)
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(jobs, "read_frame", gated_read)
    try:
        with qtbot.waitSignal(window.loader.partial, timeout=30000):
            window.open_paths(raws)
        qtbot.waitUntil(developing.is_set, timeout=30000)  # the worker is inside the first develop
        assert [c.state for c in window.filmstrip.pending_cards()] == ["developing", "waiting", "waiting"]
        assert window.cancel_button.isVisible()
        with qtbot.waitSignal(window.loader.cancelled, timeout=30000):
            window.cancel_button.click()
            release.set()
    finally:
        release.set()
    assert len(window.session.bracket) == 0 and not window.filmstrip.pending_cards()
    assert "cancelled" in window.status_label.text()
    assert window.stack.currentWidget() is window.welcome  # back to the start screen: nothing was loaded
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10000)
