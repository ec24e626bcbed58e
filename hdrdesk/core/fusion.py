"""Bracket fusion: one code path for preview, export, CLI and evaluation.

CNN method: the network sees each exposure's luma at a working resolution
(short side ``working_size``) and predicts per-pixel weights; a fast guided
filter, guided by each exposure's full-resolution luma, lifts them to full
resolution; they are renormalised; the lumas are blended with a Laplacian
pyramid; chroma is fused per pixel with the DeepFuse/MEF-Net rule
``C_f = sum_k C_k |C_k - 0.5| / sum_k |C_k - 0.5|``.

Speed and memory: full-resolution work is done with OpenCV (SIMD, multi-threaded,
releases the GIL) on float32 planes, in row strips where a whole-frame temporary
would be large, without float64 temporaries. This module does not import torch
until the network is needed (``hdrdesk fuse`` imports torch in a background thread
while the frames decode), and the Mertens method never imports it.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from hdrdesk.core.align import ECC_SIZE, AlignInfo, align_frames
from hdrdesk.core.dnn_runtime import RUNTIME_ENV, DnnNetwork, gpu_may_exist, load_dnn
from hdrdesk.core.guided import guided_coefficients
from hdrdesk.core.io import Frame, check_bracket
from hdrdesk.errors import InputError
from hdrdesk.tasks import TaskState, null_task

METHODS = ("cnn", "mertens", "fmmef")
CHROMA_EPS = 1e-4
WEIGHT_EPS = 1e-6
STRIP_PIXELS = 1 << 19  # pixels per row strip of the colour conversions (2 MB per float32 plane: cache-resident)


@dataclass
class FusionOptions:
    """What to fuse with and how."""

    method: str = "cnn"
    model_path: Path | None = None  # None: the shipped default model
    working_size: int = 512  # short side the network sees
    align: bool = True
    align_size: int = ECC_SIZE  # long side of the copies alignment registers (a preview uses fewer pixels)
    device: str | None = None  # None/auto: CUDA, else MPS, else CPU
    guided_radius: int = 2
    guided_eps: float = 1e-3
    keep_weights: bool = True  # return full-resolution weight maps
    deghost: str = "off"  # off | low | medium | high (hdrdesk.core.deghost)
    reference: int | None = None  # deghosting reference, 0-based darkest first; None: the best-exposed frame
    # An already-loaded network (torch.nn.Module), e.g. a model being trained: used as is
    # (its own device, its current weights) instead of loading ``model_path``.
    model: object | None = field(default=None, repr=False, compare=False)

    def validate(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown method {self.method!r} (choose from {', '.join(METHODS)})")
        if self.working_size < 32:
            raise InputError(f"working size {self.working_size} is too small (at least 32)")
        if self.align_size < 64:
            raise InputError(f"alignment size {self.align_size} is too small (at least 64)")
        from hdrdesk.core.deghost import DEGHOST_LEVELS

        if self.deghost not in DEGHOST_LEVELS:
            raise InputError(f"unknown deghosting level {self.deghost!r} (choose from {', '.join(DEGHOST_LEVELS)})")


@dataclass
class FusionResult:
    image: np.ndarray  # float32 RGB in [0, 1], HxWx3
    weights: np.ndarray | None  # float32 (K, H, W), summing to 1 over K; None for Mertens and FMMEF
    frames: list[Frame]  # the (aligned) frames that were fused, darkest first
    alignment: list[AlignInfo]
    method: str
    model_name: str = ""
    device: str = "cpu"
    timings: dict[str, float] = field(default_factory=dict)
    motion_masks: list[np.ndarray] | None = None  # per frame, when deghosted (1 = taken from the reference)
    reference: int | None = None  # the deghosting reference frame (0-based), when deghosted


# ----------------------------------------------------------------- models

_MODEL_CACHE: dict[tuple[str, str], tuple[object, dict]] = {}
_MODEL_LOCK = threading.Lock()


def get_model(model_path: Path | None = None, device: str | None = None, *, torch_only: bool = False):
    """Load (once) and return (model, card, device).

    On a CPU, a model file with a current ONNX export beside it runs without torch
    (:class:`hdrdesk.core.dnn_runtime.DnnNetwork`, device ``"cpu"``): ``import torch`` and its
    first call stay off the critical path. Otherwise, or with ``torch_only`` (callers that
    train or copy the weights), a torch model and its torch device.
    """
    from hdrdesk.paths import default_model_path

    path = Path(model_path) if model_path else default_model_path()
    dnn_ok = not torch_only and os.environ.get(RUNTIME_ENV, "").lower() != "torch" and (
        (device or "auto") == "cpu" or ((device or "auto") == "auto" and not gpu_may_exist())
    )
    if dnn_ok:
        key = (str(path.resolve()), "cpu-dnn")
        with _MODEL_LOCK:
            if key not in _MODEL_CACHE:
                dnn = load_dnn(path)
                if dnn is not None:
                    _MODEL_CACHE[key] = (dnn, dnn.card)
            if key in _MODEL_CACHE:
                model, card = _MODEL_CACHE[key]
                return model, card, "cpu"
    from hdrdesk.core.device import pick_device
    from hdrdesk.core.model import load_model

    dev = pick_device(device)
    key = (str(path.resolve()), str(dev))
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = load_model(path, dev)
        model, card = _MODEL_CACHE[key]
    return model, card, dev


def forget_models() -> None:
    with _MODEL_LOCK:
        _MODEL_CACHE.clear()


class ModelPreloader:
    """Import torch and load a model in a background thread while the caller decodes frames.

    ``result()`` waits and returns what :func:`get_model` returns (re-raising its error).
    The model lands in :func:`get_model`'s cache, so a later ``fuse_frames`` finds it.

    ``fast_switch``: while the import runs, lower the interpreter's GIL switch interval
    (restored by ``result()``). The import holds the GIL most of the time; every OpenCV
    call of the caller's thread gives it up and must win it back, which otherwise takes
    up to 5 ms each time.
    """

    def __init__(self, model_path: Path | None = None, device: str | None = None, fast_switch: bool = False) -> None:
        import sys

        self._out: tuple | None = None
        self._exc: BaseException | None = None
        self._switch = sys.getswitchinterval() if fast_switch else None
        if fast_switch:
            sys.setswitchinterval(min(self._switch, 2e-4))
        self._thread = threading.Thread(target=self._run, args=(model_path, device), name="hdrdesk-model-load", daemon=True)
        self._thread.start()

    def _run(self, model_path, device) -> None:
        try:
            self._out = get_model(model_path, device)
        except BaseException as exc:  # re-raised in the caller's thread
            self._exc = exc

    def result(self):
        self._thread.join()
        self.release()
        if self._exc is not None:
            raise self._exc
        return self._out

    def release(self, wait: bool = False) -> None:
        """Restore the GIL switch interval; ``result()`` does it too. ``wait``: also let the load
        finish (before the process exits: a thread still inside OpenCV's or torch's native code at
        interpreter shutdown can abort the process)."""
        import sys

        if wait:
            self._thread.join()
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """(h, w) of the copy the network sees; never larger than the image."""
    short = min(height, width)
    if short <= working_size:
        return height, width
    s = working_size / short
    return max(1, round(height * s)), max(1, round(width * s))


def _inference_copy(model):
    """The network as it runs fastest on a CPU: a channels-last copy (same weights, same results).

    A copy, so a model being trained is neither changed nor cached stale.
    """
    import torch

    try:
        dev = next(model.parameters()).device
    except (StopIteration, AttributeError):
        return model
    if dev.type != "cpu":
        return model
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


def predict_weights(model, luma_low: np.ndarray, device=None) -> np.ndarray:
    """Network weights for (K, h, w) float32 luma -> (K, h, w) float32."""
    if isinstance(model, DnnNetwork):
        return model.predict(luma_low)
    import torch

    dev = device or next(model.parameters()).device
    net = _inference_copy(model)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(luma_low, dtype=np.float32))[None].to(dev)
        if torch.device(dev).type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        w = net(x)[0].float().cpu().numpy()
    return np.ascontiguousarray(w)


def warm_up(model, exposures: int = 3) -> None:
    """One pass of the network on a blank bracket of its working size (3:2), so that the first real
    call does not pay the runtime's one-time set-up (OpenCV's DNN: ~0.1 s of a preview's 0.3 s).
    The app runs it on a worker right after loading the model."""
    size = _spd_working_size(model) if is_spd_model(model) else 256
    luma = np.full((exposures, size, size * 3 // 2), 0.5, np.float32)
    if is_spd_model(model):
        predict_spd_logits(model, luma)
    else:
        predict_weights(model, luma)


def is_spd_model(model) -> bool:
    """True for a v2 network (structural patch decomposition with learned weights)."""
    return getattr(getattr(model, "config", None), "fusion", "pyramid") == "spd"


def spd_working_luma(images: Sequence[np.ndarray], working_size: int) -> np.ndarray:
    """(K, h, w) float32 BT.601 luma of RGB frames at short side ``working_size`` (area interpolation).

    Area interpolation is separable: each row strip is made float, grey and narrow (width
    resized) while it is cache-resident, then the narrow (H, w) plane is resized in height. No
    full-resolution float copy of a frame is made; equal to converting the whole frame first
    up to float rounding (a test checks).
    """
    h, w = images[0].shape[:2]
    wh, ww = working_shape(h, w, working_size)
    out = np.empty((len(images), wh, ww), np.float32)
    if (wh, ww) == (h, w):
        for i, img in enumerate(images):
            out[i] = _grey_unit(img)
        return out
    rows = max(1, min(h, STRIP_PIXELS // max(w, 1)))
    narrow = np.empty((h, ww), np.float32)
    for i, img in enumerate(images):
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            cv2.resize(_grey_unit(img[r0:r1]), (ww, r1 - r0), dst=narrow[r0:r1], interpolation=cv2.INTER_AREA)
        cv2.resize(narrow, (ww, wh), dst=out[i], interpolation=cv2.INTER_AREA)
    return out


def _grey_unit(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in [0, 1] (float32) of RGB or grey rows (uint8, uint16 or float32)."""
    rgb = _to_unit_float(img, np.empty(img.shape, np.float32)) if img.dtype != np.float32 else img
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb


