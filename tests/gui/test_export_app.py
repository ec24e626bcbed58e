"""Export, settings, crash handler, and the smoke test of the installed command."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
from guitools import load_and_fuse
from PySide6.QtWidgets import QMessageBox

from hdrdesk.gui.export_dialog import ExportDialog
from hdrdesk.core.gamma import gamma_maps_tiled
from hdrdesk.export import ExportOptions


def test_export_writes_what_is_shown(qtbot, window, small_bracket, tmp_path):
    res = load_and_fuse(qtbot, window, small_bracket)
    out = tmp_path / "out" / "fused.png"
    out.parent.mkdir()
    with qtbot.waitSignal(window.exportFinished, timeout=30000) as blocker:
        assert window.export_to(ExportOptions(out, bits=16, weights=True, gamma=True))
    written = blocker.args[0]
    assert written[0] == out and len(written) == 1 + 3 + 3
    img = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert img.dtype == np.uint16 and img.shape == res.image.shape
    # the full-resolution array on display, at 16 bits (within float32 rounding of the scaling)
    expected = np.clip(res.image.astype(np.float64), 0, 1) * 65535
    assert np.abs(img - expected).max() <= 1.0
    w0 = cv2.imread(str(written[1]), cv2.IMREAD_UNCHANGED)
    np.testing.assert_allclose(w0 / 65535.0, res.weights[0], atol=1e-4)
    assert all(p.exists() for p in written)
    assert not list(out.parent.glob("*.tmp"))
    assert any(level == "success" for level, _ in window.notifications.messages())


def test_export_never_overwrites_without_asking(qtbot, window, small_bracket, tmp_path, monkeypatch):
    load_and_fuse(qtbot, window, small_bracket)
    out = tmp_path / "fused.jpg"
    out.write_bytes(b"precious")
    asked = []
    monkeypatch.setattr(window.exports, "confirm_overwrite", lambda existing: asked.append(existing) or False)
    assert window.export_to(ExportOptions(out, quality=90)) == 0
    assert asked == [[out]] and out.read_bytes() == b"precious"
    monkeypatch.setattr(window.exports, "confirm_overwrite", lambda existing: True)
    with qtbot.waitSignal(window.exportFinished, timeout=30000):
        window.export_to(ExportOptions(out, quality=90))
    assert out.read_bytes()[:2] == b"\xff\xd8"
    # an input is never an output
    assert window.export_to(ExportOptions(small_bracket[0], overwrite=True)) == 0
    assert any("one of the inputs" in t for _, t in window.notifications.messages())


def test_export_dialog_options(qtbot, tmp_path):
    from hdrdesk.core.gamma import GammaParams

    dlg = ExportDialog(tmp_path / "a.png", GammaParams(), weights_available=False)
    qtbot.addWidget(dlg)
    assert not dlg.weights.isEnabled()
    dlg.format.setCurrentText("JPEG")
    assert dlg.path.text().endswith("a.jpg") and not dlg.bits.isEnabled() and dlg.quality.isEnabled()
    dlg.path.setText(str(tmp_path / "b.tif"))
    assert dlg.format.currentText() == "TIFF"
    dlg.bits.setCurrentIndex(1)
    dlg.gamma.setChecked(True)
    o = dlg.options()
    assert o.path == tmp_path / "b.tif" and o.bits == 16 and o.gamma and not o.weights


def test_tiled_gamma_equals_whole_image():
    import torch

    from hdrdesk.core.gamma import gamma_maps_np

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small arrays: one thread is quicker (as the app's gamma worker does)
    rng = np.random.default_rng(1)
    lumas = rng.random((3, 70, 90)).astype(np.float32)
    for params in (GammaParamsFor("hybrid"), GammaParamsFor("exposedness", 7)):
        np.testing.assert_allclose(gamma_maps_tiled(lumas, params, tile=48), gamma_maps_np(lumas, params), atol=1e-6)
    torch.set_num_threads(threads)


def GammaParamsFor(variant, window=11):  # noqa: N802
    from hdrdesk.core.gamma import GammaParams

    return GammaParams(variant=variant, window=window)


def test_settings_are_remembered(qtbot, window):
    from hdrdesk.gui.main_window import MainWindow

    window.fusion_panel.set_method("mertens")
    window.overlay_panel.opacity.setValue(35)
    window.set_compare_mode("split")
    window.close()
    again = MainWindow(analysis=False)
    qtbot.addWidget(again)
    assert again.fusion_panel.method_value() == "mertens"
    assert again.overlay_panel.opacity.value() == 35
    assert again.viewer.mode() == "split"
    assert Path(os.environ["HDRDESK_SETTINGS"]).is_file()


def test_model_choices_api(qtbot, window, tmp_path):
    model = tmp_path / "mine.pt"
    model.write_bytes(b"not a model")
    window.set_model_choices([("Default (shipped)", None), ("Mine", model)])
    assert [label for label, _ in window.fusion_panel.models()] == ["Default (shipped)", "Mine"]
    assert window.model_path() is None
    window.set_model_path(model)
    assert window.model_path() == model and window.fusion_options().model_path == model


def test_bad_model_is_reported(qtbot, window, small_bracket, tmp_path):
    load_and_fuse(qtbot, window, small_bracket)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"garbage")
    with qtbot.waitSignal(window.fusionFailed, timeout=30000):
        window.set_model_path(bad)
    assert any("broken.pt" in t for level, t in window.notifications.messages() if level == "error")
    assert window.model_path() is None  # back to the shipped model


def test_crash_handler_logs_and_tells_the_user(qtbot, monkeypatch):
    from hdrdesk.gui.crash import CrashHandler, log_file

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    handler = CrashHandler(show_dialog=True)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        handler.handle(*sys.exc_info())
    text = log_file().read_text()
    assert "boom in a slot" in text and "Traceback" in text
    assert shown and str(log_file()) in shown[0]
    for h in logging.getLogger("hdrdesk").handlers:
        h.flush()


def test_about_box(qtbot, window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append(text))
    window.act_about.trigger()
    assert shown and "HDRDesk" in shown[0] and "PySide6" in shown[0] and "PyTorch" in shown[0]


def test_smoke_test_command(tmp_path):
    shot = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HDRDESK_SETTINGS=str(tmp_path / "s.ini"))
    proc = subprocess.run(
        [sys.executable, "-m", "hdrdesk", "--smoke-test", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "smoke test ok" in proc.stdout
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 500
