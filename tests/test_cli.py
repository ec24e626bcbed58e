"""``hdrdesk fuse`` / ``batch`` on good and bad input: one-line errors, exit codes, no stray files.

Most cases run ``hdrdesk.cli.main`` in-process (the 2-core CI machine cannot afford a
torch import per case); a few run the real command in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrdesk.cli import main

from synth import expose, make_scene

FAST = ["--working-size", "32"]


def write_rgb(path: Path, rgb: np.ndarray, **params) -> Path:
    arr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb
    assert cv2.imwrite(str(path), arr, [int(k) for kv in params.items() for k in kv] if params else [])
    return path


def bracket(folder: Path, h: int = 48, w: int = 64, ext: str = ".png", evs=(-2.0, 0.0, 2.0)) -> list[Path]:
    rad = make_scene(h, w)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_rgb(folder / f"f{i}{ext}", expose(rad, ev)) for i, ev in enumerate(evs)]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = [l for l in err.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("hdrdesk: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".hdrdesk"))


# ----------------------------------------------------------------- good input


def test_fuse_writes_output_and_reports(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    out = tmp_path / "fused.jpg"
    code, stdout, err = run(capsys, "fuse", *files, "-o", out, *FAST)
    assert code == 0, err
    assert out.is_file() and cv2.imread(str(out)).shape == (48, 64, 3)
    assert "wrote" in stdout and "3 exposures" in stdout
    assert leftovers(tmp_path) == []


def test_fuse_folder_input_and_mertens_and_16_bit_output(tmp_path, capsys):
    bracket(tmp_path / "in")
    out = tmp_path / "fused.tif"
    code, _, err = run(capsys, "fuse", tmp_path / "in", "-o", out, "--method", "mertens", "--bits", "16")
    assert code == 0, err
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_gray_and_rgb_frames_are_converted(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    gray = cv2.imread(str(files[0]), cv2.IMREAD_GRAYSCALE)
    write_rgb(files[0], gray)
    assert cv2.imread(str(files[0]), cv2.IMREAD_UNCHANGED).ndim == 2
    out = tmp_path / "o.png"
    code, _, err = run(capsys, "fuse", *files, "-o", out, *FAST)
    assert code == 0, err
    assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape == (48, 64, 3)


def test_16_bit_frame_mixed_with_8_bit_is_converted(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    img8 = cv2.imread(str(files[2]), cv2.IMREAD_UNCHANGED)
    write_rgb(files[2], cv2.cvtColor(img8, cv2.COLOR_BGR2RGB).astype(np.uint16) * 257)
    out = tmp_path / "o.png"
    code, _, err = run(capsys, "fuse", *files, "-o", out, *FAST)
    assert code == 0, err
    assert cv2.imread(str(out)).shape == (48, 64, 3)


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (3, 40)])
def test_tiny_images_fuse(tmp_path, capsys, size):
    """1x1 and images smaller than the network's pooling grid (it pads)."""
    h, w = size
    files = bracket(tmp_path / "in", h=h, w=w)
    out = tmp_path / "o.png"
    code, _, err = run(capsys, "fuse", *files, "-o", out)
    assert code == 0, err
    img = cv2.imread(str(out))
    assert img.shape == (h, w, 3)


