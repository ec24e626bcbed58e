"""``hdrdesk eval``: MEF-SSIM of a fusion method on a folder of scenes (Qt-free, reusable).

Scoring convention (as ``shared/data/anchors.md``): the fused result is rounded to
8 bits, converted to gray with MATLAB's ``rgb2gray`` and scored with 3-scale MEF-SSIM
against the same frames that were fused, as 8-bit gray images.

Tracks: ``seq`` fuses all of a scene's frames; ``pair`` fuses the under/over pair that
the scene's ``manifest.json`` records as ``mefb_pair``, else its darkest and brightest
frames (frame files are named so that a plain sort is darkest first).

The training code can validate a model in memory::

    from hdrdesk.evaluate import evaluate_scenes, mean_score
    scores = evaluate_scenes(root, scenes=val, track="pair", model=net)
    print(mean_score(scores))
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from hdrdesk.core.fusion import FusionOptions, fuse_frames, fuse_mertens, prepare_fusion
from hdrdesk.core.io import Frame, harmonise, list_images, read_frame, to_uint
from hdrdesk.errors import Cancelled, HDRDeskError, InputError, user_message
from hdrdesk.scenes import bracket_folders, manifest_pair, read_scene_list  # noqa: F401  (read_scene_list: part of this module's API)
from hdrdesk.tasks import TaskState, null_task

TRACKS = ("seq", "pair")
MERTENS_DEFAULT = (1.0, 1.0, 0.0)  # createMergeMertens(): contrast, saturation, exposure


@dataclass
class SceneScore:
    """One scene's result. ``score`` is NaN where the scene failed (``error`` says why)."""

    scene: str
    track: str
    frames: list[str]
    score: float
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and math.isfinite(self.score)


# ------------------------------------------------------------------ scenes


def list_scenes(root: str | os.PathLike, scenes: Sequence[str] | str | os.PathLike | None = None) -> list[Path]:
    """Scene folders under ``root`` (sorted), or the named ones (in the order given)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    names = read_scene_list(scenes) if not isinstance(scenes, list) else scenes
    if names is None:
        found = bracket_folders(root, include_root=False)
        if not found:
            raise InputError(f"{root}: holds no scene folders with images")
        return found
    missing = [n for n in names if not (root / n).is_dir()]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InputError(f"{root}: no scene folder {', '.join(missing[:3])}{more}")
    return [root / n for n in names]


def scene_files(scene_dir: str | os.PathLike, track: str = "seq") -> list[Path]:
    """The frames a track fuses, darkest first."""
    if track not in TRACKS:
        raise InputError(f"unknown track {track!r} (seq or pair)")
    scene_dir = Path(scene_dir)
    files = list_images(scene_dir)
    if len(files) < 2:
        raise InputError(f"{scene_dir}: needs at least two exposures (found {len(files)})")
    if track == "seq":
        return files
    pair = manifest_pair(scene_dir)
    if pair is not None:
        return [scene_dir / pair[0], scene_dir / pair[1]]
    return [files[0], files[-1]]


# ------------------------------------------------------------------ scoring


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float [0, 1], 16 or 8 bit -> uint8 rounded to nearest (the engine's one quantiser, :func:`hdrdesk.core.io.to_uint`)."""
    return to_uint(img, 8)


def gray8(img: np.ndarray) -> np.ndarray:
    """The metric's view of an image: 8 bit, MATLAB rgb2gray for colour."""
    from hdrdesk.core.mefssim import rgb_to_gray_matlab

    img = to_uint8(img)
    return rgb_to_gray_matlab(img) if img.ndim == 3 else img


def score_fusion(frames: Sequence[Frame] | Sequence[np.ndarray], fused: np.ndarray) -> float:
    """MEF-SSIM of a fused image (float RGB [0, 1] or 8 bit) against the frames that were fused."""
    from hdrdesk.core.mefssim import mef_ssim

    stack = np.stack([gray8(f.data if isinstance(f, Frame) else f) for f in frames]).astype(np.float64)
    return float(mef_ssim(stack, gray8(fused).astype(np.float64)))


def parse_mertens_weights(text: str | Sequence[float]) -> tuple[float, float, float]:
    if isinstance(text, str):
        parts = [p.strip() for p in text.split(",")]
    else:
        parts = list(text)
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise InputError(f"--mertens-weights {text!r}: expected three numbers C,S,E, e.g. 1,1,0") from None
    if len(values) != 3 or any(not math.isfinite(v) or v < 0 for v in values):
        raise InputError(f"--mertens-weights {text!r}: expected three non-negative numbers C,S,E, e.g. 1,1,0")
    return values  # type: ignore[return-value]