def predict_spd_logits(model, luma_low: np.ndarray, device=None) -> np.ndarray:
    """(K, h, w) float32 luma -> (K, 2, h, w) float32 logits (detail, base) of a v2 network."""
    if isinstance(model, DnnNetwork):
        return model.predict(luma_low)
    import torch

    dev = device or next(model.parameters()).device
    net = _inference_copy(model)
    with torch.inference_mode():
        x = torch.from_numpy(np.ascontiguousarray(luma_low, dtype=np.float32))[None].to(dev)
        out = net(x)[0].float().cpu().numpy()
    return np.ascontiguousarray(out)


def _spd_working_size(model) -> int:
    return getattr(model.config, "working_size", 0) or 256


def spd_logits(model, images: Sequence[np.ndarray], device=None) -> tuple[np.ndarray, np.ndarray]:
    """What a v2 network sees and says: (K, h, w) luma at its working size, (K, 2, h, w) logits."""
    luma_low = spd_working_luma(images, _spd_working_size(model))
    return luma_low, predict_spd_logits(model, luma_low, device)


def spd_decompose(model, images: Sequence[np.ndarray], logits: np.ndarray, out_dtype=np.float32, task=None) -> np.ndarray:
    """FMMEF's structural patch decomposition of ``images`` driven by a v2 network's ``logits``."""
    from hdrdesk.core.fmmef import fmmef_fuse_into

    return fmmef_fuse_into(
        images, out_dtype, detail_logits=list(spd_detail_maps(model, logits)), base_logits=[l[1] for l in logits],
        detail_gain=spd_detail_gain(model, logits.shape[-2:]), coarse_mix=spd_coarse_mix(model, logits),
        extra_levels=getattr(model.config, "extra_levels", 0), task=task,
    )


