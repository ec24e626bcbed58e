"""Bracket fusion: one code path for preview, export, CLI and evaluation.

CNN method: the network sees each exposure's luma at a working resolution
(short side ``working_size``) and predicts per-pixel weights; a fast guided
filter, guided by each exposure's full-resolution luma, lifts them to full
resolution; they are renormalised; the lumas are blended with a Laplacian
pyramid; chroma is fused per pixel with the DeepFuse/MEF-Net rule
``C_f = sum_k C_k |C_k - 0.5| / sum_k |C_k - 0.5|``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from hdrdesk.core.align import AlignInfo, align_frames
from hdrdesk.core.color import rgb_to_ycbcr, ycbcr_to_rgb
from hdrdesk.core.guided import guided_upsample
from hdrdesk.core.io import Frame, check_bracket
from hdrdesk.core.pyramid import blend_cv
from hdrdesk.errors import InputError
from hdrdesk.tasks import TaskState, null_task

METHODS = ("cnn", "mertens")
CHROMA_EPS = 1e-4
WEIGHT_EPS = 1e-6


@dataclass
class FusionOptions:
    """What to fuse with and how."""

    method: str = "cnn"
    model_path: Path | None = None  # None: the shipped default model
    working_size: int = 512  # short side the network sees
    align: bool = True
    device: str | None = None  # None/auto: CUDA, else MPS, else CPU
    guided_radius: int = 2
    guided_eps: float = 1e-3
    keep_weights: bool = True  # return full-resolution weight maps

    def validate(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown method {self.method!r} (choose from {', '.join(METHODS)})")
        if self.working_size < 32:
            raise InputError(f"working size {self.working_size} is too small (at least 32)")


@dataclass
class FusionResult:
    image: np.ndarray  # float32 RGB in [0, 1], HxWx3
    weights: np.ndarray | None  # float32 (K, H, W), summing to 1 over K; None for Mertens
    frames: list[Frame]  # the (aligned) frames that were fused, darkest first
    alignment: list[AlignInfo]
    method: str
    model_name: str = ""
    device: str = "cpu"
    timings: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------- models

_MODEL_CACHE: dict[tuple[str, str], tuple[object, dict]] = {}
_MODEL_LOCK = threading.Lock()


def get_model(model_path: Path | None = None, device: str | None = None):
    """Load (once) and return (model, card, torch device)."""
    from hdrdesk.core.device import pick_device
    from hdrdesk.core.model import load_model
    from hdrdesk.paths import default_model_path

    dev = pick_device(device)
    path = Path(model_path) if model_path else default_model_path()
    key = (str(path.resolve()), str(dev))
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = load_model(path, dev)
        model, card = _MODEL_CACHE[key]
    return model, card, dev


def forget_models() -> None:
    with _MODEL_LOCK:
        _MODEL_CACHE.clear()


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """(h, w) of the copy the network sees; never larger than the image."""
    short = min(height, width)
    if short <= working_size:
        return height, width
    s = working_size / short
    return max(1, round(height * s)), max(1, round(width * s))


def predict_weights(model, luma_low: np.ndarray, device=None) -> np.ndarray:
    """Network weights for (K, h, w) float32 luma -> (K, h, w) float32."""
    import torch

    dev = device or next(model.parameters()).device
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(luma_low))[None].to(dev)
        w = model(x)[0].float().cpu().numpy()
    return w


def lift_weights(
    w_low: np.ndarray, luma_low: np.ndarray, luma_full: Sequence[np.ndarray], radius: int = 2, eps: float = 1e-3
) -> np.ndarray:
    """Guided upsampling of each exposure's weights to full resolution, clipped and renormalised."""
    k = len(luma_full)
    h, w = luma_full[0].shape
    out = np.empty((k, h, w), np.float32)
    for i in range(k):
        if w_low.shape[1:] == (h, w):
            out[i] = w_low[i]
        else:
            out[i] = guided_upsample(luma_low[i], w_low[i], luma_full[i], radius, eps)
    np.maximum(out, 0.0, out=out)
    total = out.sum(axis=0)
    total += WEIGHT_EPS
    out /= total
    return out


