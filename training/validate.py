"""Validation: MEF-SSIM of a model in memory on held-back scenes, through the app's own fusion path.

Frames are read once and cached. Scoring follows the project's convention
(shared/data/anchors.md): the fused result is rounded to 8 bits, converted to
gray with MATLAB's rgb2gray and scored against the same frames' gray copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from hdrdesk.core.color import rgb_to_ycbcr
from hdrdesk.core.fusion import fuse_luma_chroma, lift_weights, predict_weights, working_shape
from hdrdesk.core.io import read_frame, to_uint
from hdrdesk.core.mefssim import mef_ssim, rgb_to_gray_matlab
from hdrdesk.training.data import Scene


@dataclass
class _Case:
    scene: str
    track: str
    ycc: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    gray: np.ndarray  # (K, H, W) uint8, the metric's inputs


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return to_uint(img, 8)  # the engine's one quantiser


class Validator:
    """Scores models on a fixed set of (scene, track) cases."""

    def __init__(self, scenes: Sequence[Scene], tracks: Sequence[str] = ("pair", "seq"), max_side: int = 0, working_size: int = 512) -> None:
        self.working_size = working_size
        self.cases: list[_Case] = []
        for sc in scenes:
            frames = [read_frame(f) for f in sc.files]
            rgbs = []
            for fr in frames:
                rgb = fr.rgb_float()
                h, w = rgb.shape[:2]
                if max_side and min(h, w) > max_side:
                    s = max_side / min(h, w)
                    rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
                rgbs.append(_to_uint8(rgb))  # the metric sees 8-bit frames
            for track in tracks:
                if track == "pair":
                    idx = list(sc.pair) if sc.pair else [0, len(rgbs) - 1]
                else:
                    idx = list(range(len(rgbs)))
                sel = [rgbs[i] for i in idx]
                ycc = [rgb_to_ycbcr(s.astype(np.float32) / 255.0) for s in sel]
                gray = np.stack([rgb_to_gray_matlab(s) for s in sel])
                self.cases.append(_Case(sc.name, track, ycc, gray))

    def fuse_case(self, model: torch.nn.Module, case: _Case) -> np.ndarray:
        ys = [c[0] for c in case.ycc]
        h, w = ys[0].shape
        wh, ww = working_shape(h, w, self.working_size)
        lows = np.stack([y if (wh, ww) == (h, w) else cv2.resize(y, (ww, wh), interpolation=cv2.INTER_AREA) for y in ys])
        w_low = predict_weights(model, lows)
        weights = lift_weights(w_low, lows, ys)
        return fuse_luma_chroma(ys, [c[1] for c in case.ycc], [c[2] for c in case.ycc], weights)

    def score(self, model: torch.nn.Module) -> dict:
        """{'pair': mean, 'seq': mean, 'mean': mean of tracks, 'per_scene': {(scene, track): score}}."""
        was_training = model.training
        model.eval()
        per: dict[str, dict[str, float]] = {}
        try:
            for case in self.cases:
                fused = self.fuse_case(model, case)
                q = mef_ssim(case.gray, rgb_to_gray_matlab(_to_uint8(fused)))
                per.setdefault(case.track, {})[case.scene] = q
        finally:
            model.train(was_training)
        out: dict = {t: float(np.mean(list(v.values()))) for t, v in per.items()}
        out["mean"] = float(np.mean([out[t] for t in per]))
        out["per_scene"] = per
        return out