def spd_detail_maps(model, logits: np.ndarray) -> np.ndarray:
    """The detail logits the decomposition uses: (K, h, w), or (K, S, h, w), one map per scale, when
    the model adds per-scale offsets to them (a refined bracket: ``model.detail_offsets(size)``)."""
    offsets = getattr(model, "detail_offsets", None)
    if offsets is None:
        return logits[:, 0]
    return logits[:, 0, None] + np.asarray(offsets(logits.shape[-2:]), np.float32)


def spd_coarse_mix(model, logits: np.ndarray):
    """The share of the base mixed one scale finer: a (h, w) map when the network predicts it (a third
    logit per exposure: the sigmoid of its mean over the exposures), else the model's constant.
    The numpy twin of :func:`hdrdesk.core.spd.coarse_mix_of`."""
    if logits.shape[1] >= 3:
        return (1.0 / (1.0 + np.exp(-logits[:, 2].mean(axis=0)))).astype(np.float32)
    return getattr(model.config, "coarse_mix", 0.0)


def spd_detail_gain(model, size: Sequence[int]) -> np.ndarray | None:
    """The log gain on each scale's fused signal strength, (S, h, w) at ``size``, when the model has one
    (a refined bracket: ``model.detail_gains(size)``); else None (the decomposition's own contrast)."""
    gains = getattr(model, "detail_gains", None)
    return None if gains is None else np.asarray(gains(size), np.float32)


def fuse_spd(model, images: Sequence[np.ndarray], device=None, task=None, out_dtype=np.float32) -> np.ndarray:
    """Fuse RGB (or grey) frames (uint8/uint16/float32 in [0, 1], darkest first) with a v2 network:
    it sees the bracket's luma at its working size and predicts a detail and a base logit map per
    exposure, which drive FMMEF's structural patch decomposition (:func:`hdrdesk.core.fmmef.fmmef_fuse_into`,
    whose torch twin :func:`hdrdesk.core.spd.spd_fuse` trains it). Returns HxWx3 (HxW for grey) in
    ``out_dtype``. :func:`finish_fusion` runs the same two steps (and keeps the weight maps).
    """
    task = task or null_task()
    task.report(0.05, "Predicting weights")
    _, logits = spd_logits(model, images, device)
    task.report(0.2, "Fusing")
    return spd_decompose(model, images, logits, out_dtype, task.sub(0.2, 1.0))


