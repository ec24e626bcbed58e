"""Overlays, the pixel inspector, compare modes and zoom."""

from __future__ import annotations

import numpy as np
import pytest
from guitools import load_and_fuse
from PySide6.QtCore import QPointF

from hdrdesk.core.color import luma
from hdrdesk.core.gamma import DEFAULT_GAMMA_VARIANT, GammaParams, gamma_maps_np


@pytest.fixture
def fused(qtbot, window, small_bracket):
    return load_and_fuse(qtbot, window, small_bracket)


def _overlay(window):
    item = window.viewer.main.overlay
    return item.display() if item.isVisible() else None


def test_overlay_switching(qtbot, window, fused):
    assert _overlay(window) is None
    with qtbot.waitSignal(window.overlayShown, timeout=20000, check_params_cb=lambda k: k == "weights"):
        window.set_overlay("weights", 0)
    first = _overlay(window)
    assert first is not None and (first.width, first.height) == (72, 48)
    assert window.viewer.main.overlay.opacity() == pytest.approx(window.overlay_panel.opacity_value())

    # another exposure: another map
    with qtbot.waitSignal(window.overlayShown, timeout=20000):
        window.step_exposure(1)
    assert window.overlay_panel.exposure_index() == 1
    second = _overlay(window)
    assert second is not first and second.preview != first.preview

    # opacity and colour map
    window.overlay_panel.opacity.setValue(30)
    assert window.viewer.main.overlay.opacity() == pytest.approx(0.3)
    with qtbot.waitSignal(window.overlayShown, timeout=20000):
        window.overlay_panel.colormap.setCurrentText("Magma")
    assert window.overlay_panel.legend.colormap == "Magma"

    # gamma maps, then a live parameter change recomputes them in a worker
    with qtbot.waitSignal(window.overlayShown, timeout=30000, check_params_cb=lambda k: k == "gamma"):
        window.set_overlay("gamma")
    assert window.gamma_output().params.variant == DEFAULT_GAMMA_VARIANT  # the shipped model's objective
    with qtbot.waitSignal(window.overlayShown, timeout=30000):
        window.overlay_panel.variant.setCurrentIndex(window.overlay_panel.variant.findData("gradient"))
    assert window.gamma_output().params.variant == "gradient"
    with qtbot.waitSignal(window.overlayShown, timeout=30000):
        window.overlay_panel.window.setValue(3)  # window 7
    assert window.gamma_output().params.window == 7

    # drawn over its own exposure
    window.overlay_panel.over.setCurrentIndex(window.overlay_panel.over.findData("exposure"))
    assert window.viewer.main.base.display() is window.fusion_output().exposures[1]

    # the shortcut toggles it off and on again
    window.act_overlay.trigger()
    assert window.overlay_panel.kind_value() == "none" and _overlay(window) is None
    assert window.viewer.main.base.display() is window.fusion_output().fused
    with qtbot.waitSignal(window.overlayShown, timeout=30000):
        window.act_overlay.trigger()
    assert window.overlay_panel.kind_value() == "gamma"


def test_inspector_values_match_engine_arrays(qtbot, window, fused):
    with qtbot.waitSignal(window.overlayShown, timeout=30000, check_params_cb=lambda k: k == "gamma"):
        window.set_overlay("gamma", 2)
    view = window.viewer.main
    x, y = 53, 17
    pos = view.mapFromScene(QPointF(x + 0.5, y + 0.5))
    qtbot.mouseMove(view.viewport(), pos)
    qtbot.waitUntil(lambda: window.inspector.values is not None, timeout=5000)
    values = window.inspector.values
    assert (values["x"], values["y"]) == (x, y)

    res = window.result()
    np.testing.assert_array_equal(values["fused"], res.image[y, x])
    params = window.gamma_output().params
    assert params == GammaParams()  # defaults: the shipped model's variant (variance), 11, 1.5, 0.5
    gamma = gamma_maps_np(np.stack([luma(f.rgb_float()) for f in res.frames]), params)
    for k, row in enumerate(values["exposures"]):
        np.testing.assert_array_equal(row["value"], res.frames[k].data[y, x])
        assert row["weight"] == res.weights[k, y, x]
        assert row["gamma"] == pytest.approx(gamma[k, y, x], abs=1e-6)
    assert values["exposures"][2]["highlight"]
    # and the table shows them
    assert window.inspector.table.rowCount() == 3
    assert window.inspector.table.item(1, 2).text() == f"{res.weights[1, y, x]:.3f}"
    assert window.inspector.table.item(1, 3).text() == f"{gamma[1, y, x]:.3f}"


