"""The app starts when its user data folder cannot be created (issue 12, defect 4)."""

from __future__ import annotations


def test_main_window_starts_without_a_user_data_folder(qtbot, tmp_path, monkeypatch):
    from hdrdesk.gui.app import create_application
    from hdrdesk.gui.main_window import MainWindow

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "data"))
    create_application()
    w = MainWindow(analysis=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.cancel()
