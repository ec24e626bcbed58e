"""The fusion network without torch: an ONNX export of a model file run by OpenCV's DNN module.

``import torch`` costs about 1.6 s of CPU and its first network call more; a single ``hdrdesk
fuse`` or a batch on a CPU pays that before any pixel moves. The network is small (convolutions,
max pooling, bilinear upsampling, means over exposures), and ``cv2.dnn`` runs its ONNX graph
with the same results (a test checks within 1e-5) in a fraction of the start-up time.

Beside a model file ``NAME.pt`` lie ``NAME.onnx`` (the graph: (1, K, h, w) luma with h, w
multiples of the network's pooling grid -> its logits, or for a v1 network its softmax weights)
and ``NAME.onnx.json`` (the model's card and configuration, and the SHA-256 of the ``.pt`` it
was exported from: a stale export is never used). ``scripts/export_onnx.py`` writes them (it
needs torch and the ``onnx`` package). Padding to the pooling grid happens here, in numpy, as
the torch network does it (reflect, or replicate where the image is tinier than the pad).

This module never imports torch (except :func:`export_onnx`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RUNTIME_ENV = "HDRDESK_RUNTIME"  # "torch": never use the ONNX export (comparisons, debugging)


@dataclass(frozen=True)
class RuntimeConfig:
    """What the fusion code reads of a network's configuration (as ``hdrdesk.core.model.NetConfig``)."""

    fusion: str = "spd"
    working_size: int = 0
    extra_levels: int = 0
    coarse_mix: float = 0.0
    temperature: float = 1.0
    multiple: int = 16


def sidecar_paths(model_path: Path) -> tuple[Path, Path]:
    """(graph, metadata) files that belong to ``model_path``."""
    model_path = Path(model_path)
    return model_path.with_suffix(".onnx"), model_path.with_suffix(".onnx.json")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class DnnNetwork:
    """A model file's network as an OpenCV DNN graph: ``net.predict(luma)`` for (K, h, w) float32 luma.

    Returns (K, 2, h, w) logits for a v2 (spd) network, (K, h, w) weights for a v1 network.
    ``config`` and ``card`` mirror the torch model's. Each call builds its own OpenCV net (thread-safe, and
    its buffers go when the call returns).
    """

    device = "cpu"

    def __init__(self, graph: Path, meta: dict, source: Path | None = None) -> None:
        import cv2

        self._graph = np.frombuffer(Path(graph).read_bytes(), np.uint8)
        cv2.dnn.readNetFromONNX(self._graph)  # a graph OpenCV cannot read fails here, not in the first fusion
        cfg = meta.get("config", {})
        self.config = RuntimeConfig(
            fusion=str(cfg.get("fusion", "pyramid")),
            working_size=int(cfg.get("working_size", 0)),
            extra_levels=int(cfg.get("extra_levels", 0)),
            coarse_mix=float(cfg.get("coarse_mix", 0.0)),
            temperature=float(cfg.get("temperature", 1.0)),
            multiple=int(cfg.get("multiple", 16)),
        )
        self.card = dict(meta.get("card", {}))
        self._lock = threading.Lock()
        self._source = source
        self._torch = None

    def _torch_predict(self, x: np.ndarray) -> np.ndarray:
        """The torch network: for inputs whose padded side is one pooling cell (OpenCV 5.0's DNN
        gives garbage for a 1-row bottleneck; photos never get here, the network sees 256 px)."""
        import torch

        from hdrdesk.core.model import load_model

        if self._torch is None:
            if self._source is None:
                raise ValueError(f"input {x.shape[1:]} too small for the ONNX runtime")
            self._torch = load_model(self._source)[0]
        with torch.inference_mode():
            return self._torch(torch.from_numpy(x)[None])[0].float().numpy()

    def predict(self, luma: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(luma, dtype=np.float32)
        k, h, w = x.shape
        m = self.config.multiple
        ph, pw = (-h) % m, (-w) % m
        if min(h + ph, w + pw) <= m:
            with self._lock:
                return self._torch_predict(x)
        if ph or pw:  # as FusionNet.forward: reflect, replicate where the image is tinier than the pad
            mode = "reflect" if h > ph and w > pw else "edge"
            x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode=mode)
        import cv2

        # A net per call (parsing the graph costs ~0.02 s): OpenCV keeps every layer's output of the
        # last forward pass (~35 MB per exposure at 256 x 384), which would stay allocated through
        # the fusion that follows; dropped with the net, the bracket's peak memory is lower.
        net = cv2.dnn.readNetFromONNX(self._graph)
        net.setInput(x[None])
        out = net.forward()
        del net
        return np.ascontiguousarray(out[0, ..., :h, :w], dtype=np.float32)


def load_dnn(model_path: Path) -> DnnNetwork | None:
    """The ONNX export of ``model_path`` if it exists and was made from this very file, else None.

    None also when ``HDRDESK_RUNTIME=torch`` or OpenCV cannot read the graph (the caller uses torch).
    """
    if os.environ.get(RUNTIME_ENV, "").lower() == "torch":
        return None
    graph, meta_path = sidecar_paths(model_path)
    try:
        meta = json.loads(meta_path.read_text())
        if not graph.is_file() or meta.get("source_sha256") != file_sha256(model_path):
            return None
        return DnnNetwork(graph, meta, Path(model_path))
    except Exception:  # noqa: BLE001 - no usable export: torch runs the .pt as before
        return None


