"""The window's structure: the command table, the settings schema, the tool interface, module sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hdrdesk.gui import actions as action_table
from hdrdesk.gui import settings as cfg

GUI = Path(__file__).resolve().parents[2] / "hdrdesk" / "gui"


def test_every_command_is_wired_and_placed(window):
    keys = {a.key for a in action_table.ACTIONS}
    placed = {i for _t, items in action_table.MENUS for i in items if i and not i.startswith("@")}
    placed |= {i for i in action_table.TOOLBAR if i and not i.startswith("@")}
    assert placed <= keys
    for spec in action_table.ACTIONS:
        assert getattr(window, f"act_{spec.key}") is window.actions_by_key[spec.key]
        assert callable(action_table._resolve(window, spec.slot)), spec.slot
    # enabling follows the table: nothing loaded, so commands that need a result are off
    assert not window.act_export.isEnabled() and not window.act_zoom_in.isEnabled() and window.act_open.isEnabled()
    # the method menu lists the core's methods
    from hdrdesk.core.fusion import METHODS

    assert [a.data() for a in window.method_group.actions()] == list(METHODS)
    assert [window.fusion_panel.method.itemData(i) for i in range(window.fusion_panel.method.count())] == list(METHODS)


def test_settings_keys_are_spelled_only_in_the_schema():
    names = {k.name for k in cfg.SCHEMA}
    assert len(names) == len(cfg.SCHEMA)
    pattern = re.compile(r"""(?:setValue|\.value)\(\s*["']([\w/]+)["']""")
    for path in GUI.glob("*.py"):
        if path.name == "settings.py":
            continue
        assert not pattern.findall(path.read_text(encoding="utf-8")), f"{path.name} reads or writes a settings key by hand"


def test_panel_state_round_trips(window):
    op = window.overlay_panel
    state = dict(op.state(), overlay_opacity=25, colormap="Magma", gamma_variant="gradient", gamma_window=15, gamma_alpha=0.3)
    op.set_state(state)
    assert op.state() == state
    fp = window.fusion_panel
    fp.set_state({"method": "mertens", "working_size": 384, "align": False, "model": "", "deghost": "medium"})
    assert fp.state() == {"method": "mertens", "working_size": 384, "align": False, "model": "", "deghost": "medium"}
    assert not fp.working.isEnabled()  # the network's settings are off for Mertens
    s = window.settings
    cfg.put_state(s, cfg.OVERLAY_STATE, state)
    s.setValue(cfg.GAMMA_WINDOW.name, "not a number")  # damaged file: the default comes back
    assert cfg.get_state(s, cfg.OVERLAY_STATE)["gamma_window"] == cfg.GAMMA_WINDOW.default


def test_tools_see_the_window_through_the_host_protocol(window):
    from hdrdesk.gui.host import BracketHost

    assert isinstance(window, BracketHost)
    for path in GUI.glob("*.py"):
        assert "hasattr(w" not in path.read_text(encoding="utf-8") and "hasattr(self.main_window" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(GUI.glob("*.py")), ids=lambda p: p.name)
def test_no_gui_module_is_a_god_module(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 620, f"{path.name}: split it"


def test_job_runner_delivers_partial_results_on_the_ui_thread(qtbot):
    import threading

    from PySide6.QtCore import QThreadPool

    from hdrdesk.gui.workers import JobRunner

    ui = threading.get_ident()
    seen: list[tuple[int, bool]] = []
    runner = JobRunner("partial-test", QThreadPool.globalInstance(), latest_wins=False)
    runner.partial.connect(lambda _rid, v: seen.append((v, threading.get_ident() == ui)))

    def job(task):
        for i in range(3):
            task.publish(i)
        return "done"

    with qtbot.waitSignal(runner.result, timeout=10_000) as done:
        runner.submit(job)
    assert done.args[1] == "done"
    assert seen == [(0, True), (1, True), (2, True)]  # all delivered, in order, before the result
