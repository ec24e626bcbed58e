"""hdrdesk.export: one naming scheme and one set of rules for the CLI's --save-weights/--save-gamma and the app's Export.

The CLI cases are the data-loss defects of the hostile test (issue 12, defect 1): a map must never replace an
input, the output or an earlier map, two inputs with the same name get two maps, and a failed run leaves nothing.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrdesk.cli import main
from hdrdesk.errors import OutputError
from hdrdesk.export import ExportOptions, check_targets, export_result, gamma_map_name, map_targets, weight_map_name
from synth import expose, make_scene

FAST = ["--working-size", "32"]


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _pair(a: Path, b: Path) -> tuple[Path, Path]:
    rad = make_scene(40, 56)
    return _write(a, expose(rad, -2.0)), _write(b, expose(rad, 2.0))


def _run(capsys, *argv) -> tuple[int, str]:
    code = main([str(x) for x in argv])
    _out, err = capsys.readouterr()
    return code, err


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_names_are_numbered_by_exposure_and_carry_the_output_stem():
    assert weight_map_name(Path("o/fused.jpg"), 0, Path("x/a.png")) == "fused_weight_1_a.png"
    assert gamma_map_name(Path("fused.tif"), 2, Path("b.tif"), "variance") == "fused_gamma-variance_3_b.png"
    opts = ExportOptions(Path("out/f.png"), weights=True, gamma=True, weights_dir=Path("w"))
    from hdrdesk.core.gamma import GammaParams

    opts.gamma_params = GammaParams("gradient")
    weights, gammas = map_targets(opts, [Path("x/a.png"), Path("y/a.png")])
    assert weights == [Path("w/f_weight_1_a.png"), Path("w/f_weight_2_a.png")]
    assert gammas == [Path("out/f_gamma-gradient_1_a.png"), Path("out/f_gamma-gradient_2_a.png")]


def test_check_targets_refuses_inputs_repeats_and_existing_files(tmp_path):
    a = _write(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    out = tmp_path / "o.png"
    with pytest.raises(OutputError, match="one of the inputs"):
        check_targets([out, a], [a], overwrite=True)  # never, even with overwrite
    with pytest.raises(OutputError, match="two outputs"):
        check_targets([out, tmp_path / "m.png", tmp_path / "m.png"], [a])
    (tmp_path / "m.png").write_bytes(b"x")
    with pytest.raises(OutputError, match="exists"):
        check_targets([out, tmp_path / "m.png"], [a])
    check_targets([out, tmp_path / "m.png"], [a], overwrite=True)


def test_fuse_never_replaces_an_input_with_a_weight_map(tmp_path, capsys):
    # the hostile test: an input called weight_a.png beside a.png, maps into the same folder
    wt = tmp_path / "wt"
    a, b = _pair(wt / "a.png", wt / "weight_a.png")
    before = _files(wt)
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "out.png", "--save-weights", wt, *FAST)
    assert code == 0, err
    after = _files(wt)
    assert {k: after[k] for k in before} == before  # both inputs untouched
    assert sorted(set(after) - set(before)) == ["out_weight_1_a.png", "out_weight_2_weight_a.png"]


def test_fuse_output_is_not_replaced_by_a_map_and_earlier_maps_are_kept(tmp_path, capsys):
    wt = tmp_path / "wt2"
    a, b = _pair(wt / "a.png", wt / "b.png")
    out = wt / "weight_a.png"
    code, err = _run(capsys, "fuse", a, b, "-o", out, "--save-weights", wt, *FAST)
    assert code == 0, err
    fused = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert fused.ndim == 3 and fused.dtype == np.uint8  # the fused picture, not a 16-bit gray map
    maps = _files(wt)
    # the output elsewhere, but its maps would replace the earlier run's: refused, one line, nothing changed
    (wt / "weight_a.png").rename(tmp_path / "moved.png")
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "weight_a.png", "--save-weights", wt, *FAST)
    assert code == 2 and "exists" in err and "weight_a_weight_1_a.png" in err, err
    assert not (tmp_path / "weight_a.png").exists()
    assert {k: v for k, v in _files(wt).items()} == {k: v for k, v in maps.items() if k != "weight_a.png"}
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "weight_a.png", "--save-weights", wt, *FAST, "--overwrite")
    assert code == 0, err


def test_fuse_two_inputs_with_the_same_name_get_two_maps(tmp_path, capsys):
    a, b = _pair(tmp_path / "x" / "a.png", tmp_path / "y" / "a.png")
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "o.png", "--save-weights", tmp_path / "maps", *FAST)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert names == ["o_weight_1_a.png", "o_weight_2_a.png"]
    w = [cv2.imread(str(tmp_path / "maps" / n), cv2.IMREAD_UNCHANGED).astype(np.float64) / 65535 for n in names]
    assert w[0].dtype == np.float64 and np.allclose(w[0] + w[1], 1.0, atol=2e-3)


def test_fuse_save_gamma_writes_the_default_variant(tmp_path, capsys):
    a, b = _pair(tmp_path / "a.png", tmp_path / "b.png")
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "o.png", "--save-gamma", tmp_path / "g", *FAST)
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert names == ["o_gamma-variance_1_a.png", "o_gamma-variance_2_b.png"]
    code, err = _run(capsys, "fuse", a, b, "-o", tmp_path / "o2.png", "--save-gamma", tmp_path / "g", "--gamma", "gradient", *FAST)
    assert code == 0 and (tmp_path / "g" / "o2_gamma-gradient_1_a.png").is_file()


@pytest.mark.parametrize("where", ["below_a_file", "proc"])
def test_fuse_unusable_map_folder_writes_nothing(tmp_path, capsys, where):
    a, b = _pair(tmp_path / "a.png", tmp_path / "b.png")
    (tmp_path / "afile").write_text("x")
    folder = tmp_path / "afile" / "sub" if where == "below_a_file" else Path("/proc/hdrdesk-no-such/dir")
    out = tmp_path / "o.png"
    code, err = _run(capsys, "fuse", a, b, "-o", out, "--save-weights", folder, *FAST)
    assert code == 2 and "--save-weights" in err and "Traceback" not in err
    assert not out.exists()


def test_export_result_removes_what_it_wrote_when_a_map_fails(tmp_path, monkeypatch):
    from hdrdesk.core.fusion import FusionOptions, fuse_frames
    from hdrdesk.core.io import load_bracket

    a, b = _pair(tmp_path / "in" / "a.png", tmp_path / "in" / "b.png")
    res = fuse_frames(load_bracket([a, b]), FusionOptions(working_size=32, align=False, keep_weights=True))
    out = tmp_path / "out" / "f.png"
    out.parent.mkdir()
    import hdrdesk.export as export

    real = export.write_image
    calls = []

    def failing(path, *args, **kw):
        calls.append(path)
        if len(calls) == 3:
            raise OutputError(f"{path}: disk full")
        return real(path, *args, **kw)

    monkeypatch.setattr(export, "write_image", failing)
    with pytest.raises(OutputError, match="disk full"):
        export_result(res, ExportOptions(out, weights=True), inputs=[a, b])
    assert list(out.parent.iterdir()) == []
    monkeypatch.setattr(export, "write_image", real)
    written = export_result(res, ExportOptions(out, weights=True), inputs=[a, b])
    assert [p.name for p in written] == ["f.png", "f_weight_1_a.png", "f_weight_2_b.png"]
