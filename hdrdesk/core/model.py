"""The fusion network: a small VGG-style encoder-decoder shared across exposures.

Every exposure's luma goes through the same weights. At each scale a branch
sees what the others show: its features are joined to the mean over the
exposures (a 1x1 convolution mixes them), so a weight depends on the whole
bracket and any number of exposures works.

Two heads, one per fusion operator (``NetConfig.fusion``):

- ``"pyramid"`` (v1): one logit per exposure, turned into weights with a softmax over
  exposures; the app blends luma with a Laplacian pyramid by these weights.
- ``"spd"`` (v2, the shipped default): two logits per exposure, a *detail* and a *base*
  map, which set how the structural patch decomposition (:mod:`hdrdesk.core.spd`)
  mixes each exposure's structure and mean intensity. The head starts at zero, where
  the decomposition is FMMEF's rule; training learns the correction.
"""

from __future__ import annotations

import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hdrdesk.errors import ModelError

ARCH_NAME = "hdrdesk-fusionnet-v1"
ARCH_SPD = "hdrdesk-fusionnet-v2"
ARCHES = (ARCH_NAME, ARCH_SPD)
FUSIONS = ("pyramid", "spd")


@dataclass(frozen=True)
class NetConfig:
    widths: tuple[int, ...] = (8, 16, 24, 32, 48)
    temperature: float = 1.0
    # The logits start from a well-exposedness prior, -(y - 0.5)^2 / (2 sigma^2), and the
    # network learns a correction to it (its last layer starts at zero). From scratch the
    # network first has to rediscover that prior, which a 2-core CPU budget cannot afford.
    exposedness_prior: bool = True
    prior_sigma: float = 0.2
    fusion: str = "pyramid"  # pyramid (v1: softmax weights) | spd (v2: detail and base logits)
    working_size: int = 0  # short side the network sees; 0: the caller's (FusionOptions.working_size)
    extra_levels: int = 0  # spd: decomposition scales beyond FMMEF's rule
    global_context: bool = False  # a branch that feeds what the whole bracket looks like back to every pixel
    coarse_mix: float = 0.0  # spd: share of the mean intensities mixed one scale finer than the coarsest
    learned_mix: bool = False  # spd: a third output per exposure; sigmoid of its mean over the exposures is the mix, per pixel

    @property
    def arch(self) -> str:
        return ARCH_SPD if self.fusion == "spd" else ARCH_NAME

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        return cls(
            widths=tuple(int(w) for w in d.get("widths", cls.widths)),
            temperature=float(d.get("temperature", 1.0)),
            exposedness_prior=bool(d.get("exposedness_prior", False)),
            prior_sigma=float(d.get("prior_sigma", 0.2)),
            fusion=str(d.get("fusion", "pyramid")),
            working_size=int(d.get("working_size", 0)),
            extra_levels=int(d.get("extra_levels", 0)),
            global_context=bool(d.get("global_context", False)),
            coarse_mix=float(d.get("coarse_mix", 0.0)),
            learned_mix=bool(d.get("learned_mix", False)),
        )