def fuse_luma_chroma(ys: Sequence[np.ndarray], cbs: Sequence[np.ndarray], crs: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Luma by pyramid blending of ``weights``; chroma by the |C - 0.5| rule. Returns RGB."""
    y = blend_cv(list(ys), list(weights))
    return ycbcr_to_rgb(y, _fuse_chroma(cbs), _fuse_chroma(crs))


def _fuse_chroma(cs: Sequence[np.ndarray]) -> np.ndarray:
    num = np.zeros_like(cs[0])
    den = np.zeros_like(cs[0])
    for c in cs:
        wt = np.abs(c - 0.5)
        wt += CHROMA_EPS
        den += wt
        wt *= c
        num += wt
    return num / den


# ----------------------------------------------------------------- fusion


def fuse_frames(frames: Sequence[Frame], options: FusionOptions | None = None, task: TaskState | None = None) -> FusionResult:
    """Fuse a loaded bracket (darkest first). Reports progress and honours cancellation via ``task``."""
    options = options or FusionOptions()
    options.validate()
    task = task or null_task()
    check_bracket(frames)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    frames = list(frames)
    alignment: list[AlignInfo]
    if options.align:
        task.report(0.0, "Aligning")
        frames, alignment = align_frames(frames, progress=lambda f: task.report(0.25 * f, "Aligning"))
    else:
        alignment = [AlignInfo(name=f.path.name, note="alignment off") for f in frames]
    timings["align"] = time.perf_counter() - t0
    task.check()
    if options.method == "mertens":
        image = fuse_mertens(frames, task)
        timings["total"] = time.perf_counter() - t0
        return FusionResult(image, None, frames, alignment, "mertens", "OpenCV Mertens", "cpu", timings)

    model, card, dev = get_model(options.model_path, options.device)
    task.report(0.3, "Preparing exposures")
    h, w = frames[0].data.shape[:2]
    wh, ww = working_shape(h, w, options.working_size)
    ys, cbs, crs, lows = [], [], [], []
    for f in frames:
        y, cb, cr = rgb_to_ycbcr(f.rgb_float())
        ys.append(y)
        cbs.append(cb)
        crs.append(cr)
        lows.append(y if (wh, ww) == (h, w) else cv2.resize(y, (ww, wh), interpolation=cv2.INTER_AREA))
        task.check()
    luma_low = np.stack(lows)
    t1 = time.perf_counter()
    task.report(0.45, "Predicting weights")
    w_low = predict_weights(model, luma_low, dev)
    timings["network"] = time.perf_counter() - t1
    task.report(0.65, "Lifting weights to full resolution")
    weights = lift_weights(w_low, luma_low, ys, options.guided_radius, options.guided_eps)
    task.report(0.8, "Blending")
    image = fuse_luma_chroma(ys, cbs, crs, weights)
    timings["total"] = time.perf_counter() - t0
    task.report(1.0, "Done")
    name = card.get("name") or (Path(options.model_path).stem if options.model_path else "default")
    return FusionResult(image, weights if options.keep_weights else None, frames, alignment, "cnn", str(name), str(dev), timings)


def fuse_mertens(frames: Sequence[Frame], task: TaskState | None = None, contrast: float = 1.0, saturation: float = 1.0, exposure: float = 0.0) -> np.ndarray:
    """OpenCV's exposure fusion (createMergeMertens) on the same frames; float RGB [0,1].

    The defaults here are the project's 'Mertens default' anchor
    (contrast 1, saturation 1, exposure 0, as ``createMergeMertens()``).
    """
    task = task or null_task()
    task.report(0.4, "Mertens fusion")
    merge = cv2.createMergeMertens(contrast, saturation, exposure)
    imgs = [f.data if f.data.dtype == np.uint8 else f.rgb_float() for f in frames]
    imgs = [i if i.ndim == 3 else cv2.cvtColor(i, cv2.COLOR_GRAY2RGB) for i in imgs]
    out = merge.process(imgs)  # channel order is irrelevant to Mertens; RGB in, RGB out
    task.report(1.0, "Done")
    return np.clip(out, 0.0, 1.0)
