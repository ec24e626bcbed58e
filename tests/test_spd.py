"""The torch structural patch decomposition (training's fusion operator) against FMMEF's reference outputs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hdrdesk.core.spd import spd_fuse, spd_levels

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "testvectors" / "fmmef"


def _cases() -> list[str]:
    if not (VECTORS / "cases.json").is_file():
        return []
    return sorted(json.loads((VECTORS / "cases.json").read_text()))


def _read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_zero_logits_reproduce_fmmef_reference(case: str, dtype: torch.dtype) -> None:
    frames = [_read(f) for f in sorted((VECTORS / "in" / case).glob("*.png"))]
    x = torch.from_numpy(np.stack(frames).astype(np.float64) / 255.0).permute(0, 3, 1, 2)[None].to(dtype)
    k, (h, w) = len(frames), frames[0].shape[:2]
    zeros = torch.zeros(1, k, 16, 24, dtype=dtype)
    out = spd_fuse(x, zeros, zeros)[0].permute(1, 2, 0).double().numpy()
    expected = _read(VECTORS / "expected" / f"{case}.png") / 65535.0
    diff = np.abs(out - expected)
    assert diff.mean() < 1e-4 and diff.max() < 1e-3, (diff.mean(), diff.max())


def test_levels_rule() -> None:
    assert spd_levels(512, 335) == 3  # floor(log2(335)) - 5
    assert spd_levels(64, 64) == 1
    assert spd_levels(63, 100) == 0 and spd_levels(8, 8) == 0


def test_base_logit_pulls_brightness_toward_that_exposure() -> None:
    torch.manual_seed(0)
    base = torch.rand(1, 1, 3, 96, 96) * 0.2 + 0.4
    y = torch.cat([base * 0.5, base * 1.5], dim=1).clamp(0, 1)
    plain = spd_fuse(y).mean()
    logits = torch.zeros(1, 2, 12, 12)
    logits[:, 1] = 4.0  # favour the bright frame's mean intensity
    bright = spd_fuse(y, None, logits).mean()
    logits[:, 1] = -4.0
    dark = spd_fuse(y, None, logits).mean()
    assert dark < plain < bright


def test_detail_logits_select_structure_and_carry_gradients() -> None:
    torch.manual_seed(1)
    y = torch.rand(1, 2, 1, 80, 80)
    detail = torch.zeros(1, 2, 10, 10, requires_grad=True)
    out = spd_fuse(y, detail, None)
    # favour exposure 0's structure strongly: the result follows it more closely than exposure 1
    with torch.no_grad():
        d = torch.zeros(1, 2, 10, 10)
        d[:, 0] = 8.0
        favoured = spd_fuse(y, d, None)
    c0 = np.corrcoef(favoured.flatten().numpy(), y[:, 0].flatten().numpy())[0, 1]
    c1 = np.corrcoef(favoured.flatten().numpy(), y[:, 1].flatten().numpy())[0, 1]
    assert c0 > c1
    out.mean().backward()
    assert detail.grad is not None and torch.isfinite(detail.grad).all() and detail.grad.abs().sum() > 0


def test_identical_frames_fuse_to_that_frame() -> None:
    torch.manual_seed(2)
    f = torch.rand(1, 1, 3, 70, 90) * 0.6 + 0.2
    out = spd_fuse(torch.cat([f, f, f], dim=1))
    assert (out - f[:, 0]).abs().mean() < 0.02