class ExposureMix(nn.Module):
    """Join each branch's features to the mean over exposures, mix with a 1x1 conv."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mix = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        bk, c, h, w = x.shape
        mean = x.view(bk // k, k, c, h, w).mean(dim=1, keepdim=True).expand(-1, k, -1, -1, -1)
        return F.leaky_relu(self.mix(torch.cat([x, mean.reshape(bk, c, h, w)], dim=1)), 0.2)


class GlobalContext(nn.Module):
    """What the whole bracket looks like, fed back to every pixel of the deepest features.

    The encoder's receptive field spans a part of the picture, not all of it, so on its own the
    network cannot tell a lamp-lit night from a sunlit day, which want opposite brightness rules.
    Each exposure's features are averaged over the picture and joined to their mean over the
    exposures (as :class:`ExposureMix` does per pixel); two 1x1 convolutions turn that into a
    correction added everywhere. The last one starts at zero: the branch starts as no branch.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.own = nn.Conv2d(channels, channels, 1)
        self.shared = nn.Conv2d(channels, channels, 1, bias=False)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        bk, c = x.shape[:2]
        pooled = x.mean(dim=(2, 3), keepdim=True)  # (BK, C, 1, 1)
        bracket = pooled.view(bk // k, k, c, 1, 1).mean(dim=1)  # (B, C, 1, 1)
        h = self.own(pooled).view(bk // k, k, c, 1, 1) + self.shared(bracket).unsqueeze(1)
        h = F.leaky_relu(h.view(bk, c, 1, 1), 0.2)
        return x + self.out(h).expand_as(x)  # explicit: OpenCV's DNN does not broadcast a residual after a convolution


class Block(nn.Module):
    """VGG-style block: 3x3 conv, exposure mix, 3x3 conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.mix = ExposureMix(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), 0.2)
        x = self.mix(x, k)
        return F.leaky_relu(self.conv2(x), 0.2)

    def forward_joined(self, up: torch.Tensor, skip: torch.Tensor, k: int) -> torch.Tensor:
        """A decoder step: the block on the upsampled features joined to the encoder's skip."""
        return self.forward(torch.cat([up, skip], dim=1), k)


class FusionNet(nn.Module):
    """(B, K, H, W) luma in [0, 1] -> (B, K, H, W) weights summing to 1 over K."""

    def __init__(self, config: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        self.enc = nn.ModuleList([Block(1 if i == 0 else w[i - 1], w[i]) for i in range(len(w))])
        self.dec = nn.ModuleList([Block(w[i + 1] + w[i], w[i]) for i in reversed(range(len(w) - 1))])
        if config.fusion not in FUSIONS:
            raise ValueError(f"unknown fusion {config.fusion!r} (choose from {', '.join(FUSIONS)})")
        self.context = GlobalContext(w[-1]) if config.global_context else None
        self.head = nn.Conv2d(w[0], 2 if config.fusion == "spd" else 1, 3, padding=1)
        # spd with learned_mix: a third logit per exposure, the coarse mix (a head of its own, so that training
        # can give it its own learning rate)
        self.mix_head = nn.Conv2d(w[0], 1, 3, padding=1) if config.fusion == "spd" and config.learned_mix else None
        if config.exposedness_prior or config.fusion == "spd":
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    @property
    def multiple(self) -> int:
        """Spatial sizes must be a multiple of this (pooling steps)."""
        return 2 ** (len(self.config.widths) - 1)

    def logits(self, y: torch.Tensor) -> torch.Tensor:
        b, k, h, w = y.shape
        x = y.reshape(b * k, 1, h, w) * 2.0 - 1.0
        skips = []
        for i, block in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x, k)
            if self.context is not None and i == len(self.enc) - 1:
                x = self.context(x, k)
            skips.append(x)
        for block, skip in zip(self.dec, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block.forward_joined(x, skip, k)
        if self.config.fusion == "spd":
            out = self.head(x).view(b, k, 2, h, w)
            if self.mix_head is not None:
                out = torch.cat([out, self.mix_head(x).view(b, k, 1, h, w)], dim=2)
            return out
        out = self.head(x).view(b, k, h, w)
        if self.config.exposedness_prior:
            out = out - (y - 0.5) ** 2 / (2 * self.config.prior_sigma**2)
        return out

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """pyramid: (B, K, H, W) weights; spd: (B, K, 2, H, W) logits (detail, base)."""
        m = self.multiple
        h, w = y.shape[-2:]
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:  # reflect-pad to the pooling grid (replicate where the image is tinier than the pad)
            mode = "reflect" if h > ph and w > pw else "replicate"
            y = F.pad(y, (0, pw, 0, ph), mode=mode)
        logits = self.logits(y)[..., :h, :w]
        if self.config.fusion == "spd":
            return logits
        return torch.softmax(logits / self.config.temperature, dim=1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_megapixel(model: FusionNet, exposures: int = 2) -> float:
    """Multiply-adds per megapixel of working-resolution input, per exposure (counted on a 256x256 input)."""
    macs = 0

    def hook(mod, inp, out):
        nonlocal macs
        kh, kw = mod.kernel_size
        macs += out.numel() * (mod.in_channels // mod.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, exposures, 256, 256))
    for h in handles:
        h.remove()
    return macs / exposures / (256 * 256) * 1e6


# ------------------------------------------------------------------ checkpoints


def model_state(model: FusionNet, **extra) -> dict:
    """The model part of a checkpoint (also what a stand-alone model file holds)."""
    return {"arch": model.config.arch, "net_config": model.config.to_dict(), "model": model.state_dict(), **extra}


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[FusionNet, dict]:
    """Load a model file or training checkpoint. Returns (model in eval mode, metadata card).

    Raises :class:`ModelError` with a clear message for files that are not
    HDRDesk models, truncated files and other architectures.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        data = path.read_bytes()
        ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors differ by cause; the user needs one message
        raise ModelError(f"{path}: not a readable HDRDesk model (truncated or another kind of file: {type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ModelError(f"{path}: not an HDRDesk model (no weights inside)")
    if ckpt.get("arch") not in ARCHES:
        raise ModelError(f"{path}: model architecture {ckpt.get('arch')!r} is not supported (expected one of {', '.join(ARCHES)})")
    try:
        config = NetConfig.from_dict(ckpt.get("net_config", {}))
        if config.arch != ckpt["arch"]:
            raise ValueError(f"net_config says {config.arch}")
        model = FusionNet(config)
        model.load_state_dict(ckpt["model"])
    except Exception as exc:
        raise ModelError(f"{path}: weights do not fit the network ({str(exc).splitlines()[0][:160]})") from None
    model.eval().to(device)
    card = {k: v for k, v in ckpt.items() if k not in ("model", "optimizer")}
    return model, card
