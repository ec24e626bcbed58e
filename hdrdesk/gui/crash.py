"""Logging to a rotating file and a crash handler that tells the user where the log is."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import Callable

LOG_NAME = "hdrdesk.log"
log = logging.getLogger("hdrdesk")

_handler: logging.Handler | None = None


def log_file() -> Path:
    from hdrdesk.paths import user_log_dir

    return user_log_dir() / LOG_NAME


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to ``user_log_dir()/hdrdesk.log`` (1 MB, 5 files kept). Returns the file."""
    global _handler
    path = log_file()
    if _handler is None or getattr(_handler, "baseFilename", None) != str(path):
        if _handler is not None:
            log.removeHandler(_handler)
            _handler.close()
        _handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(_handler)
    log.setLevel(level)
    return path


class CrashHandler:
    """``sys.excepthook`` (and ``threading.excepthook``) for the GUI.

    An unhandled exception is written with its traceback to the log, then the
    user sees a dialog saying what happened and where the log is; the app keeps
    running. ``on_crash`` (used by the smoke test) is called afterwards.
    """

    def __init__(self, show_dialog: bool = True, on_crash: Callable[[BaseException], None] | None = None) -> None:
        self.show_dialog = show_dialog
        self.on_crash = on_crash
        self.crashes: list[str] = []
        self._old_hook = sys.excepthook
        self._old_thread_hook = threading.excepthook
        self._in_dialog = False

    def install(self) -> "CrashHandler":
        sys.excepthook = self.handle
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        sys.excepthook = self._old_hook
        threading.excepthook = self._old_thread_hook

    def _thread_hook(self, args) -> None:
        if args.exc_type is SystemExit:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def handle(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._old_hook(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.crashes.append(text)
        try:
            path = setup_logging()
            log.critical("Unhandled exception:\n%s", text)
            for h in log.handlers:
                h.flush()
        except Exception:  # noqa: BLE001 - the handler must never raise
            path = None
        print(text, file=sys.stderr)
        if self.show_dialog:
            self._dialog(exc_type, exc, path)
        if self.on_crash is not None:
            self.on_crash(exc)

    def _dialog(self, exc_type, exc, path: Path | None) -> None:
        from PySide6.QtCore import QThread, Qt
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance()
        if app is None or self._in_dialog or QThread.currentThread() is not app.thread():
            return
        self._in_dialog = True
        try:
            where = f"The details were written to:\n{path}" if path else "The details could not be written to the log."
            box = QMessageBox(QMessageBox.Icon.Critical, "HDRDesk: unexpected error",
                              f"Something went wrong: {exc_type.__name__}: {exc}\n\n{where}\n\n"
                              "HDRDesk keeps running, but you may want to save your work and restart it. "
                              "Please include the log file when you report the problem.")
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.exec()
        finally:
            self._in_dialog = False
