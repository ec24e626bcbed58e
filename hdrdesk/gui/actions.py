"""The window's commands as one table: menus, toolbar, shortcuts and when each is enabled.

A command is a row of :data:`ACTIONS`; :data:`MENUS` and :data:`TOOLBAR` place it by key.
The window gets each action as ``act_<key>`` and calls ``<slot>(*args)`` when it fires
(``slot`` is a method name of the window, dotted for a child: ``viewer.zoom_in``).
Adding a command: a row here, a method on the window (or a controller it forwards to), and
its key in a menu and/or the toolbar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QWidget

K = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    key: str
    text: str
    slot: str
    shortcuts: tuple = ()
    tip: str = ""
    icon_text: str = ""  # toolbar text ("" : the menu text)
    args: tuple = ()
    needs: str = ""  # "result" | "frames" | "busy" | "" (always enabled)
    group: str = ""  # exclusive checkable group ("" : a plain action)


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "open_dialog", (K.Open,), "Open exposures (files) of one scene", "Open"),
    ActionSpec("open_folder", "Open &Folder…", "open_folder_dialog", ("Ctrl+Shift+O",), "Open a folder holding one bracket"),
    ActionSpec("shoot", "Open S&hoot…", "shoots.open_dialog", ("Ctrl+Shift+H",),
               "Open a folder of camera files: find its brackets and fuse them all"),
    ActionSpec("add", "&Add Exposures…", "add_dialog", ("Ctrl+Shift+A",), "Add exposures to the current bracket", needs="frames"),
    ActionSpec("sample", "Open &Sample", "open_sample", (), "Open the bracket that ships with HDRDesk"),
    ActionSpec("export", "&Export…", "export_dialog", ("Ctrl+E",), "Export the fused image (and maps)", "Export", needs="result"),
    ActionSpec("close", "&Close Bracket", "close_bracket", (K.Close,), "Close the bracket and return to the start screen", needs="frames"),
    ActionSpec("quit", "&Quit", "close", (K.Quit,), "Quit HDRDesk"),
    ActionSpec("fuse", "&Fuse", "request_fusion", ("F5", "Ctrl+R"), "Fuse the included exposures again", "Fuse", needs="frames"),
    ActionSpec("cancel", "&Cancel", "cancel", ("Esc",), "Cancel loading, fusion or export", needs="busy"),
    ActionSpec("zoom_in", "Zoom &In", "viewer.zoom_in", (K.ZoomIn, "Ctrl+="), "Zoom in", "+", needs="result"),
    ActionSpec("zoom_out", "Zoom &Out", "viewer.zoom_out", (K.ZoomOut,), "Zoom out", "−", needs="result"),
    ActionSpec("fit", "&Fit", "viewer.fit", ("Ctrl+0",), "Fit the image in the window", needs="result"),
    ActionSpec("100", "&100 %", "viewer.zoom_to", ("Ctrl+1",), "One image pixel per screen pixel", "100%", args=(1.0,), needs="result"),
    ActionSpec("overlay", "Toggle &Overlay", "toggle_overlay", ("O",), "Show or hide the weight/gamma overlay", needs="result"),
    ActionSpec("next", "&Next Exposure", "step_exposure", ("]", "Alt+Right"), "Next exposure", args=(1,), needs="result"),
    ActionSpec("prev", "&Previous Exposure", "step_exposure", ("[", "Alt+Left"), "Previous exposure", args=(-1,), needs="result"),
    ActionSpec("show_result", "Show &Result", "set_view_target", ("R",), "Show the fused result", args=("result",), needs="result"),
    ActionSpec("show_exposure", "Show &Exposure", "show_current_exposure", ("E",), "Show the current exposure", needs="result"),
    ActionSpec("mode_single", "&Single", "set_compare_mode", ("1",), "One image", "Single", args=("single",), needs="result", group="mode"),
    ActionSpec("mode_side", "Side &by Side", "set_compare_mode", ("2",), "The result beside an exposure or Mertens, zoom and pan linked",
               "Side by side", args=("side",), needs="result", group="mode"),
    ActionSpec("mode_split", "S&plit", "set_compare_mode", ("3",), "Before/after split; drag the line", "Split", args=("split",),
               needs="result", group="mode"),
    ActionSpec("model", "Use &Model File…", "browse_model", (), "Fuse with a model file of your own"),
    ActionSpec("finetune", "&Fine-tune…", "show_finetune", (), "Fine-tune the network on your own brackets"),
    ActionSpec("refine", "&Refine This Bracket", "refine_current", ("Ctrl+Shift+R",),
               "Adapt the fusion to this bracket alone for a few seconds, then fuse again", "Refine", needs="fused_bracket"),
    ActionSpec("models", "&Models…", "show_model_manager", (), "Your models: choose, rename, delete, import, export"),
    ActionSpec("about", "&About HDRDesk", "about", (), "Versions and credits"),
    ActionSpec("about_qt", "About &Qt", "about_qt", ()),
    ActionSpec("log", "Show &Log Folder", "open_log_folder", (), "Open the folder holding HDRDesk's log files"),
)

#: Menus: (title, items). An item is an action key, None (a separator), or "@name" for a part the
#: window builds itself (@methods: the fusion methods; @panels: the dock toggles).
MENUS: tuple[tuple[str, tuple], ...] = (
    ("&File", ("open", "open_folder", "shoot", "add", None, "export", None, "close", "quit")),
    ("&Image", ("fuse", "cancel", None, "@methods", "model")),
    ("&View", ("zoom_in", "zoom_out", "fit", "100", None, "mode_single", "mode_side", "mode_split", None,
               "overlay", "show_result", "show_exposure", "next", "prev", None, "@panels")),
    ("&Tools", ("finetune", "refine", "models", None, "model", None)),
    ("&Help", ("sample", "log", None, "about", "about_qt")),
)

#: The toolbar: action keys, None (separator) or "@name" for a widget the window supplies.
TOOLBAR: tuple = ("open", "export", None, "fuse", "refine", None, "@view_label", "@view_combo", None,
                  "mode_single", "mode_side", "mode_split", "@with_label", "@compare_combo", None, "fit", "100", "zoom_out", "zoom_in")


def _resolve(owner: Any, dotted: str) -> Callable:
    obj = owner
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def build_actions(window: QWidget) -> dict[str, QAction]:
    """Create every action of :data:`ACTIONS` on ``window`` (as ``window.act_<key>``)."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in ACTIONS:
        a = QAction(spec.text, window)
        if spec.shortcuts:
            a.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
        if spec.tip:
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            a.setToolTip(f"{spec.tip} ({keys})" if keys else spec.tip)
            a.setStatusTip(spec.tip)
        if spec.icon_text:
            a.setIconText(spec.icon_text)
        if spec.group:
            a.setCheckable(True)
            groups.setdefault(spec.group, QActionGroup(window)).addAction(a)
        a.triggered.connect(lambda _checked=False, s=spec: _resolve(window, s.slot)(*s.args))
        window.addAction(a)
        actions[spec.key] = a
        setattr(window, f"act_{spec.key}", a)
    return actions


def update_enabled(actions: dict[str, QAction], state: dict[str, bool]) -> None:
    """Enable each action whose ``needs`` holds in ``state`` (e.g. {"result": True, "frames": True, "busy": False})."""
    for spec in ACTIONS:
        if spec.needs:
            actions[spec.key].setEnabled(bool(state.get(spec.needs, False)))


def build_menus(window, actions: dict[str, QAction], parts: dict[str, Callable[[QMenu], None]]) -> dict[str, QMenu]:
    """Fill the window's menu bar from :data:`MENUS`; ``parts`` builds the "@name" items."""
    menus = {}
    for title, items in MENUS:
        m = window.menuBar().addMenu(title)
        for item in items:
            if item is None:
                m.addSeparator()
            elif item.startswith("@"):
                parts[item[1:]](m)
            else:
                m.addAction(actions[item])
        menus[title.replace("&", "").lower()] = m
    return menus


def build_toolbar(toolbar: QToolBar, actions: dict[str, QAction], widgets: dict[str, QWidget]) -> None:
    for item in TOOLBAR:
        if item is None:
            toolbar.addSeparator()
        elif item.startswith("@"):
            toolbar.addWidget(widgets[item[1:]])
        else:
            toolbar.addAction(actions[item])
