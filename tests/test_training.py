"""Training module on tiny synthetic brackets (no Qt): data, faults, checkpoints, resume, DDP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from synth import expose, make_scene
from hdrdesk.core.model import load_model
from hdrdesk.errors import Cancelled, InputError, ModelError
from hdrdesk.tasks import TaskState
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.data import DataReport, discover_scenes, load_scenes
from hdrdesk.training.loop import TrainingError, load_checkpoint, save_checkpoint, train


def write_bracket(folder: Path, seed: int, evs=(-2.0, 0.0, 2.0), size=(64, 96)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rad = make_scene(*size, seed=seed)
    for i, ev in enumerate(evs):
        cv2.imwrite(str(folder / f"{i:02d}.png"), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
    return folder


@pytest.fixture
def data_root(tmp_path) -> Path:
    root = tmp_path / "data"
    for i in range(3):
        write_bracket(root / f"scene{i}", seed=i)
    return root


def tiny_config(data_root: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=[str(data_root)], crop=48, frames_per_batch=4, max_exposures=3, steps=4, lr=1e-3, warmup=1,
                val_every=1000, log_every=1, out=str(out), seed=0, threads=1, val_fraction=0.0)
    base.update(kw)
    return TrainConfig(**base)


def test_empty_data_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no usable training brackets"):
        train(tiny_config(tmp_path / "empty", tmp_path / "out"))


def test_bad_scenes_are_skipped_with_a_report(data_root):
    (data_root / "scene0" / "03.png").write_bytes(b"not an image")  # unreadable file mixed in
    single = data_root / "single"
    single.mkdir()
    cv2.imwrite(str(single / "00.png"), np.zeros((64, 64, 3), np.uint8))
    write_bracket(data_root / "mixed_sizes", seed=5)
    cv2.imwrite(str(data_root / "mixed_sizes" / "01.png"), np.zeros((40, 40, 3), np.uint8))
    report = DataReport()
    scenes = load_scenes(discover_scenes([data_root], report=report), 512, report)
    names = {s.name for s in scenes}
    assert names == {"scene0", "scene1", "scene2"}
    text = report.summary()
    assert "single" in text and "mixed_sizes" in text and "03.png" in text


def test_short_run_writes_checkpoints_and_log(data_root, tmp_path):
    events = []
    result = train(tiny_config(data_root, tmp_path / "run"), on_event=events.append)
    assert result.step == 4
    ck = load_checkpoint(result.last_path)
    assert ck["step"] == 4 and "optimizer" in ck and ck["config"]["crop"] == 48
    model, card = load_model(result.last_path)
    assert card["step"] == 4
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") >= 4
    assert [e["step"] for e in events if e["type"] == "step"] == [1, 2, 3, 4]


def test_every_gamma_variant_trains(data_root, tmp_path):
    for variant in ("variance", "gradient", "exposedness", "hybrid"):
        r = train(tiny_config(data_root, tmp_path / variant, steps=1, gamma=variant, w_mefssim=0.0))
        assert r.step == 1


def test_cancel_then_resume_continues_exactly(data_root, tmp_path):
    straight = train(tiny_config(data_root, tmp_path / "a"))
    task = TaskState()

    def cancel_after_two(e):
        if e["type"] == "step" and e["step"] == 2:
            task.cancel()

    first = train(tiny_config(data_root, tmp_path / "b"), task=task, on_event=cancel_after_two)
    assert first.cancelled and first.step == 2
    assert load_checkpoint(first.last_path)["step"] == 2  # the cancelled run's checkpoint loads
    resumed = train(tiny_config(data_root, tmp_path / "b"), resume=True)
    assert resumed.step == 4
    a = straight.model.state_dict()
    b = resumed.model.state_dict()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"arch": "x", "step": 1})
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(Exception):
        save_checkpoint(path, {"arch": "x", "step": 2})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    bad = tmp_path / "other.pt"
    torch.save({"arch": "resnet", "model": {}}, bad)
    with pytest.raises(ModelError, match="architecture"):
        load_model(bad)
    with pytest.raises(ModelError, match="another architecture"):
        load_checkpoint(bad)
    trunc = tmp_path / "trunc.pt"
    save_checkpoint(trunc, {"arch": "hdrdesk-fusionnet-v1", "model": {}})
    trunc.write_bytes(trunc.read_bytes()[:40])
    with pytest.raises(ModelError, match="truncated|not a readable"):
        load_model(trunc)


def test_nan_loss_stops_and_keeps_last_good_weights(data_root, tmp_path, monkeypatch):
    from hdrdesk.training import objective as obj

    real = obj.Objective.__call__
    calls = {"n": 0}

    def flaky(self, model, y):
        calls["n"] += 1
        loss, terms = real(self, model, y)
        return (loss * float("nan") if calls["n"] == 3 else loss), terms

    monkeypatch.setattr(obj.Objective, "__call__", flaky)
    with pytest.raises(TrainingError, match="nan"):
        train(tiny_config(data_root, tmp_path / "nan"))
    ck = load_checkpoint(tmp_path / "nan" / "last.pt")
    assert all(torch.isfinite(v).all() for v in ck["model"].values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DDP_WORKER = r"""