def test_compare_modes_and_zoom(qtbot, window, fused):
    window.set_compare_mode("side")
    assert window.viewer.second.isVisible()
    with qtbot.waitSignal(window.qualityReady, timeout=30000, check_params_cb=lambda w, s: w == "mertens"):
        pass  # the Mertens result is computed on demand for the compare view
    assert window.viewer.second.base.display() is window.mertens_output().display

    # synchronised zoom and pan
    window.viewer.zoom_to(4.0)
    assert window.viewer.scale_factor() == pytest.approx(4.0)
    assert window.viewer.second.transform().m11() == pytest.approx(window.viewer.main.transform().m11())
    window.viewer.main.horizontalScrollBar().setValue(window.viewer.main.horizontalScrollBar().maximum())
    c1 = window.viewer.main.mapToScene(window.viewer.main.viewport().rect().center())
    c2 = window.viewer.second.mapToScene(window.viewer.second.viewport().rect().center())
    assert abs(c1.x() - c2.x()) < 1.0 and abs(c1.y() - c2.y()) < 1.0

    # compare with an exposure
    window.set_compare_target(0)
    assert window.viewer.second.base.display() is window.fusion_output().exposures[0]

    # split: before/after slider
    window.set_compare_mode("split")
    assert not window.viewer.second.isVisible() and window.viewer.split_row.isVisible()
    assert window.viewer.main.split() == pytest.approx(0.5)
    window.viewer.split_slider.setValue(250)
    assert window.viewer.main.split() == pytest.approx(0.25)
    assert window.viewer.main.split_item.display() is window.fusion_output().exposures[0]

    window.set_compare_mode("single")
    window.act_fit.trigger()
    assert window.viewer.main.is_fit()
    window.act_zoom_in.trigger()
    assert not window.viewer.main.is_fit()
    window.act_100.trigger()
    assert window.viewer.scale_factor() == pytest.approx(1.0)
    assert window.zoom_label.text() == "100 %"


def test_view_exposures_with_shortcuts(qtbot, window, fused):
    window.set_view_target(0)
    assert window.viewer.main.base.display() is window.fusion_output().exposures[0]
    window.act_next.trigger()
    assert window.viewer.main.base.display() is window.fusion_output().exposures[1]
    assert window.bracket.get(window.filmstrip.current_uid()).frame.path == window.result().frames[1].path
    window.act_prev.trigger()
    window.act_prev.trigger()
    assert window.viewer.main.base.display() is window.fusion_output().exposures[2]
    window.act_show_result.trigger()
    assert window.viewer.main.base.display() is window.fusion_output().fused


def test_gamma_slider_drag_is_live_at_preview_resolution(qtbot, window, tmp_path):
    """Dragging computes the maps at the drag size (latest wins); releasing refines them."""
    from guitools import write_bracket

    from hdrdesk.gui.jobs import GAMMA_DRAG_SIZE, GAMMA_SETTLED_SIZE

    window.fusion_panel.working.setValue(128)
    load_and_fuse(qtbot, window, write_bracket(tmp_path / "wide", h=300, w=1100))
    with qtbot.waitSignal(window.overlayShown, timeout=30000, check_params_cb=lambda k: k == "gamma"):
        window.set_overlay("gamma", 0)
    slider = window.overlay_panel.window
    slider.setSliderDown(True)
    with qtbot.waitSignal(window.overlayShown, timeout=30000):
        for v in (6, 7, 8):  # three quick moves: only the last one has to land
            slider.setValue(v)
    qtbot.waitUntil(lambda: window.gamma_output().params.window == 17, timeout=30000)
    assert window.gamma_output().long_side == GAMMA_DRAG_SIZE
    slider.setSliderDown(False)  # release: the settled maps follow
    qtbot.waitUntil(lambda: window.gamma_output().long_side == min(1100, GAMMA_SETTLED_SIZE), timeout=30000)
    assert window.gamma_output().params.window == 17
    assert window.gamma_output().maps.shape[1:] == (300 * GAMMA_SETTLED_SIZE // 1100, GAMMA_SETTLED_SIZE)