def test_existing_output_needs_overwrite(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    out = tmp_path / "o.png"
    out.write_bytes(b"precious")
    code, _, err = run(capsys, "fuse", *files, "-o", out, *FAST)
    assert_one_line_error(code, err, str(out), "exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    code, _, err = run(capsys, "fuse", *files, "-o", out, *FAST, "--overwrite")
    assert code == 0, err
    assert out.read_bytes() != b"precious"
    assert leftovers(tmp_path) == []


# ----------------------------------------------------------------- bad input


def _expect_failure(tmp_path, capsys, argv, *needles, out: Path | None = None) -> str:
    before = set(p for p in tmp_path.rglob("*"))
    code, stdout, err = run(capsys, *argv)
    line = assert_one_line_error(code, err, *needles)
    if out is not None:
        assert not out.exists()
    after = set(p for p in tmp_path.rglob("*"))
    assert after == before, sorted(map(str, after - before))  # no output, no temp files
    return line


def test_non_image_file(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    bad = tmp_path / "in" / "notes.txt"
    bad.write_text("not an image")
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", files[0], bad, "-o", out], "notes.txt", "not a readable image", out=out)
    fake = tmp_path / "in" / "fake.jpg"
    fake.write_bytes(b"\x00\x01garbage" * 10)
    _expect_failure(tmp_path, capsys, ["fuse", files[0], fake, "-o", out], "fake.jpg", "not a readable image", out=out)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_truncated_file(tmp_path, capsys, ext):
    files = bracket(tmp_path / "in", h=96, w=128, ext=ext)
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.jpg"
    line = _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", out], files[1].name, out=out)
    assert "truncated" in line


def test_one_image_only(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", files[0], "-o", out], files[0].name, "at least two exposures", out=out)


def test_frames_of_different_sizes(tmp_path, capsys):
    a = bracket(tmp_path / "a", h=48, w=64)
    b = bracket(tmp_path / "b", h=40, w=64)
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", a[0], b[1], "-o", out], b[1].name, "64x40", "64x48", out=out)


def test_folder_without_images(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", files[0], empty, "-o", out], "empty", "holds no", out=out)


def test_missing_input(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", files[0], tmp_path / "nope.jpg", "-o", out], "nope.jpg", "no such file", out=out)


def test_unwritable_output(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    # a folder nobody can create files in, even root: procfs
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", "/proc/hdrdesk-out.png", *FAST], "/proc/hdrdesk-out.png", "not writable")
    missing = tmp_path / "no" / "such" / "dir" / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", missing, *FAST], str(missing), "does not exist")
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", tmp_path / "o.bmp", *FAST], "o.bmp", "unknown output format")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_output_folder(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", ro / "o.png"], "not writable")
    finally:
        ro.chmod(0o755)


def test_output_equal_to_an_input(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    before = files[1].read_bytes()
    same = tmp_path / "in" / "." / files[1].name
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", same, "--overwrite"], "one of the inputs")
    assert files[1].read_bytes() == before


def test_bad_model_file(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a model")
    out = tmp_path / "o.png"
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", out, "--model", bad, *FAST], "model.pt", out=out)
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", out, "--model", tmp_path / "none.pt"], "none.pt", "not found", out=out)


def test_bad_quality(tmp_path, capsys):
    files = bracket(tmp_path / "in")
    _expect_failure(tmp_path, capsys, ["fuse", *files, "-o", tmp_path / "o.jpg", "--quality", "0"], "--quality")


# ----------------------------------------------------------------- the real command


def _hdrdesk(*args, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "hdrdesk", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_subprocess_error_is_one_line_exit_2(tmp_path):
    files = bracket(tmp_path / "in")
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 3])
    out = tmp_path / "o.png"
    r = _hdrdesk("fuse", *files, "-o", out)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("hdrdesk: error:"), r.stderr
    assert "Traceback" not in r.stderr and files[0].name in r.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_subprocess_fuse_does_not_import_qt_or_kornia(tmp_path):
    files = bracket(tmp_path / "in")
    out = tmp_path / "o.jpg"
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['hdrdesk', 'fuse', *sys.argv[1:]]\n"
        "from hdrdesk.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'kornia', 'pyqtgraph', 'hdrdesk.gui'))\n"
        "print('IMPORTED', bad)\n"
        "sys.exit(code)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe, *map(str, files), "-o", str(out), "--working-size", "32"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "IMPORTED []" in r.stdout, r.stdout
    assert out.is_file()


# ----------------------------------------------------------------- batch


def test_batch_fuses_every_folder_and_reports_failures(tmp_path, capsys):
    root = tmp_path / "shoots"
    bracket(root / "beach")
    bracket(root / "cave", ext=".jpg")
    bad = root / "broken"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(b"nope")
    (bad / "b.jpg").write_bytes(b"nope")
    (root / "notes").mkdir()  # no images: not a bracket
    outdir = tmp_path / "out"
    code, stdout, err = run(capsys, "batch", root, "-o", outdir, *FAST, "--format", "png")
    assert code == 1
    assert sorted(p.name for p in outdir.iterdir()) == ["beach.png", "cave.png"]
    failures = [l for l in err.splitlines() if "failed:" in l]
    assert len(failures) == 1 and "broken" in failures[0] and "a.jpg" in failures[0]
    assert "Traceback" not in err
    assert "fused 2 of 3" in stdout

    # again: existing outputs are not overwritten without --overwrite
    (bad / "a.jpg").unlink()
    (bad / "b.jpg").unlink()
    bad.rmdir()
    stamp = (outdir / "beach.png").stat().st_mtime_ns
    code, stdout, err = run(capsys, "batch", root, "-o", outdir, *FAST, "--format", "png")
    assert code == 1 and "exists" in err
    assert (outdir / "beach.png").stat().st_mtime_ns == stamp
    code, stdout, err = run(capsys, "batch", root, "-o", outdir, *FAST, "--format", "png", "--overwrite")
    assert code == 0, err
    assert leftovers(outdir) == []


def test_batch_single_bracket_folder_and_output_inside_input(tmp_path, capsys):
    root = tmp_path / "one"
    bracket(root)
    code, _, err = run(capsys, "batch", root, "-o", root / "fused", *FAST)
    assert code == 0, err
    assert (root / "fused" / "one.jpg").is_file()
    # the output folder (now holding an image) is not taken for a bracket on the next run
    code, _, err = run(capsys, "batch", root, "-o", root / "fused", *FAST, "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in (root / "fused").iterdir()) == ["one.jpg"]


def test_batch_bad_folder_is_an_error(tmp_path, capsys):
    code, _, err = run(capsys, "batch", tmp_path / "missing", "-o", tmp_path / "out")
    assert_one_line_error(code, err, "missing", "not a folder")
