"""Fine-tune panel, Refine and the model manager (pytest-qt, offscreen, tiny synthetic brackets)."""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from guitools import load_and_fuse, synthetic_bracket

from hdrdesk.gui.app import create_application
from hdrdesk.gui.finetune_panel import FinetunePanel, Heartbeat
from hdrdesk.gui.model_manager import ModelManagerDialog
from hdrdesk.model_store import list_models
from hdrdesk.paths import user_models_dir
from hdrdesk.training.loop import load_checkpoint

TIMEOUT = 240_000


def write_scene(folder: Path, seed: int, h: int = 64, w: int = 96) -> Path:
    """One bracket folder: 3 exposures, named darkest first."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(synthetic_bracket(h, w, (-2.0, 0.0, 2.0), seed=seed)):
        assert cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture
def data_root(tmp_path) -> Path:
    root = tmp_path / "brackets"
    write_scene(root / "alpha", seed=1)
    write_scene(root / "beta", seed=2)
    return root


def configure(panel: FinetunePanel, steps: int, val_every: int) -> None:
    """Tiny settings through the panel's own widgets (the 'Advanced' section)."""
    panel.steps.setValue(steps)
    panel.lr.setCurrentText("5e-4")
    panel.crop.setValue(48)
    panel.frames_per_batch.setValue(4)
    panel.val_every.setValue(val_every)
    panel.threads.setValue(1)
    panel.device.setCurrentIndex(panel.device.findData("cpu"))


def make_panel(qtbot, window=None) -> FinetunePanel:
    create_application()
    panel = FinetunePanel(window)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    if not panel.is_warm:  # the panel imports and runs one tiny step on a worker as it opens
        qtbot.waitSignal(panel.warmed, timeout=120_000).wait()
    if window is not None:  # the window's start-up info job (loads torch and the model) is not ours to measure
        qtbot.waitUntil(lambda: not window.info_runner.is_busy(), timeout=120_000)
    return panel


def add_and_scan(qtbot, panel: FinetunePanel, folder: Path) -> None:
    with qtbot.waitSignal(panel.scan_runner.result, timeout=30_000):
        panel.add_folder(folder)


@pytest.fixture
def panel(qtbot):
    p = make_panel(qtbot)
    yield p
    if p.is_running():
        p.stop_and_wait()


# ------------------------------------------------------------------ fine-tuning


def test_finetune_runs_curves_fill_the_ui_keeps_ticking_and_keep_as_lists_the_model(qtbot, window, data_root, record_property):
    p = make_panel(qtbot, window)
    add_and_scan(qtbot, p, data_root)
    assert "Found 2 brackets" in p.found_label.text() and "1 held back" in p.found_label.text()
    configure(p, steps=6, val_every=3)

    beat = Heartbeat()  # a 20 ms QTimer on the UI thread: it keeps ticking while the run trains on its worker
    beat.start()
    with qtbot.waitSignal(p.finished, timeout=TIMEOUT) as done:
        assert p.start(name="tiny-run")
    beat.stop()
    outcome = done.args[0]
    assert beat.ticks > 10  # the UI thread ran its timers during the run (how long its longest gap is, is a time:
    record_property("heartbeat_max_gap_ms", round(beat.max_gap_ms, 1))  # benchmarks/bench_finetune_ui.py measures it)

    assert outcome.step == 6 and not outcome.cancelled
    # one of the two brackets was held back, and the panel says which
    assert len(outcome.val_scenes) == 1 and len(outcome.train_scenes) == 1
    assert outcome.val_scenes[0] in p.data_label.text() and "held back" in p.data_label.text()
    # curves received points: a loss per step, validation at 0, 3 and 6
    xs, ys = p.loss_raw_curve.getData()
    assert list(xs) == [1, 2, 3, 4, 5, 6] and all(0 < y < 10 for y in ys)
    assert len(p.loss_curve.getData()[0]) == 6  # and its smoothed trend
    vx, vy = p.val_curve.getData()
    assert list(vx) == [0, 3, 6] and all(0 < v <= 1 for v in vy)
    assert p.progress.value() == 1000
    # before/after summary, per bracket, and a side by side of the held-back bracket
    assert p.pages.currentIndex() == 1
    assert p.table.rowCount() == 3  # pair, seq, mean
    assert p.table.item(0, 0).text() == outcome.val_scenes[0]
    assert outcome.before["mean"] > 0 and outcome.after["mean"] >= outcome.before["mean"]
    if p.before_view.image() is None:
        qtbot.waitSignal(p.compareReady, timeout=60_000).wait()
    assert p.before_view.image() is not None and p.after_view.image() is not None

    # Keep as... writes a model with a card that the store lists and the manager can select
    with qtbot.waitSignal(p.modelKept) as kept:
        path = p.keep_as("Tiny tuned")
    assert kept.args[0] == path and path.parent == user_models_dir() and path.is_file()
    entry = [e for e in list_models() if e.path == path][0]
    assert entry.card["base"] == "default" and entry.card["steps"] == 6
    assert entry.card["val_brackets"] == outcome.val_scenes and entry.card["scores"]["mean"] == pytest.approx(outcome.after["mean"])
    window.refresh_model_choices()
    assert any(pp == path for _label, pp in window.fusion_panel.models())
    dlg = ModelManagerDialog(window, current=window.model_path())
    qtbot.addWidget(dlg)
    dlg.modelChosen.connect(window.set_model_path)
    assert "Tiny tuned" in [e.name for e in dlg.entries()]
    assert dlg.select_path(path)
    assert "fine-tuned" in dlg.details.toPlainText() and "MEF-SSIM after" in dlg.details.toPlainText()
    with qtbot.waitSignal(dlg.modelChosen) as chosen:
        assert dlg.use_selected()
    assert chosen.args[0] == path and window.model_path() == path


