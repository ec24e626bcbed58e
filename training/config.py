"""Training configuration: one dataclass, saved inside every checkpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class TrainConfig:
    # data
    data: list[str] = field(default_factory=list)  # folders of scene folders, scene folders, or folders of images
    val_scenes: str | None = None  # file naming validation scenes (default: val_scenes.txt inside a data folder)
    val_root: str | None = None  # where the validation scenes live (default: the first data folder)
    val_fraction: float = 0.0  # without a val list: hold back this share of scenes (at least one) for validation
    max_side: int = 512  # scenes are cached with this short side at most (the inference working size)
    crop: int = 128
    frames_per_batch: int = 24  # batch size in exposures: B = frames_per_batch // K
    accum: int = 1  # batches whose gradients are summed into one optimiser step (spd batches are one bracket: noisy alone)
    max_exposures: int = 6
    pair_prob: float = 0.5  # share of batches that are an under/over pair
    scale_min: float = 0.5  # random rescale of the cached scene before cropping
    # objective
    gamma: str = "hybrid"  # variance | gradient | exposedness | hybrid
    gamma_window: int = 11
    gamma_alpha: float = 0.5
    w_wssim: float = 1.0
    w_mefssim: float = 1.0  # MEF-SSIM as a second term (0 turns it off)
    w_luminance: float = 0.5  # keeps fused brightness near a well-exposedness-weighted mean
    lum_sigma: float = 8.0
    w_clip: float = 0.0  # penalise blown highlights / crushed shadows that some frame still holds
    whole_prob: float = 0.0  # share of batches that are whole scenes (resized), not crops: lets the
    whole_size: list[int] = field(default_factory=lambda: [128, 192])  # coarse pyramid levels span a whole picture
    # model
    fusion: str = "pyramid"  # pyramid (v1: softmax weights, Laplacian blend) | spd (v2: structural patch decomposition)
    net_working_size: int = 256  # spd: short side the network sees (stored in the model's config)
    extra_levels: int = -1  # spd: decomposition scales beyond FMMEF's rule (-1: the starting model's)
    w_logit: float = 1e-3  # spd: keeps the logits near zero (FMMEF's rule) where nothing is gained
    w_hinge: float = 0.0  # spd: extra weight where the network scores below its zero-logit rule on a bracket
    distill: str = ""  # spd: a folder of per-bracket refined logits (scripts/distill_targets.py) to train towards instead
    distill_cell: int = 1  # distill: compare logits in blocks of this many pixels (of the network's working size)
    w_keep: float = 1.0  # distill: keeps the logits on each bracket's darkest/brightest pair where the starting model put them
    w_keep_pair: float = 0.0  # spd: keeps the fused picture of two-frame brackets where keep_model puts it (mean abs. difference)
    keep_cell: int = 1  # w_keep_pair compares means over blocks of this many pixels (1: every pixel; larger: brightness only)
    keep_model: str = "default"  # the reference of w_keep_pair: default (the shipped model) | PATH
    global_context: bool = False  # spd: add the whole-bracket branch (a model without one gets it, starting at zero)
    learned_mix: bool = False  # spd: grow a third output that predicts coarse_mix per pixel (starting at coarse_mix)
    coarse_mix: float = -1.0  # spd: share of the base mixed one scale finer (-1: the starting model's; NetConfig.coarse_mix)
    widths: list[int] = field(default_factory=lambda: [8, 16, 24, 32, 48])
    init: str = "scratch"  # scratch | default | PATH
    # optimisation
    steps: int = 3000
    lr: float = 2e-3
    lr_min: float = 1e-4
    schedule: str = "cosine"  # cosine | constant
    warmup: int = 100
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # torch threads (0: leave torch's default)
    # bookkeeping
    out: str = "runs/default"
    val_every: int = 250
    val_tracks: list[str] = field(default_factory=lambda: ["pair", "seq"])
    val_max_side: int = 0  # 0: validate at full scene resolution
    val_at_start: bool = True  # score the starting weights first (fine-tuning's before/after needs it)
    log_every: int = 25
    name: str = "model"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**d)

    @classmethod
    def from_file(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))
