"""Training data: brackets from folders, cached as luma at the working size, sampled as random crops.

Accepted layouts: a folder of scene folders (frames sorted darkest first by
name, as in shared/data/brackets), a single scene folder, or a user's mixed
folder of shots, grouped into brackets by EXIF capture time (see
:func:`group_mixed_folder`). Unreadable files are skipped and reported.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
import torch

from hdrdesk.core.io import Frame, list_images, order_frames, read_frame
from hdrdesk.errors import InputError
from hdrdesk.scenes import bracket_folders, manifest_pair, read_scene_list  # noqa: F401  (read_scene_list: used by the loop and scripts)


@dataclass
class Scene:
    """One bracket: frame files (darkest first) and, once loaded, luma at cache size."""

    name: str
    files: list[Path]
    pair: tuple[int, int] | None = None  # indices of the under/over pair (manifest's mefb_pair)
    luma: np.ndarray | None = None  # (K, H, W) float32 in [0, 1]
    rgb: np.ndarray | None = None  # (K, H, W, 3) uint8, for whole-scene (spd) training

    @property
    def count(self) -> int:
        """Number of cached frames (whichever cache the scene holds)."""
        return (self.luma if self.rgb is None else self.rgb).shape[0]


@dataclass
class DataReport:
    scenes: int = 0
    frames: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.scenes} brackets, {self.frames} frames"
        if self.skipped:
            text += f"; skipped {len(self.skipped)}: " + "; ".join(self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
        return text


def _manifest_pair(folder: Path, files: list[Path], report: DataReport | None = None) -> tuple[int, int] | None:
    """Indices into ``files`` of the manifest's under/over pair; a bad manifest is reported, not fatal."""
    try:
        pair = manifest_pair(folder)
    except InputError as exc:
        if report is not None:
            report.skipped.append(f"{exc} (pair track uses the darkest and brightest frames)")
        return None
    names = [f.name for f in files]
    if pair is None or pair[0] not in names or pair[1] not in names:
        return None
    return names.index(pair[0]), names.index(pair[1])


def _capture_time(path: Path) -> datetime | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
            raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
        return datetime.strptime(str(raw).strip("\x00"), "%Y:%m:%d %H:%M:%S") if raw else None
    except Exception:
        return None


def group_mixed_folder(folder: Path, gap_seconds: float = 2.0, report: DataReport | None = None) -> list[Scene]:
    """Group a folder of mixed shots into brackets: consecutive captures within ``gap_seconds``
    whose exposures differ. Files without a capture time form one bracket per folder if they
    share a size; otherwise they are skipped."""
    report = report or DataReport()
    files = list_images(folder)
    timed, untimed = [], []
    for f in files:
        t = _capture_time(f)
        (timed if t else untimed).append((t, f))
    groups: list[list[Path]] = []
    for t, f in sorted(timed, key=lambda x: (x[0], x[1].name)):
        if groups and (t - prev).total_seconds() <= gap_seconds:
            groups[-1].append(f)
        else:
            groups.append([f])
        prev = t
    if untimed:
        groups.append([f for _, f in untimed])
    scenes = []
    for i, g in enumerate(groups):
        if len(g) < 2:
            report.skipped.append(f"{g[0].name}: no other exposure of the same scene")
            continue
        scenes.append(Scene(name=f"{folder.name}#{i + 1}", files=g))
    return scenes


def discover_scenes(roots: Iterable[str | Path], exclude: Sequence[str] = (), only: Sequence[str] | None = None, report: DataReport | None = None) -> list[Scene]:
    """Scenes under the given folders (see module doc). ``exclude`` names never used (validation)."""
    report = report or DataReport()
    scenes: list[Scene] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{root}: data folder not found")
        for folder in bracket_folders(root):
            if folder.name in exclude or (only is not None and folder.name not in only):
                continue
            try:
                files = list_images(folder)
            except OSError as exc:
                report.skipped.append(f"{folder.name}: cannot be read ({exc.strerror or exc})")
                continue
            if not files:
                continue
            if (folder / "manifest.json").is_file() or len(files) <= 12:
                if len(files) < 2:
                    report.skipped.append(f"{folder.name}: a single frame")
                    continue
                scenes.append(Scene(name=folder.name, files=files, pair=_manifest_pair(folder, files, report)))
            else:
                scenes.extend(group_mixed_folder(folder, report=report))
    return scenes


