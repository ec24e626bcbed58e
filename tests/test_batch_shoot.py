"""``hdrdesk batch`` on a flat folder of camera files, and the queue runner under it (hdrdesk.shoot.queue)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from PIL import Image

from hdrdesk.batch import plan_batch
from hdrdesk.cli import main
from hdrdesk.core.fusion import FusionOptions
from hdrdesk.shoot.queue import OutputSettings, run_queue
from hdrdesk.tasks import TaskState
from shoot_synth import T0, camera_exif, write_bracket, write_jpeg

FAST = ["--working-size", "32"]
SIZE = (48, 32)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def shoot(folder: Path, brackets: int = 3, single: bool = True) -> list[list[Path]]:
    """A flat card: ``brackets`` AEB brackets (0, -2, +2) a minute apart, then a single."""
    out = []
    for b in range(brackets):
        out.append(write_bracket(folder, 1 + 3 * b, T0 + timedelta(seconds=60 * b), seed=b, size=SIZE))
    if single:
        n = 1 + 3 * brackets
        write_jpeg(folder / f"IMG_{n:04d}.JPG", 0.0, camera_exif(T0 + timedelta(seconds=600), bias=0.0, exposure_time=1 / 60), size=SIZE)
    return out


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


def complete_jpeg(path: Path) -> bool:
    return path.is_file() and cv2.imread(str(path)) is not None and path.read_bytes().rstrip(b"\x00").endswith(b"\xff\xd9")


def test_flat_folder_is_grouped_and_fused(tmp_path, capsys):
    card = tmp_path / "card"
    brackets = shoot(card)
    out = tmp_path / "fused"
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [f"{b[0].stem}_hdr.jpg" for b in brackets] == ["IMG_0001_hdr.jpg", "IMG_0004_hdr.jpg", "IMG_0007_hdr.jpg"]
    assert "fused 3 of 3 brackets" in stdout and "1 single not fused" in stdout
    assert err.count("wrote") == 3 and "[3/3]" in err
    with Image.open(out / "IMG_0004_hdr.jpg") as im:
        assert im.size == SIZE
        assert im.getexif().get(0x0131) == "HDRDesk"
    assert leftovers(out) == []


def test_dry_run_lists_brackets_and_writes_nothing(tmp_path, capsys):
    card = tmp_path / "card"
    shoot(card, brackets=2)
    (card / "IMG_0100.CR3").write_bytes(b"\x00" * 64)  # a RAW without JPEG: listed as ignored
    out = tmp_path / "fused"
    code, stdout, err = run(capsys, "batch", card, "-o", out, "--dry-run")
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith(f"# {card}: 2 brackets (6 frames), 1 single, 1 ignored; grouped in ")
    assert lines[1] == (
        "IMG_0001_hdr.jpg  <- 3 frames, 2026-05-01 10:00:00, Canon EOS R5: "
        "IMG_0001.JPG +0.0 EV, IMG_0002.JPG -2.0 EV, IMG_0003.JPG +2.0 EV"
    )
    assert lines[2].startswith("IMG_0004_hdr.jpg  <- 3 frames, 2026-05-01 10:01:00, ")
    assert lines[3].startswith("single  IMG_0007.JPG  2026-05-01 10:10:00")
    assert lines[4].startswith("ignored IMG_0100.CR3: RAW")
    assert not out.exists()


def test_dry_run_does_not_import_torch(tmp_path):
    card = tmp_path / "card"
    shoot(card, brackets=1, single=False)
    code = (
        "import sys\nfrom hdrdesk.cli import main\n"
        f"rc = main(['batch', {str(card)!r}, '-o', {str(tmp_path / 'o')!r}, '--group', 'auto', '--dry-run'])\n"
        "print('TORCH', 'torch' in sys.modules, rc)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "TORCH False 0" in r.stdout, r.stdout + r.stderr
    assert "IMG_0001_hdr.jpg  <- 3 frames" in r.stdout


def test_restart_after_an_interrupted_run_skips_written_brackets(tmp_path, capsys):
    card = tmp_path / "card"
    shoot(card)
    out = tmp_path / "fused"
    out.mkdir()
    plan = plan_batch(card, out, None, ".jpg")
    assert plan.mode == "auto" and len(plan.jobs) == 3
    task = TaskState()

    def on_event(ev):
        if ev.kind == "fused":
            task.cancel()  # like Ctrl-C right after the first file was written

    summary = run_queue(plan.jobs, FusionOptions(working_size=32, keep_weights=False), OutputSettings(skip_existing=True), task, on_event, prefetch=1)
    # the first bracket, and the second if it was already fused and waiting for its write
    k = len(summary.fused)
    assert summary.cancelled and k in (1, 2) and summary.not_done == 3 - k and summary.failed == []
    written = sorted(p.name for p in out.iterdir())
    assert written == [j.output.name for j in summary.fused] and written[0] == "IMG_0001_hdr.jpg"
    assert all(complete_jpeg(out / name) for name in written)
    stamp = (out / "IMG_0001_hdr.jpg").stat().st_mtime_ns
    # started again: the written brackets are skipped, not failures, not redone
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress")
    assert code == 0, err
    assert f"fused {3 - k} of 3 brackets" in stdout and f"{k} skipped (output exists)" in stdout
    assert "skipped IMG_0001.JPG" in err
    assert (out / "IMG_0001_hdr.jpg").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001_hdr.jpg", "IMG_0004_hdr.jpg", "IMG_0007_hdr.jpg"]
    # without skipping, an existing output is a failure; --overwrite replaces it
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress", "--no-skip-existing")
    assert code == 1 and err.count("exists (use --overwrite") == 3
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress", "--overwrite")
    assert code == 0 and "fused 3 of 3" in stdout
    assert (out / "IMG_0001_hdr.jpg").stat().st_mtime_ns != stamp


@pytest.mark.parametrize("prefetch", [0, 1])
def test_cancel_mid_bracket_leaves_nothing_half_written(tmp_path, prefetch):
    card = tmp_path / "card"
    shoot(card)
    out = tmp_path / "fused"
    out.mkdir()
    plan = plan_batch(card, out, "auto", ".jpg")
    task = TaskState()
    seen = []

    def on_event(ev):
        seen.append((ev.kind, ev.index, round(ev.bracket_fraction, 3), round(ev.overall_fraction, 3)))
        if ev.index == 1 and ev.kind == "progress" and ev.message != "loading" and ev.bracket_fraction > 0.5:
            task.cancel()  # in the middle of the second bracket's fusion

    summary = run_queue(plan.jobs, FusionOptions(working_size=32, keep_weights=False), OutputSettings(), task, on_event, prefetch=prefetch)
    assert summary.cancelled
    assert [j.name for j in summary.fused] == ["IMG_0001.JPG"] and summary.failed == []
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001_hdr.jpg"]  # no temp file, no partial second output
    assert complete_jpeg(out / "IMG_0001_hdr.jpg")
    # progress: per bracket from 0 to 1; overall never going back, at least 1/3 once the first is written
    first = [e for e in seen if e[1] == 0]
    assert first[0][:3] == ("start", 0, 0.0) and first[-1][:3] == ("fused", 0, 1.0) and first[-1][3] >= 1 / 3 - 1e-3
    fractions = [e[2] for e in first]
    assert fractions == sorted(fractions)
    overall = [e[3] for e in seen]
    assert overall == sorted(overall)


def test_a_failing_bracket_does_not_stop_the_queue(tmp_path, capsys):
    card = tmp_path / "card"
    brackets = shoot(card, single=False)
    data = brackets[1][1].read_bytes()
    brackets[1][1].write_bytes(data[: len(data) - 40])  # truncated (its header still reads: it is grouped)
    out = tmp_path / "fused"
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress", "--method", "mertens")
    assert code == 1
    failed = [l for l in err.splitlines() if "failed:" in l]
    assert len(failed) == 1 and failed[0].startswith("hdrdesk: failed: IMG_0004.JPG: ") and "IMG_0005.JPG" in failed[0] and "truncated" in failed[0]
    assert "fused 2 of 3 brackets" in stdout and "1 failed: IMG_0004.JPG" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001_hdr.jpg", "IMG_0007_hdr.jpg"]


def test_name_pattern_and_outputs_next_to_the_inputs(tmp_path, capsys):
    card = tmp_path / "card"
    shoot(card, brackets=2)
    code, stdout, err = run(capsys, "batch", card, "-o", card, *FAST, "--no-progress", "--name-pattern", "{index:03d}_{first}-{last}_{frames}f", "--format", "png")
    assert code == 0, err
    assert sorted(p.name for p in card.glob("0*.png")) == ["001_IMG_0001-IMG_0003_3f.png", "002_IMG_0004-IMG_0006_3f.png"]
    # run again in the same folder: the results are recognised as ours (EXIF Software), not taken for frames
    code, stdout, err = run(capsys, "batch", card, "-o", card, *FAST, "--no-progress", "--name-pattern", "{index:03d}_{first}-{last}_{frames}f", "--format", "png")
    assert code == 0, err
    assert "fused 0 of 2" in stdout and "2 skipped" in stdout


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--name-pattern", "{nope}"], "--name-pattern"),
        (["--name-pattern", "a/{first}"], "not a file name"),
        (["--max-gap", "0"], "--max-gap"),
        (["--group", "auto", "--name-pattern", "{first}", "-o", "SAME", "--format", "jpg"], "output path is one of the inputs"),
    ],
)
def test_bad_usage_is_one_line_exit_2(tmp_path, capsys, extra, needle):
    card = tmp_path / "card"
    for p in shoot(card, brackets=1, single=False)[0]:
        p.rename(p.with_suffix(".jpg"))
    argv = ["batch", card, "-o", tmp_path / "out", *extra]
    argv = [card if a == "SAME" else a for a in argv]
    code, stdout, err = run(capsys, *argv)
    assert code == 2
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("hdrdesk: error:") and needle in lines[0], err
    assert not (tmp_path / "out").exists()


def test_group_modes(tmp_path, capsys):
    root = tmp_path / "shoots"
    shoot(root / "kitchen", brackets=1, single=False)
    shoot(root / "hall", brackets=2, single=False)
    # a folder of bracket folders: folders by default, one output per folder
    plan = plan_batch(root, tmp_path / "o", None, ".jpg")
    assert plan.mode == "folders" and [j.output.name for j in plan.jobs] == ["hall.jpg", "kitchen.jpg"]
    named = plan_batch(root, tmp_path / "o", None, ".png", "{index}_{first}-{last}_{frames}")
    assert [j.output.name for j in named.jobs] == ["1_IMG_0001-IMG_0006_6.png", "2_IMG_0001-IMG_0003_3.png"]
    # auto on it: no images directly inside
    code, _, err = run(capsys, "batch", root, "-o", tmp_path / "o", "--group", "auto")
    assert code == 2 and "--group folders" in err
    # auto on the flat folder 'hall' (two brackets), folders forced on it: one bracket of six frames
    assert [j.output.name for j in plan_batch(root / "hall", tmp_path / "o", None, ".jpg").jobs] == ["IMG_0001_hdr.jpg", "IMG_0004_hdr.jpg"]
    forced = plan_batch(root / "hall", tmp_path / "o", "folders", ".jpg")
    assert forced.mode == "folders" and [j.output.name for j in forced.jobs] == ["hall.jpg"]
    # a folder that is one bracket keeps its old name
    assert [j.output.name for j in plan_batch(root / "kitchen", tmp_path / "o", None, ".jpg").jobs] == ["kitchen.jpg"]
    # two cameras at once, and a pattern without a per-bracket field: the names are made unique, in time order
    cams = tmp_path / "two"
    write_bracket(cams, 1, T0, size=SIZE)
    write_bracket(cams, 1, T0 + timedelta(seconds=0.1), size=SIZE, prefix="_MG_", model="Canon EOS R6")
    jobs = plan_batch(cams, tmp_path / "o", "auto", ".jpg", "{folder}").jobs
    assert [(j.name, j.output.name) for j in jobs] == [("IMG_0001.JPG", "two.jpg"), ("_MG_0001.JPG", "two_2.jpg")]


def test_frames_too_far_apart_are_singles_with_a_hint(tmp_path, capsys):
    """Brackets shot by hand, 10 s between frames: singles by default, one bracket with a longer --max-gap."""
    card = tmp_path / "slow"
    write_bracket(card, 1, T0, step_s=10.0, size=SIZE)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress")
    assert code == 0 and "fused 0 of 0 brackets" in stdout and "3 singles not fused" in stdout
    assert "--group folders or a longer --max-gap" in err
    code, stdout, err = run(capsys, "batch", card, "-o", out, *FAST, "--no-progress", "--max-gap", "15")
    assert code == 0 and "fused 1 of 1" in stdout, err
    assert [p.name for p in out.iterdir()] == ["slow.jpg"]  # the folder is one bracket: named after it


def test_pause_holds_the_queue_at_the_next_safe_point(tmp_path):
    """Paused after the first bracket, the queue waits in TaskState.check before starting the next one."""
    card = tmp_path / "card"
    shoot(card, brackets=2, single=False)
    out = tmp_path / "fused"
    out.mkdir()
    events = []

    class Recording(TaskState):
        waited_after: int | None = None

        def check(self) -> None:
            if self.paused and self.waited_after is None:
                self.waited_after = len(events)  # the queue is at a safe point, paused: let it go on
                self.resume()
            super().check()

    task = Recording()

    def on_event(ev):
        events.append((ev.kind, ev.index))
        if ev.kind == "fused" and ev.index == 0:
            task.pause()

    summary = run_queue(plan_batch(card, out, "auto", ".jpg").jobs, FusionOptions(working_size=32, method="mertens"), OutputSettings(), task, on_event)
    assert task.waited_after is not None and events[task.waited_after - 1] == ("fused", 0)
    assert events[task.waited_after] == ("start", 1)  # nothing of bracket 2 happened while paused
    assert len(summary.fused) == 2 and not summary.cancelled
