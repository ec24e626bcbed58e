"""GUI test fixtures: a main window with private settings, synthetic brackets on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from guitools import write_bracket  # noqa: E402


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    """Every test gets its own settings file; the user's QSettings are never touched."""
    monkeypatch.setenv("HDRDESK_SETTINGS", str(tmp_path / "hdrdesk-settings.ini"))


@pytest.fixture
def small_bracket(tmp_path) -> list[Path]:
    return write_bracket(tmp_path / "bracket")


@pytest.fixture
def window(qtbot):
    """The main window, shown offscreen, without the background MEF-SSIM/Mertens analysis."""
    from hdrdesk.gui.app import create_application
    from hdrdesk.gui.main_window import MainWindow

    import torch  # noqa: F401 - the app imports it on a worker right after its first paint (for info and gamma maps):
    # the tests' windows start from that state, not with an import (which holds the GIL) inside their measurements

    create_application()
    w = MainWindow(analysis=False)
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.cancel()
