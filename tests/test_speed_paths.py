"""Faster paths give what the plain ones gave."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdrdesk.core import fusion


def _plain_working_luma(images, working_size):
    """The whole-frame version: float copy, grey, area resize."""
    h, w = images[0].shape[:2]
    wh, ww = fusion.working_shape(h, w, working_size)
    out = []
    for img in images:
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(img.dtype, 1.0)
        rgb = img.astype(np.float32) / np.float32(scale)
        y = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        out.append(y if (wh, ww) == (h, w) else cv2.resize(y, (ww, wh), interpolation=cv2.INTER_AREA))
    return np.stack(out)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(301, 457, 3), (120, 80), (50, 70, 3)])
def test_working_luma_in_strips_equals_whole_frame_conversion(dtype, shape, monkeypatch):
    monkeypatch.setattr(fusion, "STRIP_PIXELS", 457 * 7)  # many strips, a ragged last one
    rng = np.random.default_rng(0)
    top = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1.0)
    images = [(rng.random(shape) * top).astype(dtype) for _ in range(3)]
    got = fusion.spd_working_luma(images, 64)
    want = _plain_working_luma(images, 64)
    assert got.shape == want.shape == (3, *fusion.working_shape(shape[0], shape[1], 64))
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_bracket_decodes_in_parallel_and_reports_the_first_bad_file_in_order(bracket_files, tmp_path):
    import threading

    from hdrdesk.core import io
    from hdrdesk.errors import InputError

    frames = io.load_bracket(bracket_files)
    assert len(frames) == 3
    threads = set()
    real = io.read_frame

    def spy(path, *a, **k):
        threads.add(threading.current_thread().name)
        return real(path, *a, **k)

    io.read_frame, saved = spy, io.read_frame
    try:
        again = io.load_bracket(bracket_files)
    finally:
        io.read_frame = saved
    assert all(n.startswith("hdrdesk-decode") for n in threads)
    for a, b in zip(frames, again):
        assert a.path == b.path and np.array_equal(a.data, b.data)
    bad = [tmp_path / "a_bad.png", tmp_path / "b_bad.png"]
    for p in bad:
        p.write_bytes(b"not a png")
    with pytest.raises(InputError, match="a_bad.png"):
        io.load_bracket([*bad, *bracket_files])


@pytest.mark.parametrize("argv, applied", [([], True), (["some.jpg"], True), (["fuse", "a.jpg", "-o", "o.jpg"], True), (["batch", "d", "-o", "out"], True), (["train", "--steps", "1"], False)])
def test_the_app_and_the_fusing_commands_start_with_the_runtime_defaults(argv, applied, monkeypatch):
    """The app fuses too (its preview): malloc tuning and the thread settings apply to it as to `fuse`."""
    from hdrdesk import cli

    calls = []
    monkeypatch.setattr(cli, "apply_runtime_defaults", lambda: calls.append(True))
    monkeypatch.setattr(cli, "_dispatch", lambda args: 0)
    monkeypatch.setattr("hdrdesk.core.atomic.install_signal_cleanup", lambda: None)
    assert cli.main(list(argv)) == 0
    assert calls == ([True] if applied else [])


def test_downscale_halves_by_pyramid_then_area_and_keeps_the_mean():
    from hdrdesk.gui.imaging import downscale

    rng = np.random.default_rng(1)
    img = (rng.random((1200, 1800, 3)) * 255).astype(np.uint8)
    small = downscale(img, 256)
    assert small.shape == (171, 256, 3) and small.dtype == np.uint8
    ref = cv2.resize(img, (256, 171), interpolation=cv2.INTER_AREA)
    assert abs(float(small.mean()) - float(ref.mean())) < 0.5
    flat = np.full((1000, 700), 0.25, np.float32)
    assert np.allclose(downscale(flat, 100), 0.25) and downscale(flat, 2000) is flat


def test_warm_up_runs_the_network_once_on_a_blank_bracket(monkeypatch):
    from hdrdesk.core import fusion as fu

    calls = []
    monkeypatch.setattr(fu, "predict_spd_logits", lambda model, luma, device=None: calls.append(luma.shape))
    model, _, _ = fu.get_model(None)
    fu.warm_up(model)
    assert calls == [(3, 256, 384)]
