"""What tool windows (Fine-tune, Refine, Models) may ask of the main window: a small typed interface.

The tools take a ``BracketHost`` (or None: they then work on folders only, as in scripts and
tests) instead of probing the window with ``hasattr``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6.QtCore import QThreadPool, SignalInstance

    from hdrdesk.core.fusion import FusionResult
    from hdrdesk.core.io import Frame


@runtime_checkable
class BracketHost(Protocol):
    """The main window as the tools see it."""

    job_pool: "QThreadPool"  # the pool the tools' JobRunners share
    framesChanged: "SignalInstance"  # the bracket changed
    resultReady: "SignalInstance"  # a new FusionResult is on display

    def frames(self) -> list["Frame"]:
        """The exposures the next fusion uses, in order."""

    def result(self) -> "FusionResult | None":
        """The full-resolution result on display (its frames are aligned and darkest first)."""

    def model_path(self) -> Path | None:
        """The model in use (None: the shipped model)."""

    def set_model_path(self, path: str | os.PathLike | None) -> None:
        """Fuse with this model file from now on."""

    def refresh_model_choices(self) -> None:
        """The user's models changed: refill the model list."""

    def fuse_with_model(self, model: Any, label: str = "Fusing") -> int:
        """Fuse the bracket once with an in-memory network (the model choice stays)."""

    def request_fusion(self) -> int:
        """Fuse again with the chosen model."""
