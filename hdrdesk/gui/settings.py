"""Preferences (QSettings).

The app stores its settings under the organisation/application "HDRDesk".
Set ``HDRDESK_SETTINGS`` to a file path to use an INI file there instead (the
tests and the smoke test do, so they never read or write the user's settings).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings

ENV_VAR = "HDRDESK_SETTINGS"
ORGANISATION = "HDRDesk"
APPLICATION = "HDRDesk"


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
    except (TypeError, ValueError):
        return default
    return value