def test_the_current_bracket_is_trained_on_and_previewed(qtbot, window, small_bracket, data_root):
    load_and_fuse(qtbot, window, small_bracket)
    p = make_panel(qtbot, window)
    assert p.use_current.isEnabled() and p.use_current.isChecked()
    assert "bracket · 3 exposures" in p.current_info.text()
    add_and_scan(qtbot, p, data_root)
    assert "3 brackets in all" in p.found_label.text()
    configure(p, steps=3, val_every=3)
    previews: list[int] = []
    p.previewReady.connect(previews.append)
    with qtbot.waitSignal(p.finished, timeout=TIMEOUT) as done:
        assert p.start(name="with-current")
    outcome = done.args[0]
    staged = p.run_dir() / "inputs" / "current" / "bracket"
    # the included frames, linked or copied into a bracket folder, darkest first by name
    names = sorted(f.name for f in staged.iterdir())
    assert [n[3:] for n in names] == [f.path.name for f in window.result().frames]
    assert "bracket" in outcome.train_scenes + outcome.val_scenes
    assert len(outcome.val_scenes) == 1  # 25 % of 3, at least one
    # previews of the current bracket: the starting model, the checkpoint at step 3, the best weights
    assert previews[0] == 0 and len(previews) >= 2
    assert p.preview_fused.image() is not None and len([v for v in p.weight_views if not v.isHidden()]) == 3
    assert "bracket" in p.preview_caption.text()


def test_cancel_keeps_best_checkpoint_and_resume_finishes(panel, qtbot, data_root):
    add_and_scan(qtbot, panel, data_root)
    configure(panel, steps=10, val_every=4)

    def stop_early(step: int) -> None:
        if step >= 2 and panel.state() == "running":
            panel.stop()

    panel.stepped.connect(stop_early)
    with qtbot.waitSignal(panel.stopped, timeout=TIMEOUT) as stopped:
        panel.start(name="to-resume")
    panel.stepped.disconnect(stop_early)
    run = panel.run_dir()
    assert 2 <= stopped.args[0] < 10
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file()
    assert load_checkpoint(run / "last.pt")["step"] == stopped.args[0]
    assert panel.state() == "stopped" and panel.can_resume() and not panel.resume_button.isHidden()
    assert "best checkpoint" in panel.message_text()

    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT) as done:
        assert panel.resume_run()
    outcome = done.args[0]
    assert outcome.step == 10 and load_checkpoint(run / "last.pt")["step"] == 10
    # the starting model's scores survive the resume (remembered in the run folder)
    assert outcome.before is not None and outcome.after is not None
    assert panel.table.rowCount() == 3


def test_pause_holds_the_loop_and_continue_finishes(panel, qtbot, data_root):
    add_and_scan(qtbot, panel, data_root)
    configure(panel, steps=8, val_every=8)
    seen: list[int] = []
    panel.stepped.connect(seen.append)
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        with qtbot.waitSignal(panel.stepped, timeout=TIMEOUT, check_params_cb=lambda s: s >= 2):
            panel.start(name="paused")
        panel.pause()
        assert panel.state() == "paused" and panel.pause_button.text() == "Continue"
        # the step in flight may still finish; after it the loop holds at its next check
        qtbot.waitSignal(panel.stepped, timeout=3000, raising=False).wait()
        held = len(seen)
        with qtbot.assertNotEmitted(panel.stepped, wait=800):
            pass
        assert len(seen) == held and panel.is_running()
        panel.resume()
        assert panel.state() == "running"
    assert seen[-1] == 8


