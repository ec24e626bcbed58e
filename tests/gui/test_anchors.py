"""The classic anchors beside the result: 'with FMMEF' in the compare view, the quality readout
(result, Mertens, FMMEF), their cache, and the working-size control under a v2 model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from guitools import load_and_fuse

from hdrdesk.core.fmmef import fmmef_fuse_into
from hdrdesk.core.model import FusionNet, NetConfig, model_state
from hdrdesk.gui.jobs import mef_ssim_at


@pytest.fixture
def fused(qtbot, window, small_bracket):
    return load_and_fuse(qtbot, window, small_bracket)


def test_compare_with_fmmef(qtbot, window, fused):
    items = [window.compare_combo.itemText(i) for i in range(window.compare_combo.count())]
    assert items[:2] == ["Mertens", "FMMEF"]  # read after the toolbar's "with"
    window.set_compare_target("fmmef")
    with qtbot.waitSignal(window.qualityReady, timeout=30000, check_params_cb=lambda w, s: w == "fmmef"):
        window.set_compare_mode("side")  # computed on demand: the analysis is off in this window
    anchor = window.analysis.anchor_output("fmmef")
    assert window.viewer.second.base.display() is anchor.display
    assert "FMMEF" in window.viewer._labels[1]
    # it is FMMEF of the result's own (aligned) frames, through the engine's path
    res = window.result()
    np.testing.assert_array_equal(anchor.image, fmmef_fuse_into([f.data for f in res.frames]))
    assert anchor.quality.score == pytest.approx(mef_ssim_at(res.frames, anchor.image), abs=1e-12)
    assert window.analysis.anchor_output("mertens") is None  # only what was asked for

    # split view shows the same anchor; back to Mertens computes that one
    window.set_compare_mode("split")
    assert window.viewer.main.split_item.display() is anchor.display
    with qtbot.waitSignal(window.qualityReady, timeout=30000, check_params_cb=lambda w, s: w == "mertens"):
        window.set_compare_target("mertens")
    assert window.viewer.main.split_item.display() is window.mertens_output().display


def test_readout_shows_result_mertens_and_fmmef_and_caches_anchors(qtbot, window, fused):
    window.analysis.enabled = True
    wanted = {"result", "mertens", "fmmef"}
    seen: dict[str, float] = {}

    def record(which, score):
        seen[which] = score
        return wanted <= set(seen)

    with qtbot.waitSignal(window.qualityReady, timeout=60000, check_params_cb=record):
        window.analysis.start()
    panel = window.quality_panel
    assert f"{seen['result']:.3f}" in panel.result_label.text()
    assert panel.mertens_label.text().startswith(f"Mertens {seen['mertens']:.3f}")
    assert panel.fmmef_label.text().startswith(f"FMMEF {seen['fmmef']:.3f}")
    best = max(("Mertens", seen["mertens"]), ("FMMEF", seen["fmmef"]), key=lambda t: t[1])
    assert panel.note.text() and (best[0] in panel.note.text() or "The network" in panel.note.text())
    fmmef = window.analysis.anchor_output("fmmef")

    # the same bracket fused again (e.g. another model): the anchors come from the cache, at once
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.request_fusion()
    assert window.analysis.anchor_output("fmmef") is fmmef
    assert not window.analysis.anchor_runners["fmmef"].is_busy() and not window.analysis.anchor_runners["mertens"].is_busy()
    assert panel.fmmef_label.text().startswith(f"FMMEF {seen['fmmef']:.3f}")

    # FMMEF as the method: its row is the result's; Mertens stays, and the verdict compares with it
    with qtbot.waitSignal(window.resultReady, timeout=60000, check_params_cb=lambda r: r.method == "fmmef"):
        window.fusion_panel.set_method("fmmef")
    with qtbot.waitSignal(window.qualityReady, timeout=60000, check_params_cb=lambda w, s: w == "result" and window.result().method == "fmmef"):
        pass
    assert panel.fmmef_label.text() == ""
    assert window.result().image is not fmmef.image and np.array_equal(window.result().image, fmmef.image)

    # another bracket (one exposure off): the cache no longer applies
    uid = window.session.bracket.entries[0].uid
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.fusion_panel.set_method("cnn")
    with qtbot.waitSignal(window.qualityReady, timeout=60000, check_params_cb=lambda w, s: w == "fmmef"):
        window.session.bracket.set_enabled(uid, False)
        window.request_fusion()
    assert window.analysis.anchor_output("fmmef") is not fmmef
    assert len(window.result().frames) == 2


def test_working_size_is_off_for_v2_models(qtbot, window, fused, tmp_path):
    fp = window.fusion_panel
    assert not fp.working.isEnabled()  # the shipped model is v2: its size is fixed in the model
    assert "fixed" in fp.working.toolTip() and "256" in fp.working.toolTip()

    torch.manual_seed(0)
    v1 = tmp_path / "v1.pt"
    torch.save(model_state(FusionNet(NetConfig(widths=(4, 8))).eval(), name="v1"), v1)
    with qtbot.waitSignal(window.resultReady, timeout=60000):
        window.set_model_path(v1)
    assert window.result().model_name and fp.working.isEnabled()
    assert "fixed" not in fp.working.toolTip()
