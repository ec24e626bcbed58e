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

from hdrdesk.core.fusion import FusionOptions, finish_fusion, prepare_fusion
from hdrdesk.core.io import ExposureInfo, Frame, read_frame, to_uint
from hdrdesk.core.mefssim import mef_ssim, rgb_to_gray_matlab
from hdrdesk.training.data import Scene


@dataclass
class _Case:
    scene: str
    track: str
    frames: list[Frame]  # the 8-bit frames that are fused (what the metric sees)
    gray: np.ndarray  # (K, H, W) uint8, the metric's inputs


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return to_uint(img, 8)  # the engine's one quantiser


def make_case(scene: str, track: str, rgb8: Sequence[np.ndarray]) -> _Case:
    """A scoring case from 8-bit RGB frames (darkest first)."""
    frames = [Frame(Path(f"{scene}/{i:02d}.png"), np.ascontiguousarray(x), ExposureInfo(), None) for i, x in enumerate(rgb8)]
    return _Case(scene, track, frames, np.stack([rgb_to_gray_matlab(x) for x in rgb8]))


class Validator:
    """Scores models on a fixed set of (scene, track) cases, fused by the app's own path
    (:func:`hdrdesk.core.fusion.prepare_fusion` / :func:`~hdrdesk.core.fusion.finish_fusion`)."""

    def __init__(self, scenes: Sequence[Scene], tracks: Sequence[str] = ("pair", "seq"), max_side: int = 0, working_size: int = 512) -> None:
        self.working_size = working_size
        self.cases: list[_Case] = []
        for sc in scenes:
            frames = [read_frame(f, colour_manage=False) for f in sc.files]  # as stored, like `hdrdesk eval`
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
                self.cases.append(make_case(sc.name, track, [rgbs[i] for i in idx]))

    def fuse_case(self, model: torch.nn.Module, case: _Case) -> np.ndarray:
        """The case fused by ``model``: float RGB in [0, 1], exactly as the app would fuse these frames."""
        options = FusionOptions(method="cnn", working_size=self.working_size, align=False, keep_weights=False)
        return finish_fusion(prepare_fusion(case.frames, options), model=model).image

    def score_case(self, model: torch.nn.Module, case: _Case) -> float:
        """MEF-SSIM of the case fused by ``model`` (8-bit result, MATLAB gray)."""
        return float(mef_ssim(case.gray, rgb_to_gray_matlab(_to_uint8(self.fuse_case(model, case)))))

    def score(self, model: torch.nn.Module) -> dict:
        """{'pair': mean, 'seq': mean, 'mean': mean of tracks, 'per_scene': {(scene, track): score}}."""
        was_training = model.training
        model.eval()
        per: dict[str, dict[str, float]] = {}
        try:
            for case in self.cases:
                q = self.score_case(model, case)
                per.setdefault(case.track, {})[case.scene] = q
        finally:
            model.train(was_training)
        out: dict = {t: float(np.mean(list(v.values()))) for t, v in per.items()}
        out["mean"] = float(np.mean([out[t] for t in per]))
        out["per_scene"] = per
        return out
