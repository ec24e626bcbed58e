"""Distilling per-bracket refinements into a v2 network (tiny synthetic brackets, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrdesk.core.model import FusionNet, NetConfig, model_state
from hdrdesk.errors import InputError
from hdrdesk.training.data import discover_scenes
from hdrdesk.training.distill import DistillObjective, DistillSampler, centred, load_targets, write_targets
from hdrdesk.training.loop import train
from test_training import tiny_config, write_bracket


def _spd_net(path) -> FusionNet:
    torch.manual_seed(0)
    net = FusionNet(NetConfig(widths=(4, 8), fusion="spd", exposedness_prior=False, working_size=32, extra_levels=1)).eval()
    with torch.no_grad():  # a head that says something, so that refining has something to correct
        net.head.weight.normal_(0.0, 0.3)
        net.head.bias.normal_(0.0, 0.3)
    torch.save(model_state(net, name="tiny"), path)
    return net


@pytest.fixture
def spd_setup(tmp_path):
    root = tmp_path / "data"
    for i in range(3):
        write_bracket(root / f"scene{i}", seed=i)
    net = _spd_net(tmp_path / "start.pt")
    targets = tmp_path / "targets"
    rows = []
    n = write_targets(net, discover_scenes([root]), targets, seconds=60.0, max_steps=8, grid=3, on_row=rows.append)
    return root, tmp_path / "start.pt", targets, rows, n


def test_targets_are_the_refined_logits_and_a_second_pass_resumes(spd_setup):
    root, start, targets, rows, n = spd_setup
    assert n == 3 and sorted(p.name for p in targets.iterdir()) == [f"scene{i}.seq.npz" for i in range(3)]
    assert all(r["after"] >= r["before"] for r in rows) and any(r["kept"] for r in rows)
    for r in rows:
        with np.load(targets / f"{r['scene']}.seq.npz") as z:
            assert z["luma"].shape[0] == 3 and z["target"].shape == z["logits"].shape == (3, 2, *z["luma"].shape[1:])
            assert bool(np.abs(z["target"] - z["logits"]).max() > 0) == r["kept"]
    from hdrdesk.core.model import load_model

    assert write_targets(load_model(start)[0], discover_scenes([root]), targets, seconds=60.0, max_steps=2) == 0


def test_validation_scenes_are_never_targets(spd_setup):
    _, _, targets, _, _ = spd_setup
    with pytest.raises(InputError, match="validation scene"):
        load_targets(targets, exclude={"scene1"})
    with pytest.raises(InputError, match="no distillation targets"):
        load_targets(targets.parent / "data")


def test_objective_ignores_what_the_fusion_ignores_and_keeps_pairs_in_place(spd_setup):
    _, start, targets, _, _ = spd_setup
    from hdrdesk.core.model import load_model

    net = load_model(start)[0]
    batch = DistillSampler(load_targets(targets), seed=0).sample()
    objective = DistillObjective(load_model(start)[0], w_keep=1.0)
    loss, terms = objective(net, batch)
    assert terms["keep"] == pytest.approx(0.0, abs=1e-12)  # the starting model is where it starts
    # one map added to every exposure's logits leaves the weights, and so the loss, as they are
    shifted = type(batch)(batch.luma, batch.target + torch.randn_like(batch.target[:, :1]))
    assert float(objective(net, shifted)[0].detach()) == pytest.approx(float(loss.detach()), rel=1e-5)
    assert torch.allclose(centred(batch.target).sum(dim=1), torch.zeros(1), atol=1e-5)


def test_a_distillation_run_moves_the_network_towards_the_targets(spd_setup, tmp_path):
    from hdrdesk.core.model import load_model
    from hdrdesk.training.distill import DistillBatch

    root, start, targets, _, _ = spd_setup
    cfg = tiny_config(root, tmp_path / "run", init=str(start), distill=str(targets), steps=60, lr=1e-2, w_keep=0.0, accum=3)
    result = train(cfg)
    assert result.step == 60

    def distance(model) -> float:  # the distillation term over every target, unflipped
        objective = DistillObjective(load_model(start)[0], w_keep=0.0)
        with torch.no_grad():
            return float(np.mean([objective(model, DistillBatch(torch.from_numpy(x)[None], torch.from_numpy(t)[None]))[0]
                                  for _, x, t in load_targets(targets)]))

    before, after = distance(load_model(start)[0]), distance(load_model(result.last_path)[0])
    assert after < 0.6 * before, (before, after)


def test_coarse_comparison_ignores_what_averages_out_within_a_cell():
    from hdrdesk.training.distill import coarse

    x = torch.randn(1, 3, 2, 32, 48)
    checker = torch.ones(32, 48)
    checker[0::2, :] = -1.0  # averages to zero over any 2 x 2 block
    assert torch.allclose(coarse(x + checker, 2), coarse(x, 2), atol=1e-6)
    assert not torch.allclose(coarse(x + 0.5, 2), coarse(x, 2))
    assert coarse(x, 16).shape == (1, 3, 2, 2, 3) and coarse(x, 1) is x
