"""Versions, device and model in use: what ``hdrdesk info`` prints and the app logs at start (Qt-free)."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def collect_info(model_path: Path | None = None, device: str | None = None) -> dict:
    """Versions, device and model: what ``hdrdesk info`` prints and the app logs at start."""
    import platform

    import cv2
    import numpy
    import torch

    from hdrdesk import __version__
    from hdrdesk.core.device import describe_device, pick_device
    from hdrdesk.paths import default_model_path

    qt = _qt_version()
    dev = pick_device(device)
    info = {
        "hdrdesk": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "opencv": cv2.__version__,
        "pyside6": qt,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", "(default)"),
        "device": describe_device(dev),
    }
    path = model_path or default_model_path()
    try:
        from hdrdesk.core.model import count_parameters, load_model

        model, card = load_model(path)
        info["model"] = f"{card.get('name', Path(path).stem)} ({path})"
        info["model_params"] = count_parameters(model)
        if "scores" in card:
            info["model_scores"] = card["scores"]
    except Exception as exc:
        info["model"] = f"unavailable: {exc}"
    return info


def _qt_version() -> str:
    """PySide6's version without importing it (``info`` stays Qt-free)."""
    mod = sys.modules.get("PySide6")
    if mod is not None:
        return str(getattr(mod, "__version__", "?"))
    from importlib import metadata

    for dist in ("PySide6-Essentials", "PySide6"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"