def evaluate_scenes(
    root: str | os.PathLike,
    scenes: Sequence[str] | str | os.PathLike | None = None,
    track: str = "seq",
    options: FusionOptions | None = None,
    task: TaskState | None = None,
    model=None,
    mertens_weights: Sequence[float] = MERTENS_DEFAULT,
    on_scene: Callable[[SceneScore], None] | None = None,
) -> list[SceneScore]:
    """Fuse and score every scene under ``root`` (or the named ``scenes``) on one track.

    ``options`` default: the network, no alignment (the data is pre-registered and the
    anchors were measured without). ``model``: an already-loaded network (torch module,
    e.g. in training) used as is instead of ``options.model_path``. A scene that fails
    is returned with a NaN score and its error, the others go on. ``task`` reports
    progress over the scenes and can cancel.
    """
    options = options or FusionOptions(align=False)
    options.validate()
    if track not in TRACKS:
        raise InputError(f"unknown track {track!r} (seq or pair)")
    task = task or null_task()
    weights = parse_mertens_weights(mertens_weights)
    folders = list_scenes(root, scenes)
    was_training = None
    if model is not None and hasattr(model, "training"):
        was_training = model.training
        model.eval()
    out: list[SceneScore] = []
    try:
        for i, folder in enumerate(folders):
            task.report(i / len(folders), f"{folder.name} ({i + 1}/{len(folders)})")
            t0 = time.perf_counter()
            names: list[str] = []
            try:
                files = scene_files(folder, track)
                names = [f.name for f in files]
                # values as stored, as the anchors were scored (no ICC conversion)
                frames = harmonise([read_frame(f, colour_manage=False) for f in files])
                score = _fuse_and_score(frames, options, model, weights)
                res = SceneScore(folder.name, track, names, score, time.perf_counter() - t0)
                if not math.isfinite(score):
                    res.error = "score is not a number (negative at some scale)"
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. the metric's "image too small"; one scene must not stop the rest
                msg = user_message(exc)
                if not isinstance(exc, HDRDeskError):
                    msg = f"{folder}: {msg}"
                res = SceneScore(folder.name, track, names, float("nan"), time.perf_counter() - t0, msg)
            out.append(res)
            if on_scene is not None:
                on_scene(res)
        task.report(1.0, "Done")
    finally:
        if was_training is not None:
            model.train(was_training)
    return out


def _fuse_and_score(frames: list[Frame], options: FusionOptions, model, mertens_weights) -> float:
    if options.deghost != "off":
        # scored against the bracket as shot (aligned if asked), not the deghosted copies that are fused
        from dataclasses import replace

        if options.align:
            frames = prepare_fusion(frames, replace(options, method="mertens", deghost="off")).frames
            options = replace(options, align=False)
        score_frames = frames
    if options.method == "mertens":
        prep = prepare_fusion(frames, options)  # alignment, if asked for
        fused_frames = prep.frames
        image = fuse_mertens(fused_frames, None, *mertens_weights)
    else:
        result = fuse_frames(frames, _without_weights(options), model=model)
        fused_frames, image = result.frames, result.image
    if options.deghost != "off":
        fused_frames = score_frames
    return score_fusion(fused_frames, image)


def _without_weights(options: FusionOptions) -> FusionOptions:
    from dataclasses import replace

    return options if not options.keep_weights else replace(options, keep_weights=False)


def mean_score(scores: Sequence[SceneScore] | Sequence[float]) -> float:
    """Mean over scenes that scored (NaN if none)."""
    values = [s.score if isinstance(s, SceneScore) else float(s) for s in scores]
    values = [v for v in values if math.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def summary(scores: Sequence[SceneScore]) -> dict:
    values = [s.score for s in scores if s.ok]
    return {
        "scenes": len(scores),
        "scored": len(values),
        "failed": len(scores) - len(values),
        "mean": mean_score(scores),
        "median": float(statistics.median(values)) if values else float("nan"),
        "min": float(min(values)) if values else float("nan"),
    }


# ------------------------------------------------------------------ CLI


def cmd_eval(args: argparse.Namespace) -> int:
    weights = parse_mertens_weights(args.mertens_weights)
    if args.model is not None and not args.model.is_file():
        raise InputError(f"{args.model}: model file not found")
    options = FusionOptions(
        method=args.method, model_path=args.model, working_size=args.working_size,
        align=args.align, device=args.device, keep_weights=False,
        deghost=args.deghost, reference=None if args.reference is None else args.reference - 1,
    )
    folders = list_scenes(args.folder, args.scenes)
    names = [f.name for f in folders]
    width = max(len(n) for n in names)
    if not args.json:
        label = {
            "mertens": "OpenCV Mertens " + ",".join(f"{w:g}" for w in weights),
            "fmmef": "FMMEF (Li et al., TIP 2020)",
        }.get(args.method, f"cnn ({args.model or 'shipped model'})")
        print(f"# MEF-SSIM, track {args.track}, {label}, {'aligned' if args.align else 'no alignment'}, {len(names)} scenes")
        print(f"{'scene':<{width}}  {'score':>7}  {'time':>6}  frames")

    def show(res: SceneScore) -> None:
        if args.json:
            return
        if res.ok:
            print(f"{res.scene:<{width}}  {res.score:7.4f}  {res.seconds:5.1f}s  {' '.join(res.frames)}", flush=True)
        else:
            print(f"{res.scene:<{width}}  {'failed':>7}  {res.seconds:5.1f}s  {res.error}", flush=True)

    scores = evaluate_scenes(args.folder, names, args.track, options, mertens_weights=weights, on_scene=show)
    summ = summary(scores)
    for res in scores:
        if not res.ok:
            print(f"hdrdesk: error: {res.scene}: {res.error}", file=sys.stderr)
    if args.json:
        doc = {
            "track": args.track,
            "method": args.method,
            "model": str(args.model) if args.model else None,
            "mertens_weights": list(weights) if args.method == "mertens" else None,
            "align": args.align,
            "working_size": args.working_size,
            **summ,
            "per_scene": [_jsonable(asdict(s)) for s in scores],
        }
        print(json.dumps(doc, indent=1))
    else:
        print(f"{'mean':<{width}}  {summ['mean']:7.4f}  (median {summ['median']:.4f}, min {summ['min']:.4f}, {summ['scored']} of {summ['scenes']} scenes)")
    return 1 if summ["failed"] else 0


def _jsonable(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
