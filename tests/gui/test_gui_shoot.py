"""The shoot view: a dropped folder of many brackets, its edits, 'Fuse all', cancel and the summary."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from shoot_synth import T0, camera_exif, write_bracket, write_jpeg

SIZE = (72, 48)


@pytest.fixture
def card(tmp_path) -> Path:
    """A flat folder: three brackets (0, -2, +2; the first two back to back), a single, a 5-frame bracket."""
    folder = tmp_path / "card"
    write_bracket(folder, 1, T0, size=SIZE)
    write_bracket(folder, 4, T0 + timedelta(seconds=1.5), size=SIZE, seed=1)
    write_jpeg(folder / "IMG_0007.JPG", 0.0, camera_exif(T0 + timedelta(seconds=60), bias=0.0, exposure_time=1 / 60), size=SIZE, seed=2)
    write_bracket(folder, 8, T0 + timedelta(seconds=120), (0.0, -1.0, 1.0, -2.0, 2.0), size=SIZE, seed=3)
    return folder


def _drop(widget, paths) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(*args)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(*args)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def _open(qtbot, window, card):
    with qtbot.waitSignal(window.shoots.shootOpened, timeout=30000) as opened:
        _drop(window, [card])
    return window.shoots, opened.args[0]


def _names(plan) -> list[list[str]]:
    return [[s.path.stem for s in g.shots] for g in plan.groups]


def _fuse(qtbot, shoots, timeout=120000):
    with qtbot.waitSignal(shoots.queueFinished, timeout=timeout) as done:
        shoots.view.fuse_button.click()
    return done.args[0]


def _no_leftovers(folder: Path) -> list[str]:
    """Temp or hidden files in the output folder (an atomic write leaves none)."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix in (".tmp", ".part")]


def test_dropping_a_shoot_opens_the_view_with_its_brackets(qtbot, window, card):
    shoots, plan = _open(qtbot, window, card)
    assert _names(plan) == [["IMG_0001", "IMG_0002", "IMG_0003"], ["IMG_0004", "IMG_0005", "IMG_0006"], ["IMG_0007"],
                            ["IMG_0008", "IMG_0009", "IMG_0010", "IMG_0011", "IMG_0012"]]
    view = shoots.view
    assert view.isVisible() and len(window.frames()) == 0  # the main view did not load the shoot as one bracket
    model = view.table.model()
    assert model.rowCount() == 4
    assert model.index(0, 0).data() == "1" and model.index(2, 0).data() == "–"
    assert "single" in model.index(2, 2).data().splitlines()[1] and model.index(2, 5).data() == "skipped: single"
    assert model.index(0, 4).data() == "IMG_0001_hdr.jpg" and model.index(2, 4).data() == "—"
    assert "3 brackets (11 frames), 1 single" in view.heading.text()
    assert view.folder_edit.text() == str(card / "fused") and not view.notes.isVisible()
    # previews are read on a worker; the view shows them once there
    if len(model.thumbs) < 12:
        qtbot.waitSignal(shoots.thumbsReady, timeout=30000).wait()
    assert len(model.thumbs) == 12 and all(img is not None and img.width() <= 120 for img in model.thumbs.values())
    assert view.frames_list.count() == 3 and not view.frames_list.item(1).icon().isNull()
    assert "-2.0 EV" in view.frames_list.item(1).text()


def test_a_drop_of_one_bracket_still_loads_into_the_main_view(qtbot, window, tmp_path):
    folder = tmp_path / "one"
    write_bracket(folder, 1, T0, (0.0, -1.0, 1.0, -2.0, 2.0), size=SIZE)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        with qtbot.waitSignal(window.shoots.routedToBracket, timeout=30000):
            _drop(window, [folder])
    assert len(window.frames()) == 5 and window.shoots.view is None


