"""Start the desktop app (``hdrdesk`` without a subcommand) and the smoke test."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

log = logging.getLogger("hdrdesk.gui")

SMOKE_TIMEOUT_S = 120
STARTUP_PROBE_ENV = "HDRDESK_STARTUP_PROBE"  # "1": print when the window first paints; "exit": print and quit
_IMPORTED_AT = time.monotonic()


def process_seconds() -> float:
    """Seconds since this process started (from /proc on Linux; else since this module's import)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = float(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start)
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


def on_first_paint(widget, callback) -> None:
    """Call ``callback`` once, on the event loop, right after ``widget``'s first paint."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class _FirstPaint(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Paint:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, callback)  # after the paint has reached the screen
            return False

    watcher = _FirstPaint(widget)
    widget.installEventFilter(watcher)


# Harmless Qt chatter that would only alarm users reading stderr.
_QT_NOISE = ("This plugin does not support propagateSizeHints()",)


def _qt_message_handler(mode, context, message: str) -> None:
    """Qt's warnings go to the log; the known-harmless ones are dropped."""
    from PySide6.QtCore import QtMsgType

    if any(n in message for n in _QT_NOISE):
        return
    level = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO, QtMsgType.QtWarningMsg: logging.WARNING}.get(mode, logging.ERROR)
    logging.getLogger("hdrdesk.qt").log(level, "%s", message)
    if level >= logging.WARNING:
        print(f"qt: {message}", file=sys.stderr)


