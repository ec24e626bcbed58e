#!/usr/bin/env python3
"""Draw HDRDesk's application icon procedurally.

The icon is a dark rounded tile holding three overlapping rounded squares -- a
dark, a mid and a bright exposure -- stepping up the diagonal.  They are
combined with a "screen" blend, so where the exposures overlap they add up to a
brighter, fused tone, the same idea as the app itself.

Drawn with numpy at 4x resolution and downsampled (OpenCV, area filter) for
clean anti-aliased edges; written with Pillow as

* ``resources/icons/hdrdesk.png`` -- 256x256 RGBA,
* ``resources/icons/hdrdesk.ico`` -- 16, 24, 32, 48, 64, 128 and 256 px.

Deterministic (no randomness).  Released under CC0 1.0 like the sample bracket.

Usage::

    .venv/bin/python scripts/make_icon.py [--out resources/icons]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "resources" / "icons"
SIZE = 256
SS = 4  # supersampling factor
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)

Array = np.ndarray


def hex_rgb(code: str) -> Array:
    """'#rrggbb' -> float RGB in [0, 1]."""
    code = code.lstrip("#")
    return np.array([int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4)], np.float32)


def rounded_square(xx: Array, yy: Array, cx: float, cy: float, half: float, radius: float, px: float) -> Array:
    """Coverage (0..1) of a rounded square, anti-aliased over ``px`` units."""
    qx = np.abs(xx - cx) - (half - radius)
    qy = np.abs(yy - cy) - (half - radius)
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - radius
    return np.clip(0.5 - d / px, 0.0, 1.0)


def draw_icon(size: int = SIZE) -> Image.Image:
    """Render the icon as an RGBA image of ``size`` x ``size`` pixels."""
    n = size * SS
    # coordinates in "icon units" (0..256 whatever the output size)
    yy, xx = (np.mgrid[0:n, 0:n].astype(np.float32) + 0.5) * (256.0 / n)
    px = 256.0 / n  # one supersampled pixel in icon units

    # background tile: deep slate with a soft vertical gradient and top sheen
    tile = rounded_square(xx, yy, 128, 128, 120, 54, px)
    t = np.clip((yy - 8) / 240, 0, 1)[..., None]
    bg = hex_rgb("#2a3350") * (1 - t) + hex_rgb("#111522") * t
    sheen = np.exp(-(((xx - 128) / 150) ** 2 + ((yy - 10) / 70) ** 2))[..., None] * 0.06
    bg = bg + sheen

    # three exposures: dark (lower left), mid, bright (upper right)
    layers = [
        (94.0, 162.0, hex_rgb("#3552b8"), 0.95),  # dark: indigo
        (128.0, 128.0, hex_rgb("#e2674f"), 0.95),  # mid: coral
        (162.0, 94.0, hex_rgb("#ffc83d"), 0.97),  # bright: amber
    ]
    half, radius = 56.0, 22.0
    light = np.zeros((n, n, 3), np.float32)
    inv = np.ones((n, n, 3), np.float32)  # screen blend: 1 - prod(1 - a_i * c_i)
    for cx, cy, col, alpha in layers:
        cov = rounded_square(xx, yy, cx, cy, half, radius, px)[..., None]
        # a gentle diagonal gradient inside each square gives it some depth
        g = 0.85 + 0.3 * np.clip(((xx - cx) - (yy - cy)) / (4 * half) + 0.5, 0, 1)[..., None]
        inv *= 1.0 - cov * alpha * np.clip(col * g, 0, 1)
        light = np.maximum(light, cov)
    fused = 1.0 - inv
    # where all three overlap, lift toward a warm white highlight (the fused result)
    core = np.ones((n, n), np.float32)
    for cx, cy, _, _ in layers:
        core *= rounded_square(xx, yy, cx, cy, half, radius, px)
    fused = fused + core[..., None] * (hex_rgb("#fff6dc") - fused) * 0.55

    out = bg * (1 - light) + fused * light
    # a soft shadow of the squares on the tile
    shadow = cv2.GaussianBlur(light[..., 0], (0, 0), 6.0 / px)
    shadow = np.roll(np.roll(shadow, int(4 / px), axis=0), int(2 / px), axis=1)
    out = out * (1 - 0.35 * shadow * (1 - light[..., 0]))[..., None]

    # downsample with premultiplied alpha so the tile's edge does not darken
    colour = np.clip(out, 0, 1)
    a = cv2.resize(tile, (size, size), interpolation=cv2.INTER_AREA)[..., None]
    pm = cv2.resize(colour * tile[..., None], (size, size), interpolation=cv2.INTER_AREA)
    col = np.where(a > 1e-4, pm / np.maximum(a, 1e-4), 0)
    arr = np.dstack([col, a])
    return Image.fromarray(np.clip(np.round(arr * 255), 0, 255).astype(np.uint8), "RGBA")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Draw the HDRDesk icon (PNG and multi-size ICO).")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    icon = draw_icon(SIZE)
    png = args.out / "hdrdesk.png"
    icon.save(png, "PNG", optimize=True)
    # render each ICO size natively rather than shrinking the 256 px image
    frames = {s: draw_icon(s) for s in ICO_SIZES}
    ico = args.out / "hdrdesk.ico"
    frames[256].save(ico, "ICO", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[frames[s] for s in ICO_SIZES if s != 256])
    for p in (png, ico):
        print(f"{p}: {p.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