import os, sys, torch
from hdrdesk.training.config import TrainConfig
from hdrdesk.training.loop import train
cfg = TrainConfig(data=[sys.argv[1]], crop=48, frames_per_batch=4, max_exposures=3, steps=3, lr=1e-2, warmup=1,
                  val_every=1000, log_every=1, out=sys.argv[2], seed=0, threads=1, val_fraction=0.0, device="cpu")
r = train(cfg)
torch.save(r.model.state_dict(), os.path.join(sys.argv[2], f"rank{os.environ['RANK']}.pt"))
torch.distributed.destroy_process_group()
"""


def test_ddp_two_cpu_processes_end_with_identical_weights(data_root, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(DDP_WORKER)
    out = tmp_path / "ddp"
    out.mkdir()
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port, "WORLD_SIZE": "2", "RANK": str(rank),
               "LOCAL_RANK": str(rank), "OMP_NUM_THREADS": "1"}
        procs.append(subprocess.Popen([sys.executable, str(script), str(data_root), str(out)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for p in procs:
        output, _ = p.communicate(timeout=240)
        assert p.returncode == 0, output.decode()[-2000:]
    a = torch.load(out / "rank0.pt")
    b = torch.load(out / "rank1.pt")
    start = torch.load(out / "last.pt", weights_only=True)["model"]
    assert any(not torch.equal(a[k], torch.zeros_like(a[k])) for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert torch.equal(start["head.weight"], a["head.weight"])


def test_clipping_penalty_counts_only_overshoot_where_a_frame_has_detail():
    from hdrdesk.training.objective import clipping_penalty

    y = torch.stack([torch.full((8, 8), 0.5), torch.full((8, 8), 1.0)])[None]  # dark frame holds detail
    assert clipping_penalty(torch.full((1, 1, 8, 8), 0.9), y) == 0
    assert clipping_penalty(torch.full((1, 1, 8, 8), 1.1), y) > 0
    blown = torch.ones(1, 2, 8, 8)  # every frame white: nothing to keep
    assert clipping_penalty(torch.full((1, 1, 8, 8), 1.1), blown) == 0


def test_whole_scene_batches_have_the_whole_size(data_root):
    from hdrdesk.training.data import CropSampler

    scenes = load_scenes(discover_scenes([data_root]), 512)
    sampler = CropSampler(scenes, 48, 4, 3, 0.5, 0.5, 0, whole_prob=1.0, whole_size=(32, 48))
    assert sampler.sample().shape[-2:] == (32, 48)


def test_finetune_command_runs_saves_a_model_and_keeps_the_starting_models_objective(data_root, tmp_path, capsys, monkeypatch):
    """``hdrdesk finetune`` in the normal test run: a tiny run through the real command line."""
    from hdrdesk.cli import main
    from hdrdesk.paths import user_models_dir
    from hdrdesk.training import finetune

    seen = {}
    real = finetune.finetune_config

    def spy(req):
        cfg = real(req)
        seen["gamma"] = cfg.gamma
        cfg.crop, cfg.frames_per_batch, cfg.threads, cfg.val_max_side = 48, 4, 1, 64
        return cfg

    monkeypatch.setattr(finetune, "finetune_config", spy)
    code = main(["finetune", str(data_root), "--steps", "2", "--name", "tiny-tune", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert seen["gamma"] == finetune.starting_model_gamma("default") == "variance"  # the shipped model's card
    assert "fine-tuned model: tiny-tune" in out and "validation MEF-SSIM: before" in out
    saved = [p for p in user_models_dir().iterdir() if p.suffix == ".pt"]
    assert [p.stem for p in saved] == ["tiny-tune"]
    import json

    assert json.loads(saved[0].with_suffix(".json").read_text())["gamma"] == "variance"  # the card says which objective
    code = main(["finetune", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert code == 2 and "not found" in err and "Traceback" not in err


def _saved_start(tmp_path, config):
    """A small v2 network with non-trivial weights, saved as a model file: (model, path)."""
    from hdrdesk.core.model import FusionNet, model_state

    torch.manual_seed(0)
    start = FusionNet(config).eval()
    with torch.no_grad():
        for p in start.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = tmp_path / "start.pt"
    torch.save(model_state(start, name="start"), path)
    return start, path


def test_learned_mix_starts_as_the_constant_mix_and_then_mixes_per_pixel(tmp_path):
    import numpy as np

    from hdrdesk.core.fusion import fuse_spd, fuse_spd_torch
    from hdrdesk.core.model import NetConfig
    from hdrdesk.training.loop import initial_model
    from hdrdesk.training.refine import refine_logits

    start, path = _saved_start(tmp_path, NetConfig(widths=(4, 8, 8), fusion="spd", working_size=48, extra_levels=1, coarse_mix=0.25))
    grown = initial_model(TrainConfig(fusion="spd", init=str(path), learned_mix=True))
    assert grown.config.learned_mix and grown.mix_head is not None
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.05, 1.0, 160, dtype=np.float32)[None, :, None]  # a bright side and a dark side
    scene = (ramp * (0.6 + 0.4 * rng.random((96, 160, 3)))).astype(np.float32)
    images = [np.clip(scene * s, 0, 1) for s in (0.4, 1.0, 2.5)]
    y = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(grown(y)[:, :, :2], start(y))
        np.testing.assert_array_equal(fuse_spd(grown, images), fuse_spd(start, images))  # sigmoid(bias) = 0.25 everywhere
        grown.mix_head.weight.normal_(0.0, 0.5)  # now a mix that varies over the picture, mostly near 1
        grown.mix_head.bias.fill_(3.0)
    mixed = fuse_spd(grown, images)
    effect = np.abs(mixed - fuse_spd(start, images)).max()
    gpu = np.abs(fuse_spd_torch(grown, images, "cpu") - mixed).max()  # the GPU path mixes alike (its network input
    assert effect > 1e-2 and gpu < 2e-3  # is resized by torch, not OpenCV: its logits differ a little)
    out = refine_logits(grown, images, seconds=60.0, max_steps=3)  # Refine keeps the network's mix
    assert out.after >= out.before
    from hdrdesk.training.loop import MIX_LR_SCALE, make_optimizer

    assert [g["lr"] for g in make_optimizer(grown, 1e-3).param_groups] == [1e-3, 1e-3 * MIX_LR_SCALE]  # the new head's own step


def test_whole_bracket_branch_starts_as_the_starting_model_and_then_sees_the_whole_bracket(tmp_path):
    from hdrdesk.core.model import NetConfig
    from hdrdesk.training.loop import initial_model

    start, path = _saved_start(tmp_path, NetConfig(widths=(4, 8, 8), fusion="spd", working_size=48))
    grown = initial_model(TrainConfig(fusion="spd", init=str(path), global_context=True))
    assert grown.config.global_context and not start.config.global_context
    y = torch.rand(1, 3, 32, 160)
    with torch.no_grad():
        assert torch.equal(grown(y), start(y))  # the branch starts at zero
        torch.nn.init.normal_(grown.context.out.weight, std=2.0)
        # a change far away (beyond the convolutions' reach) moves the logits on the left: the branch is global
        far = y.clone()
        far[..., 100:] = 1.0  # a blown-out right side
        left = grown(y)[..., :4] - grown(far)[..., :4]
        left_start = start(y)[..., :4] - start(far)[..., :4]
    assert float(left.abs().max()) > 1e-6 and float(left_start.abs().max()) == 0.0


def test_pair_keep_reference_is_the_named_model_frozen_and_only_when_asked(tmp_path):
    from hdrdesk.core.model import NetConfig
    from hdrdesk.training.loop import keep_reference

    start, path = _saved_start(tmp_path, NetConfig(widths=(4, 8, 8), fusion="spd", working_size=48))
    assert keep_reference(TrainConfig(fusion="spd", w_keep_pair=0.0, keep_model=str(path)), start) is None
    ref = keep_reference(TrainConfig(fusion="spd", w_keep_pair=1.0, keep_model=str(path)), start)
    y = torch.rand(1, 2, 32, 48)
    with torch.no_grad():
        assert torch.equal(ref(y), start(y))
    assert ref is not start


def test_every_committed_recipe_is_a_valid_config():
    from pathlib import Path

    from hdrdesk.training.loop import check_config

    recipes = sorted((Path(__file__).resolve().parents[1] / "training" / "recipes").glob("*.json"))
    assert len(recipes) >= 10
    for path in recipes:
        cfg = TrainConfig.from_file(path)
        if cfg.w_keep_pair:
            cfg.keep_model = "default"  # the recipe's reference (runs/spd/model.pt) exists only after its stage ran
        cfg.distill = ""  # likewise the distillation targets' folder
        check_config(cfg)