def test_split_merge_exclude_and_reorder_in_the_view(qtbot, window, card):
    shoots, plan = _open(qtbot, window, card)
    view = shoots.view
    model = view.table.model()
    # split the 5-frame bracket before its 4th frame
    shoots.select(3, 3)
    assert view.split_button.isEnabled()
    view.split_button.click()
    assert _names(plan)[3:] == [["IMG_0008", "IMG_0009", "IMG_0010"], ["IMG_0011", "IMG_0012"]]
    assert model.rowCount() == 5 and model.index(4, 4).data() == "IMG_0011_hdr.jpg"
    # merge the back-to-back pair into one bracket of six
    shoots.select(0)
    view.merge_button.click()
    assert _names(plan)[0] == ["IMG_0001", "IMG_0002", "IMG_0003", "IMG_0004", "IMG_0005", "IMG_0006"]
    # exclude one: its row says so and 'Fuse all' leaves it out
    shoots.select(2)
    view.exclude_button.click()
    assert plan.groups[2].excluded and model.index(2, 4).data() == "excluded" and view.exclude_button.text() == "Include"
    assert "2 brackets to fuse" in view.message.text()
    # reorder: the selected frame moves, the output name follows the new first frame
    shoots.select(3, 1)
    view.earlier_button.click()
    assert _names(plan)[3] == ["IMG_0012", "IMG_0011"] and model.index(3, 4).data() == "IMG_0012_hdr.jpg"
    assert view.frames_list.currentRow() == 0
    # a bad name pattern: one line, 'Fuse all' off
    view.pattern_edit.setText("{nope}")
    view.pattern_edit.editingFinished.emit()
    assert not view.fuse_button.isEnabled() and "{nope}" in view.message.text()


def test_fuse_all_writes_every_bracket_and_sums_up(qtbot, window, card, tmp_path):
    shoots, plan = _open(qtbot, window, card)
    view = shoots.view
    out = tmp_path / "out"
    view.folder_edit.setText(str(out))
    view.format_combo.setCurrentIndex(view.format_combo.findText("PNG 8-bit"))
    shoots.select(1)
    view.exclude_button.click()
    # a bracket that cannot be fused: a frame that is not a readable image
    bad = card / "IMG_0010.JPG"
    bad.write_bytes(bad.read_bytes()[:300])
    updates = []
    shoots.queueUpdated.connect(updates.append)
    run = _fuse(qtbot, shoots)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["IMG_0001_hdr.png"]
    assert run.summary is not None and not run.summary.cancelled
    assert [j.output.name for j in run.summary.fused] == ["IMG_0001_hdr.png"]
    assert [(j.name, "IMG_0010" in why) for j, why in run.summary.failed] == [("IMG_0008.JPG", True)]
    assert [p.name for p in run.summary.singles] == ["IMG_0007.JPG"] and run.excluded == 1
    with Image.open(out / "IMG_0001_hdr.png") as im:
        assert im.size == SIZE
    # per bracket and overall progress reached the view; the finished row keeps only a preview
    assert {u.kind for u in updates} >= {"start", "progress", "fused", "failed"}
    assert updates[-1].overall_fraction == pytest.approx(1.0)
    state = view.table.model().states[plan.groups[0].uid]
    assert state.status == "fused" and state.result_thumb is not None and state.result_thumb.width() <= 120
    assert view.table.model().index(3, 5).data().startswith("failed: ")
    # the summary, and 'Show in folder'
    text = view.summary_text.text()
    assert view.summary.isVisible() and "Fused 1 of 2 brackets" in text and "1 single not fused" in text
    assert "1 excluded" in text and "1 failed" in text and "IMG_0008.JPG:" in text
    opened = []
    shoots.open_url = opened.append
    view.show_folder_button.click()
    assert opened == [QUrl.fromLocalFile(str(out))]
    assert view.fuse_button.isEnabled() and not view.cancel_button.isVisible()
    # a second run skips what exists (as 'hdrdesk batch --group auto' does)
    run = _fuse(qtbot, shoots)
    assert [j.output.name for j in run.summary.skipped_existing] == ["IMG_0001_hdr.png"] and not run.summary.fused
    assert "1 skipped (output exists)" in view.summary_text.text()
    assert _no_leftovers(out) == []


