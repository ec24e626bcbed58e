"""The user data folder cannot be created (issue 12, defect 4): HOME read-only or a file,
XDG_DATA_HOME=/proc/x. Qt-free: callers get a clear 'unavailable' state, not an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from hdrdesk import model_store
from hdrdesk.errors import HDRDeskError, UserFolderUnavailable
from hdrdesk.paths import user_data_dir, user_log_dir, user_models_dir


@pytest.fixture(params=["below_a_file", "proc"])
def broken_data_home(request, tmp_path, monkeypatch) -> Path:
    if request.param == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc")
        bad = Path("/proc/hdrdesk-no-such-dir")
    else:
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where a folder should be")
        bad = blocker / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(bad))
    monkeypatch.setenv("XDG_STATE_HOME", str(bad))
    return bad


def test_folder_functions_raise_one_clear_error(broken_data_home):
    for fn in (user_data_dir, user_models_dir, user_log_dir):
        with pytest.raises(UserFolderUnavailable) as info:
            fn()
        assert isinstance(info.value, HDRDeskError) and isinstance(info.value, OSError)
        msg = str(info.value)
        assert "cannot be created" in msg and str(broken_data_home) in msg and "\n" not in msg


def test_model_list_falls_back_to_the_shipped_model(broken_data_home):
    entries = model_store.list_models()
    assert [e.name for e in entries] == ["default"] and entries[0].read_only
    problem = model_store.store_problem()
    assert problem and "unavailable" in problem and str(broken_data_home) in problem


def test_saving_a_model_says_why_it_cannot(broken_data_home):
    with pytest.raises(UserFolderUnavailable, match="cannot be created"):
        model_store.save_model_bytes(b"x", "mine", {})


def test_no_problem_reported_when_the_folder_works():
    assert model_store.store_problem() is None