def gpu_may_exist() -> bool:
    """Whether torch might pick a GPU (CUDA or Apple MPS), judged without importing torch."""
    if sys.platform == "darwin":
        return True
    return Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/version").exists() or Path("/dev/kfd").exists()


def export_onnx(model_path: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Export the network of ``model_path`` to ONNX beside it (or into ``out_dir``); needs torch and ``onnx``.

    Returns the (graph, metadata) paths. Written atomically.
    """
    import torch
    from torch import nn

    from hdrdesk.core.atomic import atomic_write_bytes
    from hdrdesk.core.model import load_model

    model_path = Path(model_path)
    model, card = load_model(model_path)
    model.eval()

    class _SplitBlock(nn.Module):
        """A Block with its linear steps split where they act on concatenations: the exposure mix's
        ``W [x, mean] + b`` becomes ``W_x x + b`` plus ``W_m mean`` (once per bracket, broadcast over the
        exposures), a decoder's first convolution of ``[up, skip]`` becomes ``conv_up(up) + conv_skip(skip)``.
        The same function (tests check the export against torch), but OpenCV no longer holds the expanded
        mean and the concatenations of every exposure: the DNN pass takes ~30 MB per exposure at 256 x 384
        instead of ~43."""

        def __init__(self, block, up_channels: int = 0) -> None:
            super().__init__()
            self.conv2 = block.conv2
            if not up_channels:  # encoder: conv1 as it is
                self.conv1 = block.conv1
            else:  # decoder: conv1 reads [up, skip]
                w1, b1 = block.conv1.weight.detach(), block.conv1.bias.detach()
                self.conv_up = nn.Conv2d(up_channels, w1.shape[0], 3, padding=1)
                self.conv_skip = nn.Conv2d(w1.shape[1] - up_channels, w1.shape[0], 3, padding=1, bias=False)
            w, b = block.mix.mix.weight.detach(), block.mix.mix.bias.detach()
            c = w.shape[0]
            self.own = nn.Conv2d(c, c, 1)
            self.shared = nn.Conv2d(c, c, 1, bias=False)
            with torch.no_grad():
                if up_channels:
                    self.conv_up.weight.copy_(w1[:, :up_channels])
                    self.conv_up.bias.copy_(b1)
                    self.conv_skip.weight.copy_(w1[:, up_channels:])
                self.own.weight.copy_(w[:, :c])
                self.own.bias.copy_(b)
                self.shared.weight.copy_(w[:, c:])

        def _rest(self, x, k: int):
            bk, c, h, w = x.shape
            mean = x.view(bk // k, k, c, h, w).mean(dim=1)
            x = self.own(x).view(bk // k, k, c, h, w) + self.shared(mean).unsqueeze(1)
            x = torch.nn.functional.leaky_relu(x.view(bk, c, h, w), 0.2)
            return torch.nn.functional.leaky_relu(self.conv2(x), 0.2)

        def forward(self, x, k: int):
            return self._rest(torch.nn.functional.leaky_relu(self.conv1(x), 0.2), k)

        def forward_joined(self, up, skip, k: int):
            return self._rest(torch.nn.functional.leaky_relu(self.conv_up(up) + self.conv_skip(skip), 0.2), k)

    model = copy.deepcopy(model)
    widths = model.config.widths
    model.enc = nn.ModuleList([_SplitBlock(b) for b in model.enc])
    model.dec = nn.ModuleList([_SplitBlock(b, widths[i + 1]) for b, i in zip(model.dec, reversed(range(len(widths) - 1)))])

    class _Graph(nn.Module):  # the network after FusionNet.forward's padding (done by DnnNetwork)
        def __init__(self, net) -> None:
            super().__init__()
            self.net = net

        def forward(self, y):
            out = self.net.logits(y)
            if self.net.config.fusion == "spd":
                return out
            return torch.softmax(out / self.net.config.temperature, dim=1)

    target = Path(out_dir) / model_path.name if out_dir is not None else model_path
    graph, meta_path = sidecar_paths(target)
    m = model.multiple
    tmp = graph.with_name(f".{graph.name}.export.tmp")
    try:
        torch.onnx.export(
            _Graph(model), (torch.rand(1, 2, 4 * m, 6 * m),), str(tmp), dynamo=False, opset_version=17,
            input_names=["luma"], output_names=["out"],
            dynamic_axes={"luma": {1: "exposures", 2: "height", 3: "width"}, "out": {1: "exposures"}},
        )
        data = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    config = model.config.to_dict()
    config["multiple"] = m
    meta = {
        "source": model_path.name,
        "source_sha256": file_sha256(model_path),
        "config": config,
        "card": json.loads(json.dumps(card, default=str)),
    }
    atomic_write_bytes(graph, data)
    atomic_write_bytes(meta_path, (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
    return graph, meta_path
