"""Help ▸ About HDRDesk."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

COLOUR_NOTE = (
    "Colour: the app displays in <b>sRGB</b>, and the pixel inspector shows sRGB values. Frames tagged with another "
    "profile (Adobe RGB, Display P3, ProPhoto RGB …) are converted to sRGB when loaded, RAW files are developed to sRGB; "
    "no monitor profile is applied. Export can convert the result to Adobe RGB, ProPhoto RGB or the input's profile."
)


def show_about(parent: QWidget, info: dict) -> None:
    """Versions, device and model (``info``: what :func:`hdrdesk.info.collect_info` returned, if it ran)."""
    import platform

    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from hdrdesk import __version__

    try:
        import cv2
        import numpy
        import torch

        libs = f"PyTorch {torch.__version__} · NumPy {numpy.__version__} · OpenCV {cv2.__version__}"
    except Exception:  # noqa: BLE001
        libs = ""
    device = info.get("device") or getattr(getattr(parent, "device_label", None), "text", lambda: "")()
    QMessageBox.about(
        parent,
        "About HDRDesk",
        f"<h3>HDRDesk {__version__}</h3>"
        "<p>Exposure fusion of bracketed photos with a small unsupervised CNN "
        "(after arXiv 2510.21815), with the weight maps and gamma detail maps that explain the result.</p>"
        f"<p>Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}<br>{libs}</p>"
        f"<p>Device: {device}<br>Model: {info.get('model', 'shipped default')}<br>"
        f"Qt platform: {QApplication.platformName()}</p>"
        f"<p>{COLOUR_NOTE}</p>"
        "<p>Sample bracket: synthetic, CC0. MIT licence.</p>",
    )
