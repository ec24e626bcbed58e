"""The torch-free CPU runtime (an ONNX export run by cv2.dnn) gives the torch network's results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hdrdesk.core import fusion
from hdrdesk.core.dnn_runtime import DnnNetwork, file_sha256, load_dnn, sidecar_paths
from hdrdesk.core.fusion import FusionOptions, finish_fusion, get_model, prepare_fusion
from hdrdesk.core.io import ExposureInfo, Frame
from hdrdesk.core.model import FusionNet, NetConfig, load_model, model_state
from hdrdesk.paths import default_model_path
from synth import expose, make_scene

TOL = 1e-5  # logits and weights; measured differences are ~2e-7


@pytest.fixture(autouse=True)
def _fresh_cache():
    fusion.forget_models()
    yield
    fusion.forget_models()


def _torch_out(model, luma: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.from_numpy(luma)[None])[0].numpy()


def _luma(k: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((k, h, w), dtype=np.float32)


def test_shipped_export_is_current_and_equals_torch():
    path = default_model_path()
    graph, meta_path = sidecar_paths(path)
    meta = json.loads(meta_path.read_text())
    assert meta["source_sha256"] == file_sha256(path), "resources/models/default.onnx is stale: run scripts/export_onnx.py"
    dnn = load_dnn(path)
    assert isinstance(dnn, DnnNetwork)
    model, card = load_model(path)
    assert dnn.config.fusion == model.config.fusion and dnn.config.working_size == model.config.working_size
    assert dnn.config.extra_levels == model.config.extra_levels and dnn.card["name"] == card["name"]
    # exposures and sizes other than the export's, including sizes off the pooling grid and tinier than the pad
    for k, h, w in ((2, 64, 96), (3, 37, 50), (1, 16, 16), (5, 7, 9)):
        luma = _luma(k, h, w, seed=k)
        ref = _torch_out(model, luma)
        out = dnn.predict(luma)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=TOL)


@pytest.mark.parametrize("kind", ["spd", "pyramid", "spd-context", "spd-mix"])
def test_export_of_a_model_equals_torch(tmp_path, kind):
    pytest.importorskip("onnx")  # the export needs it (the test extra brings it)
    from hdrdesk.core.dnn_runtime import export_onnx

    torch.manual_seed(1)
    context, mix = kind == "spd-context", kind == "spd-mix"
    kind = kind.removesuffix("-context").removesuffix("-mix")
    model = FusionNet(NetConfig(widths=(4, 8), fusion=kind, working_size=48 if kind == "spd" else 0, global_context=context, learned_mix=mix)).eval()
    with torch.no_grad():  # a non-trivial head (the spd head starts at zero)
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    path = tmp_path / "m.pt"
    torch.save(model_state(model, name="tiny"), path)
    export_onnx(path)
    dnn = load_dnn(path)
    assert dnn is not None and dnn.config.fusion == kind
    for k, h, w in ((2, 20, 30), (3, 9, 13)):
        luma = _luma(k, h, w, seed=h)
        np.testing.assert_allclose(dnn.predict(luma), _torch_out(model, luma), atol=TOL)
    # exported split where a linear step reads a concatenation (exposure mix, decoder input): no expanded mean
    import onnx

    ops = [n.op_type for n in onnx.load(str(sidecar_paths(path)[0])).graph.node]
    context_convs = 3 if context else 0  # the whole-bracket branch: own, shared, out; one Expand of its 1x1 result
    assert ops.count("Expand") == (1 if context else 0)
    assert ops.count("Conv") == 4 * len(model.enc) + 5 * len(model.dec) + 1 + context_convs + mix  # own + mean per mix, 2 convs per decoder input


def test_stale_or_missing_export_falls_back_to_torch(tmp_path, monkeypatch):
    src = default_model_path()
    path = tmp_path / "default.pt"
    shutil.copy(src, path)
    graph, meta = sidecar_paths(src)
    # no export beside the copy: torch
    model, _card, dev = get_model(path, "cpu")
    assert isinstance(model, torch.nn.Module) and str(dev) == "cpu"
    fusion.forget_models()
    # a current export: cv2.dnn
    shutil.copy(graph, tmp_path / graph.name)
    shutil.copy(meta, tmp_path / meta.name)
    model, _card, dev = get_model(path, "cpu")
    assert isinstance(model, DnnNetwork) and dev == "cpu"
    # callers that train or copy the weights (Refine) ask for the torch module
    assert isinstance(get_model(path, "cpu", torch_only=True)[0], torch.nn.Module)
    fusion.forget_models()
    # forced off
    monkeypatch.setenv("HDRDESK_RUNTIME", "torch")
    assert isinstance(get_model(path, "cpu")[0], torch.nn.Module)
    monkeypatch.delenv("HDRDESK_RUNTIME")
    fusion.forget_models()
    # the .pt changed after the export: the export is stale and ignored
    with path.open("ab") as f:
        f.write(b"\0")
    assert load_dnn(path) is None


def test_fusion_through_dnn_equals_fusion_through_torch():
    rad = make_scene(90, 140, seed=5)
    frames = [Frame(Path(f"f{i}.png"), expose(rad, ev), ExposureInfo(), None) for i, ev in enumerate((-2.0, 0.0, 2.0))]
    opts = FusionOptions(method="cnn", align=False, keep_weights=True, device="cpu")
    via_dnn = finish_fusion(prepare_fusion(list(frames), opts))
    torch_model, card = load_model(default_model_path())
    via_torch = finish_fusion(prepare_fusion(list(frames), opts), model=torch_model)
    assert isinstance(get_model(None, "cpu")[0], DnnNetwork)  # what via_dnn ran
    assert via_dnn.device == "cpu" and via_dnn.model_name == card["name"]
    np.testing.assert_allclose(via_dnn.image, via_torch.image, atol=1e-5)
    np.testing.assert_allclose(via_dnn.weights, via_torch.weights, atol=1e-5)


def test_cli_fuse_and_batch_on_cpu_do_not_import_torch(bracket_files, tmp_path):
    out = tmp_path / "out.png"
    folder = tmp_path / "brackets" / "one"
    folder.mkdir(parents=True)
    for p in bracket_files:
        shutil.copy(p, folder / p.name)
    code = (
        "import sys; from hdrdesk.cli import main; "
        f"rc = main(['fuse', *{[str(p) for p in bracket_files]!r}, '-o', {str(out)!r}, '--device', 'cpu']); "
        f"rc = rc or main(['batch', {str(folder.parent)!r}, '-o', {str(tmp_path / 'batch')!r}, '--no-progress', '--device', 'cpu']); "
        "print('torch' in sys.modules); sys.exit(rc)"
    )
    env = {k: v for k, v in os.environ.items() if k != "HDRDESK_RUNTIME"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "False"
    assert out.is_file() and len(list((tmp_path / "batch").iterdir())) == 1


def test_predict_from_several_threads_gives_the_same_logits():
    """Each call builds its own OpenCV net: concurrent calls (batch, the app's jobs) do not mix up."""
    from concurrent.futures import ThreadPoolExecutor

    dnn = load_dnn(default_model_path())
    inputs = [_luma(k, 40, 56, seed=k) for k in (2, 3, 2, 4)]
    alone = [dnn.predict(x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(dnn.predict, inputs))
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