def fuse_spd_torch(model, images: Sequence[np.ndarray], device=None) -> np.ndarray:
    """:func:`fuse_spd` as torch ops on ``device`` (the GPU path): one transfer in (the frames in their
    own integer type), the network, the decomposition (:func:`hdrdesk.core.spd.spd_fuse`), one transfer
    out. Float32 RGB (or grey) in [0, 1]; a test checks it against the OpenCV path on CPU tensors."""
    import torch

    from hdrdesk.core.spd import coarse_mix_of, network_input, spd_fuse

    dev = torch.device(device) if device is not None else next(model.parameters()).device
    scale = 1.0 / (255.0 if images[0].dtype == np.uint8 else 65535.0 if images[0].dtype == np.uint16 else 1.0)
    with torch.inference_mode():
        x = torch.from_numpy(np.stack(images)).to(dev).float() * scale
        x = x.permute(0, 3, 1, 2)[None] if x.dim() == 4 else x[None, :, None]
        rgb = x if x.shape[2] == 3 else x.expand(-1, -1, 3, -1, -1)
        logits = model(network_input(rgb, _spd_working_size(model)))
        detail = logits[:, :, 0]
        if getattr(model, "detail_offsets", None) is not None:  # per-scale detail maps (see spd_detail_maps)
            detail = detail[:, :, None] + torch.as_tensor(model.detail_offsets(logits.shape[-2:]), device=dev)[None]
        gain = spd_detail_gain(model, logits.shape[-2:])
        gain = None if gain is None else torch.as_tensor(gain, device=dev)[None, None]
        mix = coarse_mix_of(logits, getattr(model.config, "coarse_mix", 0.0))
        out = spd_fuse(
            x, detail, logits[:, :, 1], extra_levels=getattr(model.config, "extra_levels", 0), detail_gain=gain, coarse_mix=mix,
        )[0]
        out = out.permute(1, 2, 0) if out.shape[0] == 3 else out[0]
        return np.ascontiguousarray(out.cpu().numpy(), dtype=np.float32)


