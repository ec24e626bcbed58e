"""A large bracket shows a preview-resolution fusion first, then the full-resolution result."""

from __future__ import annotations

from guitools import write_bracket

import hdrdesk.gui.jobs as jobs
from hdrdesk.export import ExportOptions


def test_preview_arrives_before_the_full_result(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "PREVIEW_LONG", 40)  # the 48 x 96 test bracket counts as large
    paths = write_bracket(tmp_path / "bracket", h=48, w=96)
    seen = []

    def on_preview(res):
        out = window.fusion_output()
        refused = window.exports.export_to(ExportOptions(path=tmp_path / "early.png"), confirm=False)
        seen.append(("preview", res.image.shape, out.preview, out.fused.width, window.overlays is not None, refused,
                     window.fusion_panel.working.isEnabled()))

    window.previewReady.connect(on_preview)
    window.resultReady.connect(lambda res: seen.append(("result", res.image.shape, window.fusion_output().preview)))
    with qtbot.waitSignals([window.previewReady, window.resultReady], order="strict", timeout=60000):
        window.open_paths(paths)
    assert [s[0] for s in seen] == ["preview", "result"]
    kind, shape, is_preview, width, _, refused, working_enabled = seen[0]
    assert shape == (20, 40, 3) and is_preview and width == 40
    assert not working_enabled  # the shipped v2 model fixes its own size: greyed out from the preview on
    assert refused == 0 and not (tmp_path / "early.png").exists()  # a preview is never exported
    assert seen[1][1:] == ((48, 96, 3), False)
    assert window.result().image.shape == (48, 96, 3) and window.result().weights.shape == (3, 48, 96)
    assert "Fused 3 exposures" in window.status_label.text()


def test_small_bracket_has_no_preview(qtbot, window, small_bracket):
    previews = []
    window.previewReady.connect(previews.append)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths(small_bracket)
    assert previews == []


def test_fusion_job_publishes_the_preview_first():
    """The job itself: one preview output (reduced frames) published before it returns the full one."""
    import numpy as np

    from guitools import synthetic_bracket
    from hdrdesk.core.fusion import FusionOptions
    from hdrdesk.core.io import ExposureInfo, Frame
    from hdrdesk.tasks import TaskState
    from pathlib import Path

    frames = [Frame(Path(f"{i}.png"), img, ExposureInfo()) for i, img in enumerate(synthetic_bracket(60, 90))]
    published = []
    task = TaskState(on_partial=published.append)
    out = jobs.fusion_job(frames, FusionOptions(method="mertens", align=False), task, preview_long=45)
    assert len(published) == 1 and published[0].preview and not out.preview
    assert published[0].result.image.shape == (30, 45, 3) and [f.data.shape for f in published[0].result.frames] == [(30, 45, 3)] * 3
    assert out.result.image.shape == (60, 90, 3)
    assert np.isfinite(published[0].result.image).all()


def test_after_the_first_paint_the_status_says_the_model_is_loading_then_ready(qtbot, window):
    from hdrdesk.gui.app import start_after_first_paint

    start_after_first_paint(window)
    assert window.status_label.text() == "Loading model…"
    qtbot.waitUntil(lambda: window.status_label.text() == "Ready", timeout=120_000)
    qtbot.waitUntil(lambda: not window.info_runner.is_busy(), timeout=120_000)


def test_the_window_does_not_import_torch_before_its_first_paint():
    """A fresh process builds and paints the window without torch (it loads after, on a worker)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from PySide6.QtCore import QTimer; from hdrdesk.gui.app import create_application, on_first_paint; "
        "app = create_application(); from hdrdesk.gui.main_window import MainWindow; w = MainWindow(analysis=False); "
        "on_first_paint(w, lambda: (print('torch' in sys.modules, flush=True), app.quit())); w.show(); app.exec()"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-800:]
    assert proc.stdout.strip().splitlines()[-1] == "False"


def test_the_preview_is_scored_but_the_anchors_wait_for_the_full_result(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "PREVIEW_LONG", 40)
    window.analysis.enabled = True
    submitted = []
    runners = {**window.analysis.anchor_runners, "quality": window.analysis.quality}
    for name, runner in runners.items():
        real = runner.submit
        monkeypatch.setattr(runner, "submit", lambda *a, _n=name, _real=real, **k: (submitted.append((_n, window.fusion_output().preview)), _real(*a, **k))[1])
    with qtbot.waitSignals([window.previewReady, window.resultReady], order="strict", timeout=60000):
        window.open_paths(write_bracket(tmp_path / "bracket", h=48, w=96))
    assert [s for s in submitted if s[0] == "quality"] == [("quality", True), ("quality", False)]  # the preview is scored too
    assert sorted(s for s in submitted if s[0] != "quality") == [("fmmef", False), ("mertens", False)]  # each anchor fused once, for the full result
    qtbot.waitUntil(lambda: not any(r.is_busy() for r in window.analysis.anchor_runners.values()), timeout=60000)


def test_the_preview_starts_from_the_copies_made_while_loading(qtbot, window, tmp_path, monkeypatch):
    """The loader reduces each large frame once (the thumbnail comes from that copy); the preview fusion
    uses those copies instead of reducing the full frames again, and ignores copies that do not fit."""
    import numpy as np

    from guitools import synthetic_bracket
    from hdrdesk.core.fusion import FusionOptions
    from hdrdesk.core.io import ExposureInfo, Frame
    from hdrdesk.tasks import TaskState
    from pathlib import Path

    monkeypatch.setattr(jobs, "PREVIEW_LONG", 40)
    paths = write_bracket(tmp_path / "bracket", h=48, w=96)
    with qtbot.waitSignal(window.loadFinished, timeout=60000):
        window.open_paths(paths)
    copies = window.session.bracket.reduced()
    assert copies is not None and [c.shape for c in copies] == [(20, 40, 3)] * 3

    frames = [Frame(Path(f"{i}.png"), img, ExposureInfo()) for i, img in enumerate(synthetic_bracket(60, 90))]
    marked = [np.full((30, 45, 3), 40 * (i + 1), np.uint8) for i in range(3)]  # not what a reduction would give
    published = []
    jobs.fusion_job(frames, FusionOptions(method="mertens", align=False), TaskState(on_partial=published.append), preview_long=45, reduced=marked)
    assert all(np.array_equal(f.data, m) for f, m in zip(published[0].result.frames, marked))
    published.clear()
    wrong = [m[:20] for m in marked]
    jobs.fusion_job(frames, FusionOptions(method="mertens", align=False), TaskState(on_partial=published.append), preview_long=45, reduced=wrong)
    assert published[0].result.frames[0].data.shape == (30, 45, 3) and not np.array_equal(published[0].result.frames[0].data, marked[0])


def _events(window):
    seen = []
    window.previewReady.connect(lambda _r: seen.append(("preview", len(window.session.bracket))))
    window.previewReady.connect(lambda _r: seen.append(("visible", window.stack.currentWidget() is not window.welcome)))
    window.loadFinished.connect(lambda: seen.append(("loaded", len(window.session.bracket))))
    window.resultReady.connect(lambda _r: seen.append(("result", len(window.session.bracket))))
    return seen


def test_a_large_jpeg_bracket_shows_its_preview_before_the_frames_are_decoded(qtbot, window, tmp_path, monkeypatch):
    """The loader fuses scaled JPEG decodes first: the picture is up while the bracket is still empty, it stays
    up when the frames arrive, and the full fusion does not make a second preview."""
    monkeypatch.setattr(jobs, "PREVIEW_LONG", 40)
    paths = write_bracket(tmp_path / "jpeg", h=64, w=128, names=("b_mid.jpg", "a_bright.jpg", "c_dark.jpg"))
    seen = _events(window)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths(paths)
    assert seen == [("preview", 0), ("visible", True), ("loaded", 3), ("result", 3)]  # over the welcome page
    assert window.result().image.shape == (64, 128, 3)


def test_a_png_bracket_gets_its_preview_after_loading_and_a_failed_load_takes_an_early_preview_down(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(jobs, "PREVIEW_LONG", 40)
    seen = _events(window)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths(write_bracket(tmp_path / "png", h=64, w=128))  # PNG: no scaled decode
    assert seen == [("loaded", 3), ("preview", 3), ("visible", True), ("result", 3)]
    # a JPEG bracket whose full decode fails after its preview: the preview goes, the old bracket stays
    paths = write_bracket(tmp_path / "jpeg", h=64, w=128, names=("b_mid.jpg", "a_bright.jpg", "c_dark.jpg"))
    real = jobs.read_frame

    def fail_full(path, *args, reduce_to=0, **kw):
        if not reduce_to and path.name == "c_dark.jpg":
            raise jobs.InputError(f"{path}: could not be read")
        return real(path, *args, reduce_to=reduce_to, **kw)

    monkeypatch.setattr(jobs, "read_frame", fail_full)
    seen.clear()
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.open_paths(paths)
    # the early preview showed three frames; two loaded, so it went and those two were fused (with their own preview)
    assert seen == [("preview", 3), ("visible", True), ("loaded", 2), ("preview", 2), ("visible", True), ("result", 2)]
    assert len(window.result().frames) == 2 and len(window.session.result.frames) == 2
