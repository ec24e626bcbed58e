"""Fusion runs on a worker: completion, cancel, latest request wins, a multi-megapixel bracket end to end."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from guitools import load_and_fuse, write_bracket

import hdrdesk.gui.jobs as jobs
from hdrdesk.core.fusion import fuse_frames as real_fuse
from hdrdesk.gui.workers import JobRunner


def test_fusion_completes_through_the_worker(qtbot, window, small_bracket, monkeypatch):
    threads = []

    def spy(frames, options, task):
        threads.append(threading.current_thread())
        return real_fuse(frames, options, task)

    monkeypatch.setattr(jobs, "fuse_frames", spy)
    progress = []
    window.fusion.progress.connect(lambda rid, f, m: progress.append(f))
    res = load_and_fuse(qtbot, window, small_bracket)
    assert threads and threads[0] is not threading.main_thread()
    assert res is window.result()
    assert res.method == "cnn" and res.weights.shape == (3, 48, 72)
    np.testing.assert_allclose(res.weights.sum(axis=0), 1.0, atol=1e-4)
    assert progress and progress[-1] == pytest.approx(1.0)
    assert not window.progress.isVisible()
    assert "Fused 3 exposures" in window.status_label.text()
    assert window.device_label.text().startswith(("CPU", "GPU"))
    out = window.fusion_output()
    assert out.fused.width == 72 and out.fused.height == 48 and len(out.exposures) == 3
    assert out.histogram.luma.sum() == 48 * 72


def test_mertens_method(qtbot, window, small_bracket):
    load_and_fuse(qtbot, window, small_bracket)
    with qtbot.waitSignal(window.resultReady, timeout=60000) as blocker:
        window.fusion_panel.set_method("mertens")
    res = blocker.args[0]
    assert res.method == "mertens" and res.weights is None
    assert "Mertens" in window.device_label.text()


def _blocking_fuse(release: threading.Event, started: threading.Event, honour_cancel: bool = True):
    def fuse(frames, options, task):
        started.set()
        while not release.wait(0.01):
            if honour_cancel:
                task.check()
        return real_fuse(frames, options, task)

    return fuse


def test_cancel(qtbot, window, small_bracket, monkeypatch):
    release, started = threading.Event(), threading.Event()
    monkeypatch.setattr(jobs, "fuse_frames", _blocking_fuse(release, started))
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        window.open_paths(small_bracket)
    window.request_fusion()
    qtbot.waitUntil(started.is_set, timeout=10000)
    assert window.cancel_button.isVisible() and window.act_cancel.isEnabled()
    with qtbot.waitSignal(window.fusionCancelled, timeout=10000):
        window.cancel_button.click()
    assert window.result() is None
    assert "cancelled" in window.status_label.text().lower()
    qtbot.waitUntil(lambda: not window.fusion.is_busy(), timeout=10000)
    assert not window.cancel_button.isVisible()
    release.set()


def test_latest_request_wins(qtbot, window, small_bracket, monkeypatch):
    """A job that ignores cancellation still finishes, but its stale result is dropped by request id."""
    release, started = threading.Event(), threading.Event()
    monkeypatch.setattr(jobs, "fuse_frames", _blocking_fuse(release, started, honour_cancel=False))
    with qtbot.waitSignal(window.loadFinished, timeout=30000):
        window.open_paths(small_bracket)
    first = window.request_fusion()
    qtbot.waitUntil(started.is_set, timeout=10000)
    window.fusion_panel.working.setValue(256)
    second = window.request_fusion()
    third = window.request_fusion()  # supersedes the second before it even starts
    assert first < second < third == window.fusion.latest_id
    results = []
    window.resultReady.connect(results.append)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        release.set()
    qtbot.waitUntil(lambda: not window.fusion.is_busy(), timeout=30000)
    assert len(results) == 1
    assert window.fusion_output().options.working_size == 256


def test_job_runner_policies(qtbot):
    runner = JobRunner("t", latest_wins=True)
    gate = threading.Event()

    def job(value, task):
        gate.wait(5)
        return value

    got = []
    runner.result.connect(lambda rid, v: got.append(v))
    ids = [runner.submit(job, i) for i in range(5)]
    with qtbot.waitSignal(runner.result, timeout=10000):
        gate.set()
    qtbot.waitUntil(lambda: not runner.is_busy(), timeout=10000)
    assert got == [4] and runner.latest_id == ids[-1]

    queue = JobRunner("q", latest_wins=False)
    got2, errors = [], []
    queue.result.connect(lambda rid, v: got2.append(v))
    queue.error.connect(lambda rid, e: errors.append(e.message()))

    def boom(task):
        from hdrdesk.errors import InputError

        raise InputError("x.png: not a readable image")

    for i in range(3):
        queue.submit(job, i)
    queue.submit(boom)
    qtbot.waitUntil(lambda: not queue.is_busy(), timeout=10000)
    assert sorted(got2) == [0, 1, 2] and errors == ["x.png: not a readable image"]

    # max_stale=1: the latest request starts while a superseded one is still stuck in a step
    fast = JobRunner("f", latest_wins=True, max_stale=1)
    stuck, started = threading.Event(), threading.Event()

    def slow(task):
        started.set()
        stuck.wait(10)  # ignores cancellation, like one long library call
        return "stale"

    got3 = []
    fast.result.connect(lambda rid, v: got3.append(v))
    fast.submit(slow)
    qtbot.waitUntil(started.is_set, timeout=5000)
    with qtbot.waitSignal(fast.result, timeout=5000):
        fast.submit(lambda task: "latest")
    assert got3 == ["latest"]
    stuck.set()
    qtbot.waitUntil(lambda: not fast.is_busy(), timeout=10000)
    assert got3 == ["latest"]  # the stale result was dropped


@pytest.mark.slow
def test_a_multi_megapixel_bracket_loads_fuses_and_displays(qtbot, window, tmp_path):
    """3 x 6 MP frames load, fuse and display, at fit, at 100 % and with a weight overlay. How long the UI
    thread stalls meanwhile is measured by benchmarks/bench_first_picture.py (a time, so not a test)."""
    paths = write_bracket(tmp_path / "big", h=2000, w=3000, names=("m.tif", "b.tif", "d.tif"))
    window.fusion_panel.working.setValue(256)
    window.fusion_panel.align.setChecked(False)
    with qtbot.waitSignal(window.resultReady, timeout=180000):
        window.open_paths(paths)
    # and the first frames that show the 6 MP result: fit, then 100 %, then a weight overlay
    window.viewer.main.viewport().repaint()
    window.viewer.zoom_to(1.0)
    window.viewer.main.viewport().repaint()
    with qtbot.waitSignal(window.overlayShown, timeout=60000):
        window.set_overlay("weights", 0)
    window.viewer.main.viewport().repaint()
    assert window.result().image.shape == (2000, 3000, 3)
