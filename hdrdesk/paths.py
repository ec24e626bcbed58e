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


def _ensure_folder(path: Path, what: str) -> Path:
    """Create ``path`` if needed; :class:`UserFolderUnavailable` (one clear line) if that fails."""
    from hdrdesk.errors import UserFolderUnavailable

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # HOME read-only or a file, XDG_DATA_HOME=/proc/x ...
        raise UserFolderUnavailable(f"{what} {path} cannot be created ({exc.strerror or exc})") from None
    return path


def user_data_dir() -> Path:
    """User data (fine-tuned models, runs); never inside the bundle.

    Raises :class:`hdrdesk.errors.UserFolderUnavailable` when the folder cannot be created.
    """
    import platformdirs

    return _ensure_folder(Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)), "user data folder")


def user_models_dir() -> Path:
    return _ensure_folder(user_data_dir() / "models", "user data folder")


def user_log_dir() -> Path:
    import platformdirs

    return _ensure_folder(Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)), "log folder")
