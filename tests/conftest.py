"""Shared fixtures. Qt runs offscreen; settings and user folders go to temp dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import pytest

from synth import BRACKETS, REPO, SHARED, expose, make_scene  # noqa: F401  (re-exported for fixtures)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's real data/log folders or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    yield


@pytest.fixture
def bracket_files(tmp_path) -> list[Path]:
    """Three PNG exposures (-2, 0, +2 EV) of a synthetic scene, written in shuffled name order."""
    import cv2

    rad = make_scene()
    paths = []
    for name, ev in (("b_mid.png", 0.0), ("a_bright.png", 2.0), ("c_dark.png", -2.0)):
        p = tmp_path / name
        cv2.imwrite(str(p), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths
