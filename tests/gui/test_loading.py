"""Loading: drag and drop, the filmstrip's order and editing, bad files."""

from __future__ import annotations

from pathlib import Path

from guitools import load_and_fuse, write_bracket
from PySide6.QtCore import QMimeData, QModelIndex, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def _drop(widget, paths) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)
    return drop


def _names(window) -> list[str]:
    return [window.bracket.get(uid).name for uid in window.filmstrip.uids()]


def test_welcome_screen_first(window):
    assert window.stack.currentWidget() is window.welcome
    assert window.welcome.sample_button.text() == "Open sample"
    assert "Open photos" in window.welcome.open_button.text()
    assert "How it works" in window.welcome.how.text()


def test_drop_files_loads_and_fuses(qtbot, window, small_bracket):
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        drop = _drop(window, small_bracket)
    assert drop.isAccepted()
    assert not window.drop_hint.isVisible()
    result = blocker.args[0]
    assert window.stack.currentWidget() is window.viewer
    assert len(window.frames()) == 3
    assert result.image.shape == (48, 72, 3)
    assert window.notifications.messages() == []


def test_drop_folder(qtbot, window, small_bracket):
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        _drop(window, [small_bracket[0].parent])
    assert sorted(f.path.name for f in window.frames()) == sorted(p.name for p in small_bracket)


def test_filmstrip_order_and_editing(qtbot, window, small_bracket):
    load_and_fuse(qtbot, window, small_bracket)
    # written as b_mid, a_bright, c_dark: shown darkest first
    assert _names(window) == ["c_dark.png", "b_mid.png", "a_bright.png"]
    strip = window.filmstrip
    uid_bright = strip.uids()[2]

    # drag-reorder in the strip (the model move a drag-and-drop performs) -> the bracket follows
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        assert strip.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    assert _names(window) == ["a_bright.png", "c_dark.png", "b_mid.png"]
    assert [f.path.name for f in window.frames()] == _names(window)
    assert [f.path.name for f in blocker.args[0].frames] == _names(window)

    # move with the buttons' API
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.move_frame(uid_bright, 2)
    assert _names(window) == ["c_dark.png", "b_mid.png", "a_bright.png"]

    # toggle one off: two exposures are fused
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.set_frame_enabled(uid_bright, False)
    assert len(blocker.args[0].frames) == 2
    assert len(window.bracket) == 3 and "2 of 3" in window.film_dock.windowTitle()

    # remove one: two left in the bracket
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.set_frame_enabled(uid_bright, True)
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.remove_frames([uid_bright])
    assert len(window.bracket) == 2 and len(blocker.args[0].frames) == 2

    # alignment state is shown per frame
    e = window.bracket.entries[0]
    assert e.align is not None and e.alignment_text()


def test_add_frames_to_bracket(qtbot, window, tmp_path):
    paths = write_bracket(tmp_path / "b", names=("x_dark.png", "y_bright.png"), evs=(-2.0, 2.0))
    load_and_fuse(qtbot, window, paths)
    extra = write_bracket(tmp_path / "c", names=("z_mid.png",), evs=(0.0,))
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths(extra, replace=False)
    assert _names(window) == ["x_dark.png", "z_mid.png", "y_bright.png"]


def test_bad_files_raise_notification_and_keep_good_frames(qtbot, window, tmp_path):
    good = write_bracket(tmp_path / "b", names=("dark.png", "bright.png"), evs=(-2.0, 2.0))
    junk = tmp_path / "b" / "broken.jpg"
    junk.write_bytes(b"this is not a JPEG at all" * 10)
    empty = tmp_path / "b" / "empty.png"
    empty.write_bytes(b"")
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths([*good, junk, empty])
    texts = [t for level, t in window.notifications.messages() if level == "error"]
    assert any("broken.jpg" in t and "not a readable image" in t for t in texts), texts
    assert any("empty.png" in t and "empty" in t for t in texts), texts
    assert window.notifications.isVisible()
    assert sorted(f.path.name for f in window.frames()) == ["bright.png", "dark.png"]


def test_wrong_size_and_empty_folder(qtbot, window, tmp_path):
    paths = write_bracket(tmp_path / "b", names=("d.png", "b.png"), evs=(-2.0, 2.0))
    load_and_fuse(qtbot, window, paths)
    other = write_bracket(tmp_path / "c", h=40, w=40, names=("small.png",), evs=(0.0,))
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        window.open_paths(other, replace=False)
    assert any("small.png" in t and "differs" in t for _, t in window.notifications.messages())
    assert len(window.bracket) == 2
    (tmp_path / "nothing").mkdir()
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        window.open_paths([tmp_path / "nothing"])
    assert any("holds no" in t for _, t in window.notifications.messages())
    assert len(window.bracket) == 2  # the bracket on screen stays


def test_open_sample_from_start_screen(qtbot, window):
    from hdrdesk.paths import sample_bracket_dir

    assert sample_bracket_dir().is_dir()
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        qtbot.mouseClick(window.welcome.sample_button, Qt.MouseButton.LeftButton)
    window._fuse_timer.stop()  # the fusion itself is covered elsewhere
    assert len(window.frames()) == 3
    assert all(e.frame.exposure.exposure_time for e in window.bracket.entries)
    assert list(window.filmstrip.ev_label(u) for u in window.filmstrip.uids()) == ["-2.0 EV", "+0.0 EV", "+2.0 EV"]
    assert Path(window.bracket.entries[0].frame.path).parent == sample_bracket_dir()