def test_nan_loss_stops_with_a_message_and_keeps_last_good_weights(panel, qtbot, data_root, monkeypatch):
    from hdrdesk.training.objective import Objective, SPDObjective

    calls = {"n": 0}

    def flaky_of(real):
        def flaky(self, model, y):
            calls["n"] += 1
            loss, terms = real(self, model, y)
            return (loss * float("nan"), terms) if calls["n"] >= 3 else (loss, terms)

        return flaky

    for objective in (Objective, SPDObjective):  # whichever the starting model trains with
        monkeypatch.setattr(objective, "__call__", flaky_of(objective.__call__))
    add_and_scan(qtbot, panel, data_root)
    configure(panel, steps=8, val_every=8)
    with qtbot.waitSignal(panel.failed, timeout=TIMEOUT) as failed:
        panel.start(name="nan")
    assert "nan" in failed.args[0].lower()
    assert "kept the last good weights" in panel.message_text()
    assert panel.state() == "failed" and panel.can_resume()
    ck = load_checkpoint(panel.run_dir() / "last.pt")
    assert all(torch.isfinite(v).all() for v in ck["model"].values())


def test_start_before_the_warm_up_waits_for_it_and_stop_meanwhile_cancels(panel, qtbot, data_root):
    add_and_scan(qtbot, panel, data_root)
    configure(panel, steps=2, val_every=2)
    panel.is_warm = False  # as if the panel had just opened
    assert panel.start(name="early")
    assert panel.state() == "running" and "Getting ready" in panel.status.text() and not panel.runner.is_busy()
    panel.stop()
    assert panel.state() == "idle" and not panel.runner.is_busy()
    assert panel.start(name="early2")
    with qtbot.waitSignal(panel.finished, timeout=TIMEOUT):
        panel._on_warm()  # the warm-up ends: the run starts
    assert panel.outcome().step == 2


def test_one_bracket_alone_is_refused_with_a_pointer_to_refine(panel, qtbot, tmp_path):
    add_and_scan(qtbot, panel, write_scene(tmp_path / "only", seed=3))
    assert "not enough" in panel.found_label.text()
    assert not panel.start()
    assert "Refine" in panel.message_text()


def test_closing_the_window_during_training_asks_and_stopping_saves_a_checkpoint(qtbot, window, data_root):
    p = make_panel(qtbot, window)
    p.guard_close(window)
    add_and_scan(qtbot, p, data_root)
    configure(p, steps=400, val_every=400)
    answers = [False, True]
    asked = []

    def confirm() -> bool:
        asked.append(p.state())
        return answers.pop(0)

    p.confirm_stop = confirm
    with qtbot.waitSignal(p.stepped, timeout=TIMEOUT):
        p.start(name="closing")
    window.close()  # "Keep Training"
    assert asked == ["running"] and window.isVisible() and p.is_running()
    window.close()  # "Stop and Quit": the run stops, last.pt is written, the window closes
    assert len(asked) == 2 and not window.isVisible()
    assert p.state() == "stopped"
    assert (p.run_dir() / "last.pt").is_file() and (p.run_dir() / "best.pt").is_file()


# ------------------------------------------------------------------ models


def test_corrupt_model_files_are_refused_on_import_and_selection(qtbot, window, tmp_path):
    from hdrdesk.paths import default_model_path

    good = default_model_path().read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 3])
    dlg = ModelManagerDialog(window, current=window.model_path())
    qtbot.addWidget(dlg)
    dlg.modelChosen.connect(window.set_model_path)
    assert dlg.import_file(truncated) is None
    assert "Not imported" in dlg.message_text() and "truncated" in dlg.message_text()
    assert [e.name for e in list_models() if not e.read_only] == []

    # a broken file that lands in the models folder is listed (the list follows the folder) but never chosen
    (user_models_dir() / "broken.pt").write_bytes(b"PK\x03\x04 definitely not a model")
    dlg.refresh()
    assert dlg.select_path(user_models_dir() / "broken.pt")
    assert not dlg.use_button.isEnabled() and "cannot be used" in dlg.details.toPlainText()
    with qtbot.assertNotEmitted(dlg.modelChosen):
        assert not dlg.use_selected()
    assert "cannot be used" in dlg.message_text()
    assert window.model_path() is None

    # a good import is listed and selectable; rename and delete follow the folder
    ok = tmp_path / "friend.pt"
    ok.write_bytes(good)
    new = dlg.import_file(ok)
    assert new is not None and new.parent == user_models_dir()
    with qtbot.waitSignal(dlg.modelChosen):
        assert dlg.use_selected()
    assert window.model_path() == new
    renamed = dlg.rename_selected("friend renamed")
    assert renamed is not None and window.model_path() == renamed and not new.exists()
    exported = dlg.export_selected(tmp_path / "out.pt")
    assert exported is not None and exported.is_file()
    assert dlg.delete_selected(confirm=False)
    assert window.model_path() is None and not renamed.exists()
    window.refresh_model_choices()
    assert all(pp is None or pp.is_file() for _l, pp in window.fusion_panel.models())


