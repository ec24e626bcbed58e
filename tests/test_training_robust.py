"""``hdrdesk train`` / ``finetune`` on hostile usage (issue 12, defects 2, 4, 6, 8, 9): one line on
stderr and exit code 2, no run replaced without being asked, nothing left by a failed start,
a log without repeated rows after a kill and resume. Qt-free."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest

from hdrdesk.cli import main
from hdrdesk.errors import HDRDeskError
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.loop import load_checkpoint, train

from synth import expose, make_scene

TINY = ["--set", "crop=48", "--set", "frames_per_batch=4", "--set", "max_exposures=3", "--set", "warmup=1",
        "--set", "log_every=1", "--set", "threads=1", "--init", "scratch"]


def write_bracket(folder: Path, seed: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rad = make_scene(64, 96, seed=seed)
    for i, ev in enumerate((-2.0, 0.0, 2.0)):
        cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture
def data_root(tmp_path) -> Path:
    root = tmp_path / "data"
    for i in range(2):
        write_bracket(root / f"scene{i}", seed=i)
    return root


def tiny_config(data_root: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=[str(data_root)], crop=48, frames_per_batch=4, max_exposures=3, steps=4, lr=1e-3, warmup=1,
                val_every=1000, log_every=1, out=str(out), seed=0, threads=1, val_fraction=0.0)
    base.update(kw)
    return TrainConfig(**base)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(code: int, err: str, *needles: str) -> str:
    """Exactly one error, on a line of its own (split on newlines only: the progress bar uses \\r)."""
    assert code == 2, err
    assert "Traceback" not in err, err
    errors = [l for l in err.split("\n") if "hdrdesk: error:" in l]
    assert len(errors) == 1, err
    assert errors[0].startswith("hdrdesk: error:"), repr(errors[0])  # not glued to the progress bar
    for n in needles:
        assert n in errors[0], (n, errors[0])
    return errors[0]


# ------------------------------------------------------------------ defect 2: existing run folder


def test_train_refuses_an_existing_run_without_resume_or_overwrite(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    train(tiny_config(data_root, out, steps=2))
    before = (out / "last.pt").read_bytes()
    with pytest.raises(HDRDeskError, match="--resume or --overwrite"):
        train(tiny_config(data_root, out, steps=1))
    code, _, err = run(capsys, "train", "--data", data_root, "--out", out, "--steps", "1", *TINY)
    one_error_line(code, err, str(out), "--resume or --overwrite")
    assert (out / "last.pt").read_bytes() == before
    r = train(tiny_config(data_root, out, steps=1), overwrite=True)
    assert r.step == 1 and load_checkpoint(out / "last.pt")["step"] == 1
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1]  # the old run's log went with it


# ------------------------------------------------------------------ defect 6: bad usage


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--set", "foo=1"], ["--set", "foo"]),
        (["--set", "crop"], ["--set crop", "KEY=VALUE"]),
        (["--set", "crop=abc"], ["--set crop=abc", "integer"]),
        (["--set", "lr=[1]"], ["--set lr", "number"]),
        (["--recipe", "missing.json"], ["missing.json", "not found"]),
        (["--steps", "-5"], ["steps", "at least 1"]),
        (["--set", "crop=4"], ["crop"]),
        (["--set", "keep_cell=0"], ["keep_cell", "at least 1"]),
        (["--set", "w_keep_pair=1", "--set", "keep_model=nowhere.pt"], ["keep_model", "nowhere.pt"]),
    ],
)
def test_bad_training_usage_is_one_line(data_root, tmp_path, capsys, args, needles):
    out = tmp_path / "run"
    code, _, err = run(capsys, "train", "--data", data_root, "--out", out, *args)
    one_error_line(code, err, *needles)
    assert not out.exists()


def test_recipe_that_is_not_json_or_has_unknown_keys(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "train", "--recipe", bad, "--out", tmp_path / "run")
    one_error_line(code, err, "bad.json")
    bad.write_text('{"nonsense": 1}')
    code, _, err = run(capsys, "train", "--recipe", bad, "--out", tmp_path / "run")
    one_error_line(code, err, "bad.json", "nonsense")


def test_train_out_that_is_a_file_or_below_a_file(data_root, tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("x")
    code, _, err = run(capsys, "train", "--data", data_root, "--out", f, *TINY)
    one_error_line(code, err, "afile", "not a folder")
    code, _, err = run(capsys, "train", "--data", data_root, "--out", f / "run", *TINY)
    one_error_line(code, err, "afile")
    assert f.read_text() == "x"


def test_export_over_an_existing_file_is_refused_before_training(data_root, tmp_path, capsys):
    precious = tmp_path / "model.pt"
    precious.write_bytes(b"someone's model")
    code, _, err = run(capsys, "train", "--data", data_root, "--out", tmp_path / "run", "--export", precious, "--steps", "1", *TINY)
    one_error_line(code, err, "model.pt", "--overwrite")
    assert precious.read_bytes() == b"someone's model" and not (tmp_path / "run").exists()


def test_training_error_is_not_glued_to_the_progress_bar(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "train", "--data", tmp_path / "empty", "--out", tmp_path / "run", *TINY)
    one_error_line(code, err, "no usable training brackets")


# ------------------------------------------------------------------ defect 9: resume bookkeeping


def test_failed_resume_leaves_no_empty_run_folder(data_root, tmp_path, capsys):
    out = tmp_path / "never"
    code, _, err = run(capsys, "train", "--data", data_root, "--out", out, "--resume", *TINY)
    one_error_line(code, err, "nothing to resume")
    assert not out.exists()


def test_log_has_no_repeated_rows_after_a_kill_and_resume(data_root, tmp_path):
    out = tmp_path / "run"

    def killed_at_step_4(e):
        if e["type"] == "step" and e["step"] == 4:
            raise KeyboardInterrupt  # like SIGKILL: step 3 is in the log, the last checkpoint is step 2's

    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(data_root, out, steps=5, val_every=2), on_event=killed_at_step_4)
    assert [int(r["step"]) for r in csv.DictReader((out / "log.csv").open())] == [1, 2, 3]
    assert load_checkpoint(out / "last.pt")["step"] == 2
    train(tiny_config(data_root, out, steps=5, val_every=2), resume=True)
    steps = [int(r["step"]) for r in csv.DictReader((out / "log.csv").open())]
    assert steps == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------ defect 4 (CLI side): finetune


def test_finetune_with_an_unusable_user_data_folder(data_root, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data folder should go")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "data"))
    code, _, err = run(capsys, "finetune", data_root, "--steps", "1")
    one_error_line(code, err, "user data folder")


def test_log_rows_land_under_their_column_names(tmp_path):
    from hdrdesk.training.loop import append_log

    log = tmp_path / "log.csv"
    append_log(log, {"type": "step", "step": 25, "loss": 0.5, "hinge": 0.01})
    append_log(log, {"step": 25, "val_pair": 0.99, "val_seq": 0.98, "val_mean": 0.985})
    rows = list(csv.DictReader(log.open()))
    assert rows[0]["loss"] == "0.5" and rows[0]["hinge"] == "0.01" and rows[0]["val_mean"] == ""
    assert rows[1]["val_mean"] == "0.985" and rows[1]["val_pair"] == "0.99" and rows[1]["hinge"] == "" and rows[1]["loss"] == ""
    # a run resumed from a log written before the hinge column existed keeps that log's columns
    old = tmp_path / "old.csv"
    old.write_text("step,loss,lr,k,wssim,mefssim,luminance,clipping,logit,val_pair,val_seq,val_mean\n1,0.4,,,,,,,,,,\n")
    append_log(old, {"step": 2, "val_pair": 0.99, "val_seq": 0.98, "val_mean": 0.985})
    rows = list(csv.DictReader(old.open()))
    assert rows[1]["val_mean"] == "0.985" and rows[1]["val_seq"] == "0.98" and None not in rows[1]