def spd_weight_maps(luma_low: np.ndarray, logits: np.ndarray, shape: tuple[int, int], radius: int = 4, p: float = 4.0) -> np.ndarray:
    """What each exposure contributes, for overlays: its share of structure at the network's working
    resolution, ``m_k c_k^p / sum_j m_j c_j^p`` (signal strength ``c`` of the 9x9 patches of the luma
    ``luma_low`` (K, h, w), ``m = exp(detail logit)``), lifted bilinearly to ``shape`` (H, W).
    (K, H, W) float32, summing to 1 over K."""
    k, wh, ww = luma_low.shape
    h, w = shape
    ksize = (2 * radius + 1, 2 * radius + 1)
    share = np.empty((k, wh, ww), np.float64)
    for i in range(k):
        y = luma_low[i].astype(np.float64)
        mu = cv2.boxFilter(y, -1, ksize, borderType=cv2.BORDER_REFLECT_101)
        var = np.maximum(cv2.boxFilter(y * y, -1, ksize, borderType=cv2.BORDER_REFLECT_101) - mu * mu, 0.0)
        share[i] = p / 2.0 * np.log(var + 1e-8) + np.clip(logits[i, 0], -50, 50)
    share = np.exp(share - share.max(axis=0, keepdims=True))
    share /= share.sum(axis=0, keepdims=True)
    out = np.empty((k, h, w), np.float32)
    for i in range(k):
        out[i] = share[i].astype(np.float32) if (wh, ww) == (h, w) else cv2.resize(share[i].astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def lift_weights(
    w_low: np.ndarray, luma_low: np.ndarray, luma_full: Sequence[np.ndarray], radius: int = 2, eps: float = 1e-3
) -> np.ndarray:
    """Guided upsampling of each exposure's weights to full resolution, clipped and renormalised.

    The fast guided filter per exposure (coefficients from
    :func:`hdrdesk.core.guided.guided_coefficients` at the working size, resized bilinearly and
    applied to the full-resolution luma), written into one (K, H, W) array with a single
    full-size temporary.
    """
    k = len(luma_full)
    h, w = luma_full[0].shape
    out = np.empty((k, h, w), np.float32)
    _lift_into([out[i] for i in range(k)], w_low, luma_low, luma_full, radius, eps)
    return out


def _lift_into(
    planes: list[np.ndarray], w_low: np.ndarray, luma_low: np.ndarray, luma_full: Sequence[np.ndarray], radius: int, eps: float
) -> None:
    k = len(luma_full)
    h, w = luma_full[0].shape
    tmp = np.empty((h, w), np.float32)
    for i in range(k):
        out = planes[i]
        if w_low.shape[1:] == (h, w):
            out[...] = w_low[i]
        else:
            a, b = guided_coefficients(
                np.ascontiguousarray(luma_low[i], dtype=np.float32), np.ascontiguousarray(w_low[i], dtype=np.float32), radius, eps
            )
            cv2.resize(a, (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
            cv2.multiply(out, _f32(luma_full[i]), dst=out)
            cv2.resize(b, (w, h), dst=tmp, interpolation=cv2.INTER_LINEAR)
            cv2.add(out, tmp, dst=out)
        cv2.max(out, 0.0, dst=out)
    total = tmp
    total.fill(WEIGHT_EPS)
    for i in range(k):
        cv2.add(total, planes[i], dst=total)
    for i in range(k):
        cv2.divide(planes[i], total, dst=planes[i])


def _f32(a: np.ndarray) -> np.ndarray:
    return a if a.dtype == np.float32 and a.flags.c_contiguous else np.ascontiguousarray(a, dtype=np.float32)


def fuse_luma_chroma(ys: Sequence[np.ndarray], cbs: Sequence[np.ndarray], crs: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Luma by pyramid blending of ``weights``; chroma by the |C - 0.5| rule. Returns RGB."""
    y = blend_luma([_f32(v) for v in ys], [_f32(v) for v in weights])
    return compose_rgb(y, _fuse_chroma(cbs), _fuse_chroma(crs))


def _fuse_chroma(cs: Sequence[np.ndarray]) -> np.ndarray:
    num = np.zeros(cs[0].shape, np.float32)
    den = np.zeros(cs[0].shape, np.float32)
    tmp = np.empty(cs[0].shape, np.float32)
    for c in cs:
        _chroma_accumulate(_f32(c), num, den, tmp)
    return cv2.divide(num, den, dst=num)


def _chroma_accumulate(c: np.ndarray, num: np.ndarray, den: np.ndarray, tmp: np.ndarray) -> None:
    """num += C w, den += w with w = |C - 0.5| + eps (all float32, same shape; tmp is scratch)."""
    cv2.absdiff(c, 0.5, dst=tmp)
    cv2.add(tmp, CHROMA_EPS, dst=tmp)
    cv2.accumulate(tmp, den)
    cv2.accumulateProduct(tmp, c, num)


def blend_luma(images: Sequence[np.ndarray], weights: Sequence[np.ndarray], consume: bool = False) -> np.ndarray:
    """Laplacian-pyramid blend, the operator of :func:`hdrdesk.core.pyramid.blend_cv` (same levels,
    same OpenCV pyrDown/pyrUp), with far less memory: the finest level of every pyramid is the
    input itself, one full-size scratch plane is reused, products are accumulated in place.

    ``consume=True`` (``images`` and ``weights`` are lists): each exposure's entries are set
    to None once blended, so their memory can go before the next exposure's.
    """
    from hdrdesk.core.pyramid import pyramid_levels  # no torch needed for this (pyramid imports it, though)

    h, w = images[0].shape[:2]
    n = pyramid_levels(h, w)
    acc: list[np.ndarray] = []
    up: list[np.ndarray | None] = [None] * n  # scratch per level, reused across exposures
    for k in range(len(images)):
        img, wt = images[k], weights[k]
        if consume:
            images[k] = weights[k] = None  # type: ignore[index]
        gi, gw = [img], [wt]
        for _ in range(n - 1):
            gi.append(cv2.pyrDown(gi[-1]))
            gw.append(cv2.pyrDown(gw[-1]))
        if not acc:
            acc = [np.zeros(g.shape, np.float32) for g in gi]
        for lvl in range(n - 1):
            size = (gi[lvl].shape[1], gi[lvl].shape[0])
            u = up[lvl]
            u = cv2.pyrUp(gi[lvl + 1], dst=u, dstsize=size)
            up[lvl] = u
            cv2.subtract(gi[lvl], u, dst=u)  # Laplacian level
            cv2.accumulateProduct(u, gw[lvl], acc[lvl])
        cv2.accumulateProduct(gi[-1], gw[-1], acc[-1])
        del gi, gw, img, wt
    out = acc[-1]
    for lvl in range(n - 2, -1, -1):
        size = (acc[lvl].shape[1], acc[lvl].shape[0])
        u = cv2.pyrUp(out, dst=up[lvl], dstsize=size)
        cv2.add(acc[lvl], u, dst=acc[lvl])
        out = acc[lvl]
        up[lvl] = None
    return out


def compose_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, dtype=np.float32) -> np.ndarray:
    """Y, Cb, Cr float32 planes -> RGB clipped to [0, 1]: float32, or uint8/uint16 rounded to nearest.

    Row strips: no full-size 3-channel float temporaries (and, for integer output,
    no full-size float image at all).
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"output type {dtype} (float32, uint8 or uint16)")
    h, w = y.shape
    out = np.empty((h, w, 3), dtype)
    rows = max(1, min(h, STRIP_PIXELS // max(w, 1)))
    ycc = np.empty((rows, w, 3), np.float32)
    rgb = np.empty((rows, w, 3), np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        n = r1 - r0
        cv2.merge([y[r0:r1], cr[r0:r1], cb[r0:r1]], ycc[:n])
        dst = out[r0:r1] if dtype == np.float32 else rgb[:n]
        cv2.cvtColor(ycc[:n], cv2.COLOR_YCrCb2RGB, dst=dst)
        flat = dst.reshape(n, w * 3)
        cv2.max(flat, 0.0, dst=flat)
        if dtype == np.uint8:
            cv2.convertScaleAbs(flat, dst=out[r0:r1].reshape(n, w * 3), alpha=255.0)
        else:
            cv2.min(flat, 1.0, dst=flat)
            if dtype == np.uint16:
                cv2.multiply(flat, 65535.0, dst=out[r0:r1].reshape(n, w * 3), dtype=cv2.CV_16U)
    return out


_LUT8 = (np.arange(256, dtype=np.float32) / np.float32(255.0)).reshape(1, 256)


def _to_unit_float(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """uint8/uint16 -> float32 in [0, 1] into ``dst`` (a LUT for 8 bit: one pass, no float64)."""
    if src.dtype == np.uint8:
        cv2.LUT(src, _LUT8, dst=dst)
    else:
        np.multiply(src, np.float32(1.0 / 65535.0), out=dst, dtype=np.float32)
    return dst


def _luma_and_chroma(frames: Sequence[Frame], low_shape: tuple[int, int], task) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution BT.601 luma of every frame, its working-resolution copy, and the fused chroma.

    Row strips, every frame per strip: the colour conversion and the chroma rule run on
    small cache-resident buffers; only one luma plane per frame and the two fused
    chroma planes are full size.
    """
    h, w = frames[0].data.shape[:2]
    wh, ww = low_shape
    k = len(frames)
    for f in frames:
        if f.data.shape[:2] != (h, w) or (f.data.ndim == 3 and f.data.shape[2] != 3) or f.data.ndim != frames[0].data.ndim:
            raise InputError(f"{f.path}: frames must share one size and be all RGB or all gray (harmonise them first)")
    ys = [np.empty((h, w), np.float32) for _ in range(k)]
    colour = frames[0].data.ndim == 3
    if colour:
        rows = max(1, min(h, STRIP_PIXELS // max(w, 1)))
        rgb = np.empty((rows, w, 3), np.float32)
        ycc = np.empty((rows, w, 3), np.float32)
        c_cr = np.empty((rows, w), np.float32)
        c_cb = np.empty((rows, w), np.float32)
        sums = [np.empty((rows, w), np.float32) for _ in range(4)]  # num/den of Cb, num/den of Cr
        tmp = np.empty((rows, w), np.float32)
        cb_f = np.empty((h, w), np.float32)
        cr_f = np.empty((h, w), np.float32)
        for r0 in range(0, h, rows):
            r1 = min(h, r0 + rows)
            n = r1 - r0
            num_b, den_b, num_r, den_r = (s[:n] for s in sums)
            for s in (num_b, den_b, num_r, den_r):
                s.fill(0.0)
            for f, y in zip(frames, ys):
                _to_unit_float(f.data[r0:r1], rgb[:n])
                cv2.cvtColor(rgb[:n], cv2.COLOR_RGB2YCrCb, dst=ycc[:n])
                cv2.split(ycc[:n], [y[r0:r1], c_cr[:n], c_cb[:n]])
                _chroma_accumulate(c_cb[:n], num_b, den_b, tmp[:n])
                _chroma_accumulate(c_cr[:n], num_r, den_r, tmp[:n])
            cv2.divide(num_b, den_b, dst=cb_f[r0:r1])
            cv2.divide(num_r, den_r, dst=cr_f[r0:r1])
            task.check()
        del rgb, ycc, c_cr, c_cb, sums, tmp
    else:
        for f, y in zip(frames, ys):
            _to_unit_float(f.data, y)
        cb_f = np.full((h, w), 0.5, np.float32)
        cr_f = cb_f
    lows = np.empty((k, wh, ww), np.float32)
    for i, y in enumerate(ys):
        if (wh, ww) == (h, w):
            lows[i] = y
        else:
            cv2.resize(y, (ww, wh), dst=lows[i], interpolation=cv2.INTER_AREA)
    return ys, lows, cb_f, cr_f


# ----------------------------------------------------------------- fusion


@dataclass
class PreparedBracket:
    """A bracket after the work that needs no network: alignment and colour conversion.

    :func:`prepare_fusion` makes it, :func:`finish_fusion` turns it into a result. The
    split lets a batch prepare the next bracket while the current one is being fused.
    """

    frames: list[Frame]
    alignment: list[AlignInfo]
    options: FusionOptions
    shape: tuple[int, int]
    ys: list[np.ndarray] | None = None  # full-resolution luma per frame (cnn)
    luma_low: np.ndarray | None = None  # (K, h, w) working-resolution luma (cnn)
    cb: np.ndarray | None = None  # fused chroma planes (cnn)
    cr: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    keep_frames: bool = True  # False: the frames' pixels go once fused (CLI, batch)
    motion_masks: list[np.ndarray] | None = None  # per frame, when deghosted (1 = taken from the reference)
    reference: int | None = None  # the deghosting reference frame (0-based), when deghosted


def prepare_fusion(
    frames: Sequence[Frame], options: FusionOptions | None = None, task: TaskState | None = None, *, keep_frames: bool = True
) -> PreparedBracket:
    """Check, align and colour-convert a loaded bracket (darkest first). No torch needed.

    ``keep_frames=False`` (cnn only) drops the frames' pixels once converted: the result's
    ``frames`` is then empty, and if ``frames`` is a list it is emptied too, so that an
    original replaced by its aligned copy can go at once. Saves memory where nobody looks
    at the frames again (CLI, batch).
    """
    options = options or FusionOptions()
    options.validate()
    task = task or null_task()
    check_bracket(frames)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    given = frames
    frames = list(frames)
    if not keep_frames and isinstance(given, list):
        given.clear()  # the caller's list: an original replaced by its aligned copy can go at once
    alignment: list[AlignInfo]
    if options.align:
        task.report(0.0, "Aligning")
        aligned, alignment = align_frames(
            frames, progress=lambda f: task.report(0.25 * f, "Aligning"), size=options.align_size, release=not keep_frames
        )
        frames = aligned
        del aligned
    else:
        alignment = [AlignInfo(name=f.path.name, note="alignment off") for f in frames]
    timings["align"] = time.perf_counter() - t0
    task.check()
    motion_masks = reference = None
    if options.deghost != "off":  # after alignment: mask only what still moves
        from hdrdesk.core.deghost import deghost_frames

        t1 = time.perf_counter()
        task.report(0.27, "Deghosting")
        ghost = deghost_frames(frames, options.deghost, options.reference)
        frames, motion_masks, reference = ghost.frames, ghost.masks, ghost.reference
        timings["deghost"] = time.perf_counter() - t1
    h, w = frames[0].data.shape[:2]
    prep = PreparedBracket(frames, alignment, options, (h, w), timings=timings, motion_masks=motion_masks, reference=reference)
    if options.method in ("mertens", "fmmef"):  # they work on the frames themselves
        return prep
    # The network path converts in finish_fusion: what it needs depends on the model
    # (v2 networks fuse the colour frames, v1 networks luma and chroma planes).
    prep.keep_frames = keep_frames
    return prep


def _convert_for_pyramid(prep: PreparedBracket, task) -> None:
    """v1 networks: full-resolution luma, its working-resolution copy and fused chroma; frames
    dropped unless kept."""
    task.report(0.3, "Preparing exposures")
    t1 = time.perf_counter()
    h, w = prep.shape
    wh, ww = working_shape(h, w, prep.options.working_size)
    frames = prep.frames
    if not prep.keep_frames:
        prep.frames = []
    prep.ys, prep.luma_low, prep.cb, prep.cr = _luma_and_chroma(frames, (wh, ww), task)
    del frames
    prep.timings["prepare"] = time.perf_counter() - t1


def finish_fusion(prep: PreparedBracket, task: TaskState | None = None, *, model=None, out_dtype=np.float32) -> FusionResult:
    """Network, weight lifting and blending of a :class:`PreparedBracket` (which it consumes).

    ``out_dtype`` np.uint8 or np.uint16 makes ``result.image`` integer RGB (rounded to
    nearest) instead of float32: what an 8/16-bit file needs, without a float copy.
    """
    result = _finish(prep, task or null_task(), model, out_dtype)
    result.motion_masks, result.reference = prep.motion_masks, prep.reference
    return result


def _finish(prep: PreparedBracket, task: TaskState, model, out_dtype) -> FusionResult:
    """:func:`finish_fusion` for each method (which adds what prepare_fusion found, the motion masks)."""
    options = prep.options
    timings = prep.timings
    t0 = time.perf_counter()
    if options.method == "mertens":
        image = fuse_mertens(prep.frames, task)
        if np.dtype(out_dtype) != np.float32:
            from hdrdesk.core.io import to_uint

            image = to_uint(image, 8 if np.dtype(out_dtype) == np.uint8 else 16)
        timings["mertens"] = time.perf_counter() - t0
        timings["total"] = sum(timings.values())
        return FusionResult(image, None, prep.frames, prep.alignment, "mertens", "OpenCV Mertens", "cpu", timings)
    if options.method == "fmmef":
        return _finish_fmmef(prep, task, out_dtype)

    net = model if model is not None else options.model
    if net is not None:
        card = dict(getattr(net, "card", None) or {})
        dev = next(net.parameters()).device
        name = card.get("name") or "in-memory model"
    else:
        net, card, dev = get_model(options.model_path, options.device)
        name = card.get("name") or (Path(options.model_path).stem if options.model_path else "default")
    if is_spd_model(net):
        return _finish_spd(prep, net, str(name), dev, task, out_dtype)
    if prep.ys is None:
        _convert_for_pyramid(prep, task)
    t1 = time.perf_counter()
    task.report(0.45, "Predicting weights")
    luma_low = prep.luma_low
    w_low = predict_weights(net, luma_low, dev)
    timings["network"] = time.perf_counter() - t1
    task.report(0.65, "Lifting weights to full resolution")
    t1 = time.perf_counter()
    ys = prep.ys
    prep.luma_low = prep.ys = None
    if options.keep_weights:
        weights = lift_weights(w_low, luma_low, ys, options.guided_radius, options.guided_eps)
        planes = list(weights)
    else:  # separate planes, each freed as soon as it is blended
        weights = None
        planes = [np.empty(ys[0].shape, np.float32) for _ in ys]
        _lift_into(planes, w_low, luma_low, ys, options.guided_radius, options.guided_eps)
    del luma_low, w_low
    timings["lift"] = time.perf_counter() - t1
    task.report(0.8, "Blending")
    t1 = time.perf_counter()
    y = blend_luma(ys, planes, consume=True)
    del ys, planes
    image = compose_rgb(y, prep.cb, prep.cr, out_dtype)
    prep.cb = prep.cr = None
    del y
    timings["blend"] = time.perf_counter() - t1
    timings["total"] = sum(v for k, v in timings.items() if k != "total")
    task.report(1.0, "Done")
    return FusionResult(image, weights, prep.frames, prep.alignment, "cnn", str(name), str(dev), timings)


def _finish_spd(prep: PreparedBracket, net, name: str, dev, task, out_dtype) -> FusionResult:
    """v2 network: learned weights in FMMEF's structural patch decomposition (see :func:`fuse_spd`)."""
    t0 = time.perf_counter()
    images = [f.data for f in prep.frames]
    weights = None
    if str(dev) != "cpu":  # GPU: the whole fusion on the device, one transfer in and one out
        task.report(0.3, "Fusing on " + str(dev))
        image = fuse_spd_torch(net, images, dev)
        if np.dtype(out_dtype) != np.float32:
            from hdrdesk.core.io import to_uint

            image = to_uint(image, 8 if np.dtype(out_dtype) == np.uint8 else 16)
    else:
        task.report(0.3, "Predicting weights")
        luma_low, logits = spd_logits(net, images, dev)
        prep.timings["network"] = time.perf_counter() - t0
        if prep.options.keep_weights:
            weights = spd_weight_maps(luma_low, logits, prep.shape)
        t0 = time.perf_counter()
        task.report(0.4, "Fusing")
        image = spd_decompose(net, images, logits, out_dtype, task.sub(0.4, 1.0))
    del images
    if image.ndim == 2:  # grey bracket: RGB like the other methods
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    prep.timings["fuse"] = time.perf_counter() - t0
    prep.timings["total"] = sum(v for k, v in prep.timings.items() if k != "total")
    frames = prep.frames if prep.keep_frames else []
    return FusionResult(image, weights, frames, prep.alignment, "cnn", name, str(dev), prep.timings)


def _finish_fmmef(prep: PreparedBracket, task, out_dtype) -> FusionResult:
    """FMMEF (Li, Ma, Yong, Zhang, TIP 2020) on the (aligned) frames; see hdrdesk.core.fmmef."""
    from hdrdesk.core.fmmef import fmmef_fuse_into

    t0 = time.perf_counter()
    image = fmmef_fuse_into([f.data for f in prep.frames], out_dtype, task=task.sub(0.35, 1.0))
    if image.ndim == 2:  # grey bracket: RGB like the other methods
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    prep.timings["fmmef"] = time.perf_counter() - t0
    prep.timings["total"] = sum(v for k, v in prep.timings.items() if k != "total")
    return FusionResult(image, None, prep.frames, prep.alignment, "fmmef", "FMMEF", "cpu", prep.timings)


def fuse_frames(
    frames: Sequence[Frame], options: FusionOptions | None = None, task: TaskState | None = None, *, model=None
) -> FusionResult:
    """Fuse a loaded bracket (darkest first). Reports progress and honours cancellation via ``task``.

    ``model`` (or ``options.model``): an already-loaded network (a torch module) to use
    instead of loading ``options.model_path``, e.g. a model in training being validated.
    """
    return finish_fusion(prepare_fusion(frames, options, task), task, model=model)


def fuse_mertens(frames: Sequence[Frame], task: TaskState | None = None, contrast: float = 1.0, saturation: float = 1.0, exposure: float = 0.0) -> np.ndarray:
    """OpenCV's exposure fusion (createMergeMertens) on the same frames; float RGB [0,1].

    The defaults here are the project's 'Mertens default' anchor
    (contrast 1, saturation 1, exposure 0, as ``createMergeMertens()``).
    """
    task = task or null_task()
    task.report(0.4, "Mertens fusion")
    merge = cv2.createMergeMertens(contrast, saturation, exposure)
    imgs = []
    for f in frames:
        # OpenCV scales every input by 1/255, whatever its depth: 16-bit frames go in as float 0-255
        d = f.data if f.data.dtype == np.uint8 else f.data.astype(np.float32) * np.float32(255.0 / 65535.0)
        # OpenCV's Mertens expects BGR (its contrast measure converts with fixed channel weights):
        # give it what cv2.imread would, so scores match the usual OpenCV use (and the anchors)
        imgs.append(cv2.cvtColor(d, cv2.COLOR_GRAY2BGR if d.ndim == 2 else cv2.COLOR_RGB2BGR))
    out = merge.process(imgs)
    del imgs
    task.report(1.0, "Done")
    h, w = out.shape[:2]
    out = cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
    flat = out.reshape(h, w * 3)
    cv2.max(flat, 0.0, dst=flat)
    cv2.min(flat, 1.0, dst=flat)
    return out