# ------------------------------------------------------------------ refine


def test_refine_refuses_applies_reverts(qtbot, window, small_bracket, monkeypatch):
    import torch

    from hdrdesk.gui.refine import RefineDialog
    from hdrdesk.training import refine

    load_and_fuse(qtbot, window, small_bracket)
    assert window.act_refine.isEnabled()
    default_image = window.result().image.copy()

    # a refinement that lowers the score is discarded automatically, and the dialog says so
    def worse(model, frames, **kw):
        return refine.LogitRefineOutcome(model, None, 0.90, 0.90, False, 3, 0.1, 0.85, 256)

    monkeypatch.setattr(refine, "refine_logits", worse)
    dlg = RefineDialog(window)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.finished, timeout=60_000):
        dlg.start()
    assert "discarded" in dlg.status.text() and "0.8500" in dlg.status.text()
    assert not dlg.revert_button.isEnabled() and "refined" not in window.result().model_name

    # one that raises it (a v2 model: a residual of the logits for this bracket): the view shows it
    def better(model, frames, **kw):
        res = torch.zeros((len(frames), 2, 2, 3))
        res[0, 0] = 2.0  # more of the darkest exposure's structure
        return refine.LogitRefineOutcome(refine.ResidualLogits(model, res), res.numpy(), 0.90, 0.93, True, 3, 0.1, 0.93, 256)

    monkeypatch.setattr(refine, "refine_logits", better)
    with qtbot.waitSignal(window.resultReady, timeout=60_000) as fused:
        with qtbot.waitSignal(dlg.finished, timeout=60_000):
            dlg.start()
    assert "refined" in fused.args[0].model_name and "+0.0300" in dlg.scores.text()
    assert "0.9000 → 0.9300" in dlg.status.text()
    refined_image = window.result().image.copy()
    assert not np.array_equal(refined_image, default_image)
    assert window.model_path() is None  # the stored model is untouched
    assert not dlg.keep_button.isVisible()  # a per-bracket refinement is not a model to keep

    # Revert: the stored model's fusion, exactly as before; Apply: the refinement again
    with qtbot.waitSignal(window.resultReady, timeout=60_000):
        dlg.revert_button.click()
    assert "refined" not in window.result().model_name
    np.testing.assert_array_equal(window.result().image, default_image)
    assert dlg.revert_button.text() == "Apply"
    with qtbot.waitSignal(window.resultReady, timeout=60_000):
        dlg.revert_button.click()
    np.testing.assert_array_equal(window.result().image, refined_image)
    assert dlg.revert_button.text() == "Revert"


def test_refine_v1_model_copy_can_be_kept(qtbot, window, small_bracket, monkeypatch, tmp_path):
    import torch

    from hdrdesk.core.model import FusionNet, NetConfig, model_state
    from hdrdesk.gui.refine import RefineDialog
    from hdrdesk.training import finetune

    torch.manual_seed(0)
    v1 = tmp_path / "v1.pt"
    torch.save(model_state(FusionNet(NetConfig(widths=(4, 8))).eval(), name="v1"), v1)
    load_and_fuse(qtbot, window, small_bracket)
    with qtbot.waitSignal(window.resultReady, timeout=60_000):
        window.set_model_path(v1)

    def better(model, frames, **kw):
        return finetune.RefineOutcome(copy.deepcopy(model), 0.90, 0.93, True, 3, 0.1, 0.93)

    monkeypatch.setattr(finetune, "refine_bracket", better)
    dlg = RefineDialog(window)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(window.resultReady, timeout=60_000) as fused:
        with qtbot.waitSignal(dlg.finished, timeout=60_000):
            dlg.start()
    assert "refined" in fused.args[0].model_name and dlg.keep_button.isEnabled()
    with qtbot.waitSignal(window.resultReady, timeout=60_000):
        path = dlg.keep_as("refined one")
    assert path is not None and window.model_path() == path
    assert list_models()[-1].card["kind"] == "refined"


def test_refine_for_real_on_a_tiny_bracket(qtbot, window, small_bracket):
    from hdrdesk.gui.refine import RefineDialog

    load_and_fuse(qtbot, window, small_bracket)
    dlg = RefineDialog(window, steps=3, seconds=10)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.finished, timeout=120_000) as done:
        dlg.start()
    out = done.args[0]
    assert out.per_bracket  # the shipped model is v2: a logit residual
    assert 0 < out.before <= 1 and out.after >= out.before
    assert out.candidate is not None
    assert dlg.before_view.image() is not None
    if out.kept:
        qtbot.waitUntil(lambda: "refined" in window.result().model_name, timeout=60_000)