def create_application(argv: Sequence[str] | None = None):
    """The QApplication with HDRDesk's names, icon and look (reused if one exists)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from hdrdesk import __version__
    from hdrdesk.gui import style
    from hdrdesk.gui.welcome import app_icon

    from PySide6.QtCore import qInstallMessageHandler

    app = QApplication.instance()
    if app is None:
        qInstallMessageHandler(_qt_message_handler)
        # Qt 6 is high-DPI aware; pass fractional scale factors through (125 %, 150 %) instead of rounding.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setApplicationName("HDRDesk")
    app.setOrganizationName("HDRDesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("hdrdesk")
    app.setWindowIcon(app_icon())
    style.apply(app)
    return app


def run_app(images: Sequence[str | os.PathLike] = (), smoke_test: bool = False, screenshot: str | os.PathLike | None = None) -> int:
    """Open the main window (loading ``images`` if given). Returns the exit code."""
    from hdrdesk.gui.crash import CrashHandler, setup_logging

    if smoke_test:
        # never read or write the user's preferences; always the default model
        from hdrdesk.gui.settings import ENV_VAR

        if not os.environ.get(ENV_VAR):
            os.environ[ENV_VAR] = str(Path(tempfile.mkdtemp(prefix="hdrdesk-smoke-")) / "settings.ini")
    try:
        log_path = setup_logging()
    except OSError as exc:
        print(f"hdrdesk: warning: cannot write the log ({exc})", file=sys.stderr)
        log_path = None
    from hdrdesk import __version__

    log.info("HDRDesk %s starting (pid %d)%s", __version__, os.getpid(), " in smoke-test mode" if smoke_test else "")
    app = create_application()
    from PySide6.QtGui import QGuiApplication

    log.info("Qt platform: %s (QT_QPA_PLATFORM=%s)", QGuiApplication.platformName(), os.environ.get("QT_QPA_PLATFORM", "(default)"))
    if log_path is not None:
        log.info("log file: %s", log_path)
    crash = CrashHandler(show_dialog=not smoke_test).install()
    from hdrdesk.gui.main_window import MainWindow

    try:
        if smoke_test:
            return _smoke_test(app, crash, Path(screenshot) if screenshot else None)
        window = MainWindow()
        probe = os.environ.get(STARTUP_PROBE_ENV, "")

        def after_first_paint() -> None:
            if probe:
                print(f"hdrdesk: first paint {process_seconds():.3f} s after the process started", flush=True)
                if probe == "exit":
                    app.quit()
                    return
            start_after_first_paint(window)

        on_first_paint(window, after_first_paint)
        window.show()
        if images:
            window.shoots.route_drop([Path(p) for p in images])  # as a drop: a folder of many brackets opens the shoot view
        return app.exec()
    finally:
        crash.uninstall()


def start_after_first_paint(window) -> None:
    """The model, torch (for the info) and the device go to a worker only now: nothing heavy before
    the first paint. The status bar says 'Loading model…' until the model is in."""
    from hdrdesk.gui.jobs import MODEL_READY

    loading = "Loading model…"
    window.show_status(loading)
    window.info_runner.partial.connect(
        lambda _rid, value: window.show_status("Ready") if value == MODEL_READY and window.status_label.text() == loading else None
    )
    window.start_info()


def _smoke_test(app, crash, screenshot: Path | None, timeout_s: float | None = None) -> int:
    """Open the window, load the sample, fuse it with the default model, maybe save a screenshot, exit."""
    from PySide6.QtCore import QTimer

    from hdrdesk.gui.main_window import MainWindow
    from hdrdesk.paths import sample_bracket_dir

    timeout_s = timeout_s or float(os.environ.get("HDRDESK_SMOKE_TIMEOUT", SMOKE_TIMEOUT_S))
    t0 = time.monotonic()
    state: dict = {"rc": None, "result": None}

    def finish(rc: int, message: str) -> None:
        if state["rc"] is not None:
            return
        state["rc"] = rc
        print(message, file=sys.stderr if rc else sys.stdout, flush=True)
        log.info("smoke test: %s", message)
        app.exit(rc)

    def fail(message: str) -> None:
        finish(1, f"hdrdesk: smoke test failed: {message}")

    sample = sample_bracket_dir()
    if not sample.is_dir():
        print(f"hdrdesk: smoke test failed: the sample bracket is missing ({sample})", file=sys.stderr)
        return 1
    crash.on_crash = lambda exc: fail(f"unhandled exception: {type(exc).__name__}: {exc}")
    window = MainWindow(analysis=False)  # no background MEF-SSIM: the smoke test exits as soon as it can
    window.fusion_panel.set_method("cnn")
    window.set_model_path(None)
    window.resize(1440, 900)
    window.show()
    window.start_info()

    def take_screenshot() -> None:
        try:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(screenshot)):
                fail(f"could not save the screenshot to {screenshot}")
                return
        except OSError as exc:
            fail(f"could not save the screenshot to {screenshot}: {exc}")
            return
        succeed()

    def succeed() -> None:
        res = state["result"]
        h, w = res.image.shape[:2]
        extra = f"; screenshot {screenshot}" if screenshot else ""
        finish(0, f"smoke test ok: fused {len(res.frames)} exposures ({w}x{h}) with '{res.model_name}' on {res.device} "
                  f"in {time.monotonic() - t0:.1f} s{extra}")

    def on_result(res) -> None:
        import numpy as np

        state["result"] = res
        if res.method != "cnn" or not np.isfinite(res.image).all() or res.weights is None:
            fail("the result is not a network fusion with finite values")
            return
        if screenshot is None:
            QTimer.singleShot(0, succeed)
        else:
            # show a weight map, then grab the window once the overlay is on screen
            window.overlayShown.connect(lambda kind: QTimer.singleShot(150, take_screenshot) if kind == "weights" else None)
            window.set_overlay("weights", len(res.frames) // 2)

    def on_loaded() -> None:
        if len(window.frames()) < 2:
            fail(f"the sample did not load: {window.notifications.messages()}")

    window.resultReady.connect(on_result)
    window.fusionFailed.connect(lambda msg: fail(f"fusion failed: {msg}"))
    window.fusionCancelled.connect(lambda: fail("fusion was cancelled"))
    window.loadFinished.connect(on_loaded)
    def timed_out() -> None:
        state["timed_out"] = True
        fail(f"timed out after {timeout_s:.0f} s")

    QTimer.singleShot(int(timeout_s * 1000), timed_out)
    QTimer.singleShot(0, window.open_sample)
    rc = app.exec()
    if state.get("timed_out"):
        # a worker may be stuck: do not wait for it (the thread pool would on shutdown)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    window.close()
    return int(state["rc"] if state["rc"] is not None else (rc or 1))