def _to_luma_small(frame: Frame, max_side: int) -> np.ndarray:
    from hdrdesk.core.color import luma

    y = luma(frame.rgb_float())
    h, w = y.shape
    short = min(h, w)
    if max_side and short > max_side:
        s = max_side / short
        y = cv2.resize(y, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return y


def _to_rgb8_small(frame: Frame, max_side: int) -> np.ndarray:
    rgb = frame.rgb_float()
    h, w = rgb.shape[:2]
    if max_side and min(h, w) > max_side:
        s = max_side / min(h, w)
        rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return (np.clip(rgb, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def load_scenes(scenes: list[Scene], max_side: int, report: DataReport | None = None, order_by_content: bool = False, colour: bool = False) -> list[Scene]:
    """Read every scene's frames into luma caches (``colour``: RGB uint8 caches, ``Scene.rgb``, for
    whole-scene spd training); scenes that cannot be used are reported and dropped."""
    report = report or DataReport()
    out = []
    for sc in scenes:
        frames = []
        for f in sc.files:
            try:
                frames.append(read_frame(f, colour_manage=False))  # as stored: reproducible with earlier models
            except InputError as exc:
                report.skipped.append(str(exc))
        if order_by_content:
            frames = order_frames(frames)
        if len(frames) < 2:
            report.skipped.append(f"{sc.name}: fewer than two readable frames")
            continue
        sizes = {fr.size for fr in frames}
        if len(sizes) > 1:
            report.skipped.append(f"{sc.name}: frames of different sizes {sorted(sizes)}")
            continue
        cache = np.stack([(_to_rgb8_small if colour else _to_luma_small)(fr, max_side) for fr in frames])
        if min(cache.shape[1:3]) < 32:
            report.skipped.append(f"{sc.name}: too small ({cache.shape[2]}x{cache.shape[1]})")
            continue
        pair = sc.pair if sc.pair and len(frames) == len(sc.files) else None
        files = [fr.path for fr in frames]
        out.append(Scene(name=sc.name, files=files, pair=pair, rgb=cache) if colour else Scene(name=sc.name, files=files, pair=pair, luma=cache))
        report.frames += len(frames)
    report.scenes = len(out)
    return out


class CropSampler:
    """Random training batches (B, K, crop, crop) from cached scenes.

    A batch is either an under/over pair (the manifest pair or the darkest and
    brightest frames) or a sequence of K >= 2 frames that always includes the
    darkest and the brightest. Random rescale, crop, flips and transposes.
    """

    def __init__(self, scenes: list[Scene], crop: int, frames_per_batch: int, max_exposures: int, pair_prob: float, scale_min: float, seed: int,
                 whole_prob: float = 0.0, whole_size: tuple[int, int] = (128, 192)) -> None:
        if not scenes:
            raise InputError("no usable training brackets (each needs two or more readable frames of one size)")
        self.scenes = scenes
        self.crop = crop
        self.frames_per_batch = frames_per_batch
        self.max_exposures = max_exposures
        self.pair_prob = pair_prob
        self.scale_min = scale_min
        self.rng = random.Random(seed)
        self.whole_prob = whole_prob
        self.whole_size = whole_size

    def _frames_for(self, sc: Scene, k: int) -> list[int]:
        n = sc.count
        if k == 2:
            if sc.pair and self.rng.random() < 0.5:
                return list(sc.pair)
            return [0, n - 1]
        middle = sorted(self.rng.sample(range(1, n - 1), k - 2))
        return [0, *middle, n - 1]

    def _crop(self, stack: np.ndarray) -> np.ndarray:
        k, h, w = stack.shape
        c = self.crop
        s = self.rng.uniform(self.scale_min, 1.0)
        if min(h, w) * s < c:
            s = c / min(h, w)
        if abs(s - 1.0) > 1e-3:
            nh, nw = max(c, round(h * s)), max(c, round(w * s))
            stack = np.stack([cv2.resize(x, (nw, nh), interpolation=cv2.INTER_AREA) for x in stack])
            h, w = nh, nw
        y0 = self.rng.randint(0, h - c)
        x0 = self.rng.randint(0, w - c)
        out = stack[:, y0 : y0 + c, x0 : x0 + c]
        if self.rng.random() < 0.5:
            out = out[:, :, ::-1]
        if self.rng.random() < 0.5:
            out = out[:, ::-1, :]
        if self.rng.random() < 0.5:
            out = out.transpose(0, 2, 1)
        return np.ascontiguousarray(out)

    def _whole(self, stack: np.ndarray) -> np.ndarray:
        """The whole scene resized to ``whole_size`` (landscape; portrait scenes transposed)."""
        if stack.shape[1] > stack.shape[2]:
            stack = stack.transpose(0, 2, 1)
        h, w = self.whole_size
        out = np.stack([cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA) for x in stack])
        if self.rng.random() < 0.5:
            out = out[:, :, ::-1]
        return np.ascontiguousarray(out)

    def _draw_k(self) -> tuple[int, list[Scene]]:
        """How many exposures the next batch has, and the scenes that have that many."""
        if self.rng.random() < self.pair_prob:
            k = 2
        else:
            most = min(self.max_exposures, max(sc.count for sc in self.scenes))
            k = self.rng.randint(2, max(2, most))
        pool = [sc for sc in self.scenes if sc.count >= k] or self.scenes
        return min(k, min(sc.count for sc in pool)), pool

    def sample(self) -> torch.Tensor:
        k, pool = self._draw_k()
        b = max(1, self.frames_per_batch // k)
        whole = self.whole_prob > 0 and self.rng.random() < self.whole_prob
        batch = []
        for _ in range(b):
            sc = self.rng.choice(pool)
            idx = self._frames_for(sc, k)
            batch.append(self._whole(sc.luma[idx]) if whole else self._crop(sc.luma[idx]))
        return torch.from_numpy(np.stack(batch))


# ------------------------------------------------------------------ whole scenes in colour (spd models)


class WholeSceneSampler(CropSampler):
    """One whole bracket a batch, (1, K, 3, H, W) float in [0, 1]: random scale (short side in
    ``[scale_min, 1] * max_side``), flips and transposes; pairs or sequences as :class:`CropSampler`."""

    def sample(self) -> torch.Tensor:
        k, pool = self._draw_k()
        sc = self.rng.choice(pool)
        stack = sc.rgb[self._frames_for(sc, k)]
        _, h, w, _ = stack.shape
        s = self.rng.uniform(self.scale_min, 1.0)
        if abs(s - 1.0) > 1e-3 and min(h, w) * s >= 64:
            nh, nw = round(h * s), round(w * s)
            stack = np.stack([cv2.resize(x, (nw, nh), interpolation=cv2.INTER_AREA) for x in stack])
        if self.rng.random() < 0.5:
            stack = stack[:, :, ::-1]
        if self.rng.random() < 0.5:
            stack = stack[:, ::-1, :]
        if self.rng.random() < 0.5:
            stack = stack.transpose(0, 2, 1, 3)
        t = torch.from_numpy(np.ascontiguousarray(stack)).permute(0, 3, 1, 2).float() / 255.0
        return t[None]