def test_cancel_mid_queue_leaves_only_complete_files(qtbot, window, card, tmp_path, monkeypatch):
    """Cancel while the second bracket is being fused: the first stays, nothing else is written, no temp files."""
    from hdrdesk.core import fusion

    real = fusion.finish_fusion
    gate = threading.Event()
    calls = []

    def held_finish(prep, task=None, **kw):  # the 2nd bracket waits until the UI has cancelled
        calls.append(1)
        if len(calls) == 2:
            gate.wait(30)
        return real(prep, task, **kw)

    monkeypatch.setattr(fusion, "finish_fusion", held_finish)
    shoots, plan = _open(qtbot, window, card)
    view = shoots.view
    out = tmp_path / "out"
    view.folder_edit.setText(str(out))

    def on_update(u):
        if u.index == 1 and u.kind == "progress" and u.message == "fusing":
            assert view.cancel_button.isVisible()
            view.cancel_button.click()
            gate.set()

    shoots.queueUpdated.connect(on_update)
    run = _fuse(qtbot, shoots)
    assert gate.is_set() and run.summary.cancelled and run.summary.not_done == 2
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001_hdr.jpg"]
    with Image.open(out / "IMG_0001_hdr.jpg") as im:
        im.load()  # complete
        assert im.size == SIZE
    assert _no_leftovers(out) == []
    assert "Cancelled: 2 not done" in view.summary_text.text()
    model = view.table.model()
    assert model.index(1, 5).data() == "ready" and model.index(0, 5).data().startswith("fused")
    # 'Fuse all' again goes on where it stopped
    monkeypatch.setattr(fusion, "finish_fusion", real)
    shoots.queueUpdated.disconnect(on_update)
    run = _fuse(qtbot, shoots)
    assert [j.output.name for j in run.summary.skipped_existing] == ["IMG_0001_hdr.jpg"]
    assert sorted(j.output.name for j in run.summary.fused) == ["IMG_0004_hdr.jpg", "IMG_0008_hdr.jpg"], run.text


def test_pause_holds_the_queue_until_resumed(qtbot, window, card, tmp_path, monkeypatch):
    from hdrdesk.gui import shoot_controller, shoot_jobs
    from hdrdesk.tasks import TaskState

    blocked, resumed = threading.Event(), threading.Event()
    leaked = []

    class WatchedTask(TaskState):  # the queue's pause/cancel state, watched at its safe points
        def check(self) -> None:
            if self.paused:
                blocked.set()
            super().check()  # waits here while paused
            if blocked.is_set() and not resumed.is_set():
                leaked.append("went on while paused")

    queue_calls = []

    def run_queue(jobs, options, *args, **kw):
        queue_calls.append((options.method, options.keep_weights, kw.get("prefetch")))
        return real_run_queue(jobs, options, *args, **kw)

    real_run_queue = shoot_jobs.run_queue
    monkeypatch.setattr(shoot_jobs, "run_queue", run_queue)
    monkeypatch.setattr(shoot_controller, "TaskState", WatchedTask)
    window.fusion_panel.set_method("mertens")  # the main window's current method is what 'Fuse all' uses
    shoots, plan = _open(qtbot, window, card)
    view = shoots.view
    view.folder_edit.setText(str(tmp_path / "out"))
    updates = []

    def on_update(u):
        updates.append(u.kind)
        if u.index == 0 and u.kind == "start":
            view.pause_button.click()

    shoots.queueUpdated.connect(on_update)
    with qtbot.waitSignal(shoots.queueFinished, timeout=120000) as done:
        view.fuse_button.click()
        qtbot.waitUntil(blocked.is_set, timeout=30000)  # the worker reached a safe point and waits there
        assert view.pause_button.text() == "Resume" and "Paused" in view.message.text() and "fused" not in updates
        resumed.set()
        view.pause_button.click()
    assert leaked == [] and len(done.args[0].summary.fused) == 3 and view.pause_button.text() == "Pause"
    assert queue_calls == [("mertens", False, 0)]  # no weight maps kept, one bracket in flight


def test_open_a_bracket_in_the_main_view_and_the_menu_action(qtbot, window, card):
    shoots, plan = _open(qtbot, window, card)
    shoots.select(3)
    with qtbot.waitSignal(window.resultReady, timeout=60000) as fused:
        shoots.view.open_button.click()
    assert sorted(f.path.name for f in fused.args[0].frames) == [f"IMG_{n:04d}.JPG" for n in range(8, 13)]
    assert window.act_shoot.text().startswith("Open S") and callable(window.shoots.open_dialog)
    # File > Open Shoot shows a folder; a result HDRDesk wrote there is ignored, and the view says so
    write_jpeg(card / "IMG_0001_hdr.jpg", 0.0, camera_exif(T0, software="HDRDesk 1.0"), size=SIZE)
    with qtbot.waitSignal(shoots.shootOpened, timeout=30000) as opened:
        shoots.open_folder(card)
    assert len(opened.args[0].brackets()) == 3
    assert shoots.view.notes.isVisible() and "Ignored 1 file: IMG_0001_hdr.jpg (written by HDRDesk" in shoots.view.notes.text()
