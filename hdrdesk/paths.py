"""Where things live: bundled resources (installed or frozen) and user folders."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

APP_NAME = "HDRDesk"
APP_AUTHOR = "HDRDesk"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource (works installed, editable and frozen by PyInstaller)."""
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        base = Path(sys._MEIPASS) / "hdrdesk" / "resources"  # type: ignore[attr-defined]
    else:
        base = Path(str(resources.files("hdrdesk.resources")))
    return base.joinpath(*parts)


def default_model_path() -> Path:
    return resource_path("models", "default.pt")


def sample_bracket_dir() -> Path:
    return resource_path("samples", "window_room")


def icon_path() -> Path:
    return resource_path("icons", "hdrdesk.png")


def user_data_dir() -> Path:
    """User data (fine-tuned models, runs); never inside the bundle."""
    import platformdirs

    path = Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir() -> Path:
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_log_dir() -> Path:
    import platformdirs

    path = Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))
    path.mkdir(parents=True, exist_ok=True)
    return path
