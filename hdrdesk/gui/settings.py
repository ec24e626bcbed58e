"""Preferences (QSettings) and their schema: every key the app stores, with its type and default.

The app stores its settings under the organisation/application "HDRDesk".
Set ``HDRDESK_SETTINGS`` to a file path to use an INI file there instead (the
tests and the smoke test do, so they never read or write the user's settings).

Code reads and writes settings only through :func:`get` / :func:`put` with a :class:`Key`
from this module: a key is spelled once, and a damaged value falls back to its default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

from hdrdesk.defaults import DEFAULT_GAMMA_VARIANT, DEFAULT_JPEG_QUALITY, DEFAULT_WORKING_SIZE

ENV_VAR = "HDRDESK_SETTINGS"
ORGANISATION = "HDRDesk"
APPLICATION = "HDRDesk"


@dataclass(frozen=True)
class Key:
    """One stored setting: its name in the file, its type and its default."""

    name: str
    kind: type
    default: Any = None


# window
WINDOW_GEOMETRY = Key("window/geometry", bytes)
WINDOW_STATE = Key("window/state", bytes)
# folders the file dialogs start in ("" : the home folder)
LAST_FOLDER = Key("last_folder", str, "")
MODEL_FOLDER = Key("model_folder", str, "")
# fusion panel (FusionPanel.state())
FUSION_METHOD = Key("fusion/method", str, "cnn")
FUSION_WORKING_SIZE = Key("fusion/working_size", int, DEFAULT_WORKING_SIZE)
FUSION_ALIGN = Key("fusion/align", bool, True)
FUSION_MODEL = Key("fusion/model", str, "")
USER_MODELS = Key("models/user", list, ())  # model files used from outside the model store, newest first
# view (OverlayPanel.state(), HistogramPanel.state(), the compare mode)
OVERLAY = Key("view/overlay", str, "none")
OVERLAY_OPACITY = Key("view/overlay_opacity", int, 60)
COLORMAP = Key("view/colormap", str, "Viridis")
OVERLAY_OVER = Key("view/overlay_over", str, "result")
GAMMA_VARIANT = Key("view/gamma_variant", str, DEFAULT_GAMMA_VARIANT)
GAMMA_WINDOW = Key("view/gamma_window", int, 11)
GAMMA_ALPHA = Key("view/gamma_alpha", float, 0.5)
HISTOGRAM_RGB = Key("view/histogram_rgb", bool, True)
COMPARE_MODE = Key("view/compare_mode", str, "single")
# export dialog
EXPORT_FOLDER = Key("export/folder", str, "")
EXPORT_SUFFIX = Key("export/suffix", str, ".jpg")
EXPORT_BITS = Key("export/bits", int, 8)
EXPORT_QUALITY = Key("export/quality", int, DEFAULT_JPEG_QUALITY)
# shoot view ('Fuse all'): format (suffix and bits, e.g. ".jpg:8"), name pattern, existing outputs ("skip" | "replace")
SHOOT_FORMAT = Key("shoot/format", str, ".jpg:8")
SHOOT_PATTERN = Key("shoot/name_pattern", str, "{first}_hdr")
SHOOT_EXISTING = Key("shoot/existing", str, "skip")

#: Every key, for documentation and tests.
SCHEMA: tuple[Key, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Key))

#: Panel state fields (``state()`` dicts) and the keys that store them.
OVERLAY_STATE = {"overlay": OVERLAY, "overlay_opacity": OVERLAY_OPACITY, "colormap": COLORMAP, "overlay_over": OVERLAY_OVER,
                 "gamma_variant": GAMMA_VARIANT, "gamma_window": GAMMA_WINDOW, "gamma_alpha": GAMMA_ALPHA}
FUSION_STATE = {"method": FUSION_METHOD, "working_size": FUSION_WORKING_SIZE, "align": FUSION_ALIGN, "model": FUSION_MODEL}
HISTOGRAM_STATE = {"histogram_rgb": HISTOGRAM_RGB}


def make_settings() -> QSettings:
    path = os.environ.get(ENV_VAR)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def read(settings: QSettings, key: str, default: Any, kind: type | None = None) -> Any:
    """A typed read that survives garbage in the file (falls back to ``default``)."""
    kind = kind or type(default)
    value = settings.value(key, default)
    if value is None:
        return default
    try:
        if kind is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind in (int, float, str):
            return kind(value)
        if kind is list:
            if isinstance(value, str):
                return [value] if value else []
            return [str(v) for v in (value or []) if v]
    except (TypeError, ValueError):
        return default
    return value


def get(settings: QSettings, key: Key) -> Any:
    """The stored value of ``key`` (its default when absent or damaged)."""
    default = list(key.default) if key.kind is list else key.default
    return read(settings, key.name, default, key.kind)


def put(settings: QSettings, key: Key, value: Any) -> None:
    settings.setValue(key.name, list(value) if key.kind is list else value)


def get_state(settings: QSettings, keys: dict[str, Key]) -> dict:
    """A panel's ``state()`` dict from the stored keys."""
    return {field: get(settings, key) for field, key in keys.items()}


def put_state(settings: QSettings, keys: dict[str, Key], state: dict) -> None:
    for field, key in keys.items():
        if field in state:
            put(settings, key, state[field])
