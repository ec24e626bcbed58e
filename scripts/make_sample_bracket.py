#!/usr/bin/env python3
"""Render HDRDesk's bundled sample bracket from a synthetic HDR scene.

The real photo datasets we use for development may not be redistributed, so the
sample that ships with the app is rendered here, procedurally, from nothing but
seeded random numbers.  The output is released under CC0 1.0 (see
``resources/samples/README.md``).

What is rendered
----------------
A linear, scene-referred radiance map (float32 RGB, 1200x800) of a living room
in shade, looking at a large window on a sunny afternoon:

* an exposed red-brick back wall, a honey-oak plank
  floor in perspective with a striped kilim rug and a patch of sunlight,
* a teal velvet sofa with patterned cushions and a tartan throw, a framed
  painting and a lit table lamp (a second, warm light source) on the left,
* mustard curtains, a walnut sideboard under the window carrying a red vase, a
  blue glass bottle (lit through from behind), a bowl of fruit and a stack of
  books, and a potted plant on the right,
* through the window: a blue sky with the sun and its glow, cumulus clouds,
  hazy distant hills, a tree line, a little house and a sunlit meadow.

Radiances span from about 1e-3 (under the sofa) to several hundred (the sun),
i.e. well over 12 stops, so no single exposure holds the whole scene.

A simple camera is then simulated for each of the exposures EV -2, 0 and +2:
lens blur, a little veiling glare and vignetting, scaling by 2**EV, shot and read
noise, a filmic (ACES-like) tone curve followed by the sRGB transfer function,
clipping and 8-bit quantisation.  The frames are written as JPEG (quality 92)
with EXIF (exposure time, f-number, ISO, exposure bias, make/model).

Everything is deterministic for a given ``--seed``.  Rendering uses numpy and
OpenCV only; Pillow is used to write the JPEG files with their EXIF.

Usage::

    .venv/bin/python scripts/make_sample_bracket.py
    .venv/bin/python scripts/make_sample_bracket.py --contact /tmp/contact.png
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

W, H = 1200, 800
HORIZON_Y = 380.0  # eye level in the image (rows)
VANISH_X = 600.0  # vanishing point of the floor planks (columns)
WALL_BASE_Y = 612.0  # where the back wall meets the floor
WINDOW = (600.0, 90.0, 1040.0, 470.0)  # x0, y0, x1, y1 of the window opening
SUN = (955.0, 158.0)  # sun position in the image

INTERIOR_GAIN = 0.6  # overall level of the room's (non-direct) light
OUTDOOR_GAIN = 1.7  # overall level of the view through the window

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "resources" / "samples" / "window_room"

Array = np.ndarray


# --------------------------------------------------------------------------
# Small procedural toolbox
# --------------------------------------------------------------------------


def smoothstep(e0: float, e1: float, x: Array | float) -> Array:
    """Hermite step from 0 (x <= e0) to 1 (x >= e1); e0 > e1 gives a falling step."""
    t = np.clip((np.asarray(x, dtype=np.float32) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def value_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> Array:
    """Smooth value noise in [0, 1] with features about ``cell`` pixels across."""
    gh, gw = int(np.ceil(h / cell)) + 3, int(np.ceil(w / cell)) + 3
    grid = rng.random((gh, gw), dtype=np.float32)
    up = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    oy = int(rng.integers(0, max(1, up.shape[0] - h)))
    ox = int(rng.integers(0, max(1, up.shape[1] - w)))
    return np.clip(up[oy : oy + h, ox : ox + w], 0.0, 1.0)


def fbm(
    rng: np.random.Generator,
    h: int,
    w: int,
    cell: float,
    octaves: int = 5,
    gain: float = 0.5,
    min_cell: float = 1.5,
) -> Array:
    """Fractal sum of value-noise octaves, roughly normalised to [0, 1]."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        if cell < min_cell:
            break
        total += amp * value_noise(rng, h, w, cell)
        norm += amp
        amp *= gain
        cell /= 2.0
    return total / norm


def fbm1d(rng: np.random.Generator, n: int, cell: float, octaves: int = 5) -> Array:
    """1-D fractal noise profile of length ``n`` centred on 0 (about -0.5..0.5)."""
    return fbm(rng, 1, n, cell, octaves)[0] - 0.5


def rounded_box(
    xx: Array, yy: Array, x0: float, y0: float, x1: float, y1: float, r: float = 0.0, soft: float = 1.0
) -> Array:
    """Anti-aliased coverage of a rounded rectangle."""
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    hx, hy = (x1 - x0) / 2 - r, (y1 - y0) / 2 - r
    qx = np.abs(xx - cx) - hx
    qy = np.abs(yy - cy) - hy
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return smoothstep(soft / 2, -soft / 2, d)


def ellipse(xx: Array, yy: Array, cx: float, cy: float, rx: float, ry: float, soft: float = 1.0) -> Array:
    """Anti-aliased coverage of an axis-aligned ellipse."""
    d = (np.hypot((xx - cx) / rx, (yy - cy) / ry) - 1.0) * min(rx, ry)
    return smoothstep(soft / 2, -soft / 2, d)


def polygon(pts: list[tuple[float, float]], ss: int = 4) -> Array:
    """Anti-aliased coverage of a polygon (rasterised at ``ss`` x supersampling)."""
    canvas = np.zeros((H * ss, W * ss), np.uint8)
    p = (np.array(pts, np.float64) * ss).round().astype(np.int32)
    cv2.fillPoly(canvas, [p], 255, lineType=cv2.LINE_AA)
    return cv2.resize(canvas, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def blend(img: Array, mask: Array, color: Array) -> None:
    """In place: ``img = img * (1 - mask) + color * mask`` (color: RGB or image)."""
    m = mask[..., None]
    img *= 1.0 - m
    img += np.asarray(color, np.float32) * m


def rgb(r: float, g: float, b: float) -> Array:
    return np.array([r, g, b], np.float32)


def lerp(a: Array, b: Array, t: Array) -> Array:
    """Per-pixel mix of two colours/images, ``t`` of shape (H, W)."""
    t = np.asarray(t, np.float32)[..., None]
    return a * (1.0 - t) + b * t


# --------------------------------------------------------------------------
# Scene
# --------------------------------------------------------------------------


@dataclass
class Scene:
    """Linear-light RGB radiance (arbitrary units, 1.0 ~ a bright overcast sky)."""

    radiance: Array
    window_mask: Array  # 1 where the outdoors is seen through the glass


class SceneBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.yy, self.xx = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5
        self.img = np.zeros((H, W, 3), np.float32)

    # -- lighting ---------------------------------------------------------

    def room_light(self) -> Array:
        """RGB irradiance for interior surfaces: cool window light + warm lamp."""
        xx, yy = self.xx, self.yy
        x0, y0, x1, y1 = WINDOW
        dx = np.maximum(np.maximum(x0 - xx, xx - x1), 0)
        dy = np.maximum(np.maximum(y0 - yy, yy - y1), 0)
        d = np.hypot(dx, dy)
        sky = 0.045 + 0.26 * np.exp(-d / 170.0) + 0.06 * np.exp(-d / 520.0)
        # the ceiling and the far corners get less light
        sky *= 0.55 + 0.45 * smoothstep(0, 140, yy)
        sky *= 0.8 + 0.2 * smoothstep(0, 250, xx)
        window_light = sky[..., None] * rgb(0.86, 0.95, 1.10)
        # warm lamp on the left: a broad falloff plus the shade's up/down cones
        lx, ly = self.lamp_xy
        r = np.hypot(xx - lx, (yy - ly) * 1.2)
        lamp = 0.10 * np.exp(-r / 150.0) + 0.03 * np.exp(-r / 420.0)
        # light cones out of the shade's open top (up) and bottom (down)
        up = yy < ly
        apex = np.where(up, ly + 6.0, ly - 70.0)
        spread = np.abs(xx - lx) / np.maximum(np.abs(yy - apex), 1.0)
        cone = np.exp(-((spread / 0.62) ** 6)) * np.exp(-np.abs(yy - ly) / 240.0)
        lamp = lamp + np.where(up, 0.8, 0.3) * cone * smoothstep(25, 70, np.abs(yy - ly))
        return INTERIOR_GAIN * (window_light + lamp[..., None] * rgb(1.0, 0.70, 0.40))

    lamp_xy = (78.0, 352.0)

    # -- outdoors ------------------------------------------------------------

    def outdoors(self) -> Array:
        rng, xx, yy = self.rng, self.xx, self.yy
        sx, sy = SUN
        t = smoothstep(60, 400, yy)
        zenith, horizon = rgb(0.55, 0.95, 2.3), rgb(1.85, 2.15, 2.5)
        sky = lerp(np.broadcast_to(zenith, (H, W, 3)), np.broadcast_to(horizon, (H, W, 3)), t)
        d = np.hypot(xx - sx, yy - sy)
        glow = 60.0 * np.exp(-d / 9.0) + 9.0 * np.exp(-d / 45.0) + 1.6 * np.exp(-d / 200.0)
        sky = sky + glow[..., None] * rgb(1.0, 0.88, 0.66)

        # cumulus: stretched fractal noise, thresholded, shaded by a lit-side offset
        n = fbm(rng, H * 2, W, 120, octaves=7, gain=0.52)  # squashed vertically below
        n = cv2.resize(n, (W, H), interpolation=cv2.INTER_AREA)
        n = n + 0.16 * smoothstep(330, 170, yy) - 0.2 * smoothstep(190, 80, yy)
        dens = smoothstep(0.55, 0.66, n)
        lit = np.clip((n - np.roll(np.roll(n, 6, axis=0), -4, axis=1)) * 9.0 + 0.55, 0.0, 1.0)
        toward_sun = np.exp(-d / 260.0)
        base = smoothstep(0.0, 0.06, n - np.roll(n, -5, axis=0))  # darker undersides
        cloud = (2.6 + 3.0 * lit - 0.8 * base + 8.0 * toward_sun * (1.0 - dens) ** 2)[..., None]
        cloud = cloud * rgb(1.0, 0.98, 0.95)
        blend(sky, dens * 0.97, cloud)
        sun_disc = ellipse(xx, yy, sx, sy, 11, 11, soft=2.0)
        blend(sky, sun_disc, rgb(420.0, 400.0, 360.0))
        out = sky
        # distant hills with aerial haze, then nearer green hills
        far = HORIZON_Y - 32 + 34 * fbm1d(rng, W, 260) + 10 * fbm1d(rng, W, 40)
        m = smoothstep(-0.8, 0.8, yy - far[None, :])
        tex = fbm(rng, H, W, 24, 4)
        blend(out, m, (rgb(1.05, 1.30, 1.65) * (0.9 + 0.2 * tex)[..., None]))
        near = HORIZON_Y + 6 + 22 * fbm1d(rng, W, 300) + 6 * fbm1d(rng, W, 50)
        m = smoothstep(-0.8, 0.8, yy - near[None, :])
        fields = fbm(rng, H, W, 60, 5)
        green = lerp(np.broadcast_to(rgb(0.45, 0.72, 0.36), (H, W, 3)),
                     np.broadcast_to(rgb(0.85, 0.85, 0.40), (H, W, 3)), smoothstep(0.45, 0.62, fields))
        haze = smoothstep(near.min() + 40, near.min(), yy)[..., None] * 0.35
        green = green * (1 - haze) + rgb(1.0, 1.2, 1.5) * haze
        blend(out, m, green)

        # a small house on the near hill
        hx = 705.0
        hy = float(near[int(hx)]) + 6
        blend(out, rounded_box(xx, yy, hx - 20, hy - 22, hx + 20, hy), rgb(2.4, 2.3, 2.1))
        blend(out, rounded_box(xx, yy, hx - 2, hy - 22, hx + 20, hy), rgb(1.1, 1.1, 1.15))
        roof = polygon([(hx - 25, hy - 21), (hx - 8, hy - 38), (hx + 8, hy - 38), (hx + 25, hy - 21)])
        blend(out, roof, rgb(1.5, 0.35, 0.22))
        for wx in (hx - 13, hx + 6):
            blend(out, rounded_box(xx, yy, wx, hy - 15, wx + 6, hy - 8), rgb(0.25, 0.25, 0.3))

        # tree line: bumpy crowns, leafy texture, sun-side highlights
        bumps = np.abs(np.sin(np.arange(W, dtype=np.float32) / 9.0 + 3 * fbm1d(rng, W, 40)))
        top = HORIZON_Y + 38 - 22 * bumps * (0.6 + fbm1d(rng, W, 90)) + 14 * fbm1d(rng, W, 160)
        for cx, width, height in ((640.0, 14.0, 95.0), (905.0, 18.0, 80.0), (930.0, 12.0, 60.0)):
            prof = height * np.sqrt(np.clip(1 - ((np.arange(W) - cx) / width) ** 2, 0, 1))
            top = np.minimum(top, HORIZON_Y + 40 - prof)
        m = smoothstep(-0.8, 0.8, yy - top[None, :])
        leaves = fbm(rng, H, W, 8, 3)
        leaf_hi = smoothstep(0.55, 0.8, fbm(rng, H, W, 3, 2))
        crown = 0.16 + 0.25 * leaves + 0.35 * leaf_hi * smoothstep(-1, 1, xx - 800)
        blend(out, m, crown[..., None] * rgb(0.55, 0.95, 0.40))

        # sunlit meadow with a few flowers
        mead = HORIZON_Y + 64 + 4 * fbm1d(rng, W, 80)
        m = smoothstep(-0.8, 0.8, yy - mead[None, :])
        grass = 0.7 + 0.6 * fbm(rng, H, W, 5, 3)
        meadow = grass[..., None] * rgb(0.95, 1.15, 0.35)
        flowers = smoothstep(0.83, 0.9, value_noise(rng, H, W, 2.2))
        meadow = lerp(meadow, np.broadcast_to(rgb(2.6, 2.4, 0.6), (H, W, 3)), flowers * 0.8)
        blend(out, m, meadow)
        return out * OUTDOOR_GAIN

    # -- interior surfaces -----------------------------------------------------

    def brick_wall(self) -> Array:
        """Albedo of an exposed red-brick wall (running bond)."""
        rng, xx, yy = self.rng, self.xx, self.yy
        bw, bh, mortar = 62.0, 23.0, 2.6
        wx = xx + 1.6 * (value_noise(rng, H, W, 14) - 0.5)
        wy = yy + 1.2 * (value_noise(rng, H, W, 14) - 0.5)
        row = np.floor(wy / bh)
        sx = wx + (row % 2) * bw / 2 + (row % 3) * 7
        col = np.floor(sx / bw)
        lx, ly = sx - col * bw, wy - row * bh
        edge = np.minimum(np.minimum(lx, bw - lx), np.minimum(ly, bh - ly))
        brick_m = smoothstep(mortar * 0.5, mortar * 0.5 + 1.2, edge)
        rows, cols = int(H / bh) + 3, int(W / bw) + 4
        palette = np.array(
            [[0.42, 0.17, 0.11], [0.50, 0.24, 0.15], [0.36, 0.15, 0.11], [0.55, 0.30, 0.20], [0.30, 0.13, 0.10]],
            np.float32,
        )
        pick = rng.integers(0, len(palette), (rows, cols))
        tint = palette[pick] * (0.8 + 0.4 * rng.random((rows, cols, 1), dtype=np.float32))
        ri = np.clip(row.astype(np.int32) + 1, 0, rows - 1)
        ci = np.clip(col.astype(np.int32) + 1, 0, cols - 1)
        brick = tint[ri, ci]
        grain = 0.75 + 0.35 * fbm(rng, H, W, 10, 4) + 0.2 * (value_noise(rng, H, W, 1.6) - 0.5)
        pits = smoothstep(0.82, 0.9, value_noise(rng, H, W, 2.0))
        brick = brick * (grain * (1 - 0.5 * pits))[..., None]
        # bevel: top edge catches a little more light, bottom edge in shadow
        bevel = 1.0 + 0.18 * smoothstep(4, 0, ly) - 0.22 * smoothstep(bh - 4, bh, ly)
        brick = brick * bevel[..., None]
        mort = (0.5 + 0.1 * fbm(rng, H, W, 4, 3))[..., None] * rgb(0.95, 0.92, 0.85)
        return lerp(mort * 0.8, brick, brick_m)

    def floor(self, light: Array) -> tuple[Array, Array]:
        """Radiance of the oak floor with rug and sun patch, plus its coverage."""
        rng, xx, yy = self.rng, self.xx, self.yy
        f, cam_h = 1000.0, 1.2
        dy = np.maximum(yy - HORIZON_Y, 1.0)
        z = cam_h * f / dy  # depth in metres
        wxm = (xx - VANISH_X) * z / f  # world x in metres
        plank_w = 0.16
        k = np.floor(wxm / plank_w)
        u = wxm / plank_w - k  # across the plank
        n_planks = 64
        offs = rng.random(n_planks).astype(np.float32) * 2.0
        ki = (k.astype(np.int32) + n_planks // 2) % n_planks
        zz = z + offs[ki]
        seg = np.floor(zz / 1.3)
        v = zz / 1.3 - seg
        ids = (ki * 7 + seg.astype(np.int32) * 13) % 97
        tone = (0.75 + 0.5 * np.random.default_rng(rng.integers(1 << 31)).random(97).astype(np.float32))[ids]
        # grain: rings across the plank, warped along it
        warp = value_noise(rng, H, W, 40) * 3.0
        rings = 0.5 + 0.5 * np.sin(2 * np.pi * (u * 5.0 + ids * 0.37 + warp + 0.6 * np.sin(zz * 3.1 + ids)))
        fine = value_noise(rng, H, W, 1.5)
        wood = (0.72 + 0.22 * rings + 0.12 * (fine - 0.5)) * tone
        albedo = wood[..., None] * rgb(0.55, 0.34, 0.17)
        # seams between planks and butt joints
        px = f / z * plank_w  # plank width in pixels at this depth
        seam = smoothstep(0.0, 1.0, np.minimum(u, 1 - u) * px) * smoothstep(0.0, 0.006 * 1000 / z, np.minimum(v, 1 - v))
        albedo = albedo * (0.35 + 0.65 * seam)[..., None]

        # kilim rug (world coordinates, so it sits in perspective)
        rx0, rx1, rz0, rz1 = -1.55, 0.9, 3.05, 4.15
        inside = (
            smoothstep(0, 0.01, wxm - rx0) * smoothstep(0, 0.01, rx1 - wxm)
            * smoothstep(0, 0.01, z - rz0) * smoothstep(0, 0.01, rz1 - z)
        )
        ru = (wxm - rx0) / (rx1 - rx0)
        rv = (z - rz0) / (rz1 - rz0)
        band = np.floor(rv * 9)
        colors = np.array(
            [[0.62, 0.08, 0.06], [0.70, 0.55, 0.38], [0.08, 0.12, 0.38], [0.70, 0.45, 0.06],
             [0.62, 0.08, 0.06], [0.08, 0.30, 0.28], [0.70, 0.45, 0.06], [0.08, 0.12, 0.38], [0.62, 0.08, 0.06]],
            np.float32,
        )
        rug = colors[np.clip(band.astype(np.int32), 0, 8)]
        # diamonds in every other band, plus weave texture
        dv = (rv * 9) % 1.0 - 0.5
        du = (ru * 14) % 1.0 - 0.5
        diamond = smoothstep(0.32, 0.28, np.abs(du) + np.abs(dv) * 0.9) * (band % 2 == 1)
        rug = lerp(rug, np.broadcast_to(rgb(0.80, 0.74, 0.60), (H, W, 3)), diamond * 0.9)
        weave = 0.85 + 0.15 * (np.sin(wxm * 2 * np.pi / 0.006) * np.sin(z * 2 * np.pi / 0.01))
        rug = rug * (weave * (0.85 + 0.3 * fbm(rng, H, W, 6, 3)))[..., None]
        fringe = smoothstep(0, 0.01, wxm - rx0 + 0.06) * smoothstep(0, 0.01, rx1 + 0.06 - wxm) * (1 - inside)
        fringe *= smoothstep(0, 0.01, z - rz0) * smoothstep(0, 0.01, rz1 - z)
        fringe *= 0.5 + 0.5 * np.sin(z * 2 * np.pi / 0.02)
        albedo = lerp(albedo, rug, inside)
        albedo = lerp(albedo, np.broadcast_to(rgb(0.75, 0.70, 0.58), (H, W, 3)), fringe)

        # sunlight through the window: a sheared patch with mullion shadows
        sun_u = (wxm + 0.32 * (z - 2.6)) / 1.25  # shear toward the left with depth
        sun_v = (z - 2.45) / 1.35
        patch = smoothstep(0.0, 0.04, sun_u) * smoothstep(1.0, 0.96, sun_u)
        patch *= smoothstep(0.0, 0.05, sun_v) * smoothstep(1.0, 0.94, sun_v)
        patch *= smoothstep(0.02, 0.035, np.abs(sun_u - 0.5)) * smoothstep(0.02, 0.035, np.abs(sun_v - 0.42))
        sun = patch[..., None] * rgb(2.1, 1.9, 1.55)

        e = light + sun
        rad = albedo * e
        # glossy floor: a faint streak of window reflection near the wall
        refl = smoothstep(650, 612, yy) * smoothstep(560, 640, xx) * smoothstep(1060, 980, xx)
        rad = rad + (refl * 0.05)[..., None] * rgb(1.0, 1.05, 1.1)
        return rad, smoothstep(WALL_BASE_Y - 0.5, WALL_BASE_Y + 0.5, yy)

    def fabric(self, base: Array, fold_period: float, pattern: str) -> Array:
        """Albedo of a fabric: weave texture and a printed pattern on ``base``."""
        rng, xx, yy = self.rng, self.xx, self.yy
        weave = 0.88 + 0.12 * np.sin(xx * np.pi / 1.5) * np.sin(yy * np.pi / 1.5)
        slub = 0.9 + 0.2 * value_noise(rng, H, W, 3)
        alb = np.broadcast_to(base, (H, W, 3)) * (weave * slub)[..., None]
        if pattern == "tartan":
            a = (np.sin(xx * 2 * np.pi / 36) > 0.6) | (np.sin(yy * 2 * np.pi / 36 + 1) > 0.6)
            b = (np.abs(((xx + 9) % 36) - 18) < 1.5) | (np.abs(((yy + 9) % 36) - 18) < 1.5)
            alb = lerp(alb, np.broadcast_to(rgb(0.06, 0.18, 0.08), (H, W, 3)), a * 0.7)
            alb = lerp(alb, np.broadcast_to(rgb(0.8, 0.7, 0.3), (H, W, 3)), b.astype(np.float32))
        elif pattern == "dots":
            d = np.hypot(((xx + yy * 0.5) % 18) - 9, (yy % 16) - 8)
            alb = lerp(alb, np.broadcast_to(rgb(0.85, 0.75, 0.45), (H, W, 3)), smoothstep(3.5, 2.5, d))
        elif pattern == "stripes":
            s = (np.sin(xx * 2 * np.pi / 14) > 0.3).astype(np.float32)
            alb = lerp(alb, np.broadcast_to(rgb(0.75, 0.72, 0.65), (H, W, 3)), s)
        if fold_period > 0:
            folds = 0.62 + 0.38 * np.sin(xx * 2 * np.pi / fold_period + 2.5 * value_noise(rng, H, W, 60)) ** 2
            alb = alb * folds[..., None]
        return alb

    # -- compose -------------------------------------------------------------

    def build(self) -> Scene:
        rng, xx, yy, img = self.rng, self.xx, self.yy, self.img
        x0, y0, x1, y1 = WINDOW
        light = self.room_light()

        outside = self.outdoors()
        img[:] = self.brick_wall() * light

        # window reveal (sunlit left jamb), glass, frame, sill
        reveal_l = polygon([(x0 - 22, y0 - 18), (x0, y0), (x0, y1), (x0 - 22, y1 + 14)])
        reveal_r = polygon([(x1, y0), (x1 + 22, y0 - 18), (x1 + 22, y1 + 14), (x1, y1)])
        reveal_t = polygon([(x0 - 22, y0 - 18), (x1 + 22, y0 - 18), (x1, y0), (x0, y0)])
        plaster = (0.78 + 0.06 * fbm(rng, H, W, 5, 3))[..., None] * rgb(0.93, 0.92, 0.88)
        blend(img, reveal_t, plaster * 0.22)
        blend(img, reveal_r, plaster * 0.30)
        jamb_sun = 0.35 + 1.8 * smoothstep(y0 + 60, y0 + 160, yy) * smoothstep(y1 - 10, y1 - 70, yy)
        blend(img, reveal_l, plaster * jamb_sun[..., None] * rgb(1.0, 0.92, 0.78))
        opening = rounded_box(xx, yy, x0, y0, x1, y1)
        blend(img, opening, outside * 0.92)
        window_mask = opening.copy()
        ft, mt = 15.0, 11.0  # frame and mullion widths
        mx, my = (x0 + x1) / 2, y0 + 150
        frame = np.clip(
            opening * (1 - rounded_box(xx, yy, x0 + ft, y0 + ft, x1 - ft, y1 - ft))
            + rounded_box(xx, yy, mx - mt / 2, y0, mx + mt / 2, y1)
            + rounded_box(xx, yy, x0, my - mt / 2, x1, my + mt / 2),
            0,
            1,
        )
        window_mask *= 1 - frame
        # painted frame: shaded inner faces, a bright sunlit edge on the left sides
        edge_lit = smoothstep(2.5, 0.5, np.abs(xx - (mx + mt / 2)) ) + smoothstep(2.5, 0.5, np.abs(xx - (x0 + ft)))
        frame_col = (0.16 + 0.05 * fbm(rng, H, W, 6, 2) + 0.9 * edge_lit * (yy > y0 + ft))[..., None]
        blend(img, frame, frame_col * rgb(0.92, 0.92, 0.9))
        sill = polygon([(x0 - 30, y1 + 6), (x1 + 30, y1 + 6), (x1 + 24, y1 - 2), (x0 - 24, y1 - 2)])
        blend(img, sill, rgb(0.9, 0.85, 0.75) * 0.75)
        sill_front = rounded_box(xx, yy, x0 - 30, y1 + 6, x1 + 30, y1 + 14)
        blend(img, sill_front, rgb(0.9, 0.88, 0.82) * 0.16)

        # painting above the sofa: gilt frame, small sunset seascape in oils
        px0, py0, px1, py1 = 150.0, 160.0, 400.0, 345.0
        gilt = rounded_box(xx, yy, px0, py0, px1, py1, r=2)
        gilt_tex = (0.5 + 0.5 * fbm(rng, H, W, 3, 3))[..., None]
        blend(img, gilt, gilt_tex * rgb(0.65, 0.48, 0.18) * light)
        cv_ = rounded_box(xx, yy, px0 + 16, py0 + 16, px1 - 16, py1 - 16)
        t = (yy - py0) / (py1 - py0)
        stroke = fbm(rng, H, W * 3, 12, 3)[:, ::3]
        sky_p = lerp(np.broadcast_to(rgb(0.15, 0.20, 0.55), (H, W, 3)),
                     np.broadcast_to(rgb(0.95, 0.45, 0.15), (H, W, 3)), smoothstep(0.1, 0.55, t + 0.1 * stroke))
        sea = lerp(np.broadcast_to(rgb(0.05, 0.15, 0.35), (H, W, 3)),
                   np.broadcast_to(rgb(0.10, 0.35, 0.45), (H, W, 3)), stroke)
        paint = lerp(sky_p, sea, smoothstep(0.6, 0.62, t))
        sunp = ellipse(xx, yy, 300, py0 + 0.55 * (py1 - py0), 16, 16, soft=2)
        paint = lerp(paint, np.broadcast_to(rgb(0.95, 0.85, 0.4), (H, W, 3)), sunp)
        paint *= (0.85 + 0.3 * stroke)[..., None]
        blend(img, cv_, paint * light * 1.1)

        # skirting board and floor
        skirt = rounded_box(xx, yy, -10, WALL_BASE_Y - 16, W + 10, WALL_BASE_Y + 1)
        blend(img, skirt, rgb(0.8, 0.78, 0.72) * light * (0.9 + 0.15 * smoothstep(WALL_BASE_Y - 16, WALL_BASE_Y - 13, yy))[..., None])
        floor_rad, floor_m = self.floor(light)
        blend(img, floor_m, floor_rad)

        # contact shadows of the furniture on floor and wall
        occ = np.zeros((H, W), np.float32)
        occ += rounded_box(xx, yy, 95, 470, 545, 668)  # sofa
        occ += rounded_box(xx, yy, 560, 505, 1080, 636)  # sideboard
        occ += rounded_box(xx, yy, 10, 500, 130, 650)  # lamp table
        occ += rounded_box(xx, yy, 1085, 560, 1185, 690)  # plant
        ao = cv2.GaussianBlur(np.clip(occ, 0, 1), (0, 0), 18)
        img *= (1.0 - 0.65 * ao * smoothstep(560, 650, yy))[..., None]
        # the dark gaps under the sideboard and the sofa
        gaps = rounded_box(xx, yy, 566, 620, 1074, 641, r=4, soft=6) + rounded_box(xx, yy, 104, 646, 536, 666, r=4, soft=6)
        img *= (1.0 - 0.85 * np.clip(gaps, 0, 1))[..., None]

        # curtains and rod
        for cx0, cx1 in ((515.0, 618.0), (1022.0, 1122.0)):
            hem = 612 + 6 * np.sin(xx / 9.0)
            cm = rounded_box(xx, yy, cx0, 56, cx1, 700) * smoothstep(0.5, -0.5, yy - hem)
            alb = self.fabric(rgb(0.62, 0.42, 0.08), 26.0, "none")
            near_win = 1.0 + 1.1 * smoothstep(cx0 + (cx1 - cx0) * (0.55 if cx0 < 800 else 0.45),
                                              cx1 if cx0 < 800 else cx0, xx)
            glow = 0.55 * smoothstep(20, 0, np.abs(xx - (cx1 if cx0 < 800 else cx0))) * (yy < y1)
            blend(img, cm, alb * light * near_win[..., None] + (glow[..., None] * rgb(1.0, 0.75, 0.25)))
        rod = rounded_box(xx, yy, 495, 49, 1140, 56, r=3)
        blend(img, rod, rgb(0.05, 0.045, 0.04) + 0.25 * smoothstep(2, 0, np.abs(yy - 51))[..., None] * rgb(1, 1, 1))
        for fx in (492.0, 1143.0):
            blend(img, ellipse(xx, yy, fx, 52.5, 8, 8), rgb(0.06, 0.05, 0.04))
            blend(img, ellipse(xx, yy, fx + 2, 49, 2.5, 2.5, soft=2), rgb(0.7, 0.7, 0.65))

        self.sideboard(light)
        self.objects(light)
        self.sofa(light)
        self.lamp(light)
        self.plant(light)
        return Scene(np.maximum(img, 1e-5), window_mask)

    def sideboard(self, light: Array) -> None:
        rng, xx, yy, img = self.rng, self.xx, self.yy, self.img
        sx0, sx1 = 560.0, 1080.0
        grain_n = value_noise(rng, H, W, 30)
        grain = 0.5 + 0.5 * np.sin(yy * 0.9 + 6.0 * grain_n + 0.8 * np.sin(xx / 55.0))
        walnut = ((0.6 + 0.3 * grain + 0.1 * value_noise(rng, H, W, 1.5)))[..., None] * rgb(0.30, 0.17, 0.09)
        top = polygon([(sx0 + 6, 496), (sx1 - 6, 496), (sx1, 507), (sx0, 507)])
        top_e = 0.9 + 1.4 * smoothstep(sx0, sx0 + 200, xx) * smoothstep(sx1, sx1 - 120, xx)
        blend(img, top, walnut * top_e[..., None] * rgb(0.95, 0.95, 1.0))
        body = rounded_box(xx, yy, sx0, 507, sx1, 622)
        blend(img, body, walnut * light * 0.9)
        # door / drawer seams and brass knobs
        seams = np.zeros((H, W), np.float32)
        for sx in (690.0, 820.0, 950.0):
            seams += rounded_box(xx, yy, sx - 1, 512, sx + 1, 617)
        seams += rounded_box(xx, yy, sx0 + 5, 545, sx1 - 5, 547) * ((xx < 690) | (xx > 950))
        blend(img, np.clip(seams, 0, 1) * body, rgb(0.004, 0.003, 0.002))
        for kx in (680.0, 700.0, 810.0, 830.0, 940.0, 960.0):
            blend(img, ellipse(xx, yy, kx, 580, 4, 4), rgb(0.5, 0.36, 0.12) * light * 1.2)
            blend(img, ellipse(xx, yy, kx + 1, 578.5, 1.3, 1.3, soft=1.5), rgb(1.6, 1.35, 0.9))
        for lx in (sx0 + 14, sx1 - 14):
            blend(img, rounded_box(xx, yy, lx - 4, 620, lx + 4, 640, r=2), rgb(0.02, 0.012, 0.007))

    def objects(self, light: Array) -> None:
        """Red vase, blue bottle, fruit bowl and books on the sideboard."""
        rng, xx, yy, img = self.rng, self.xx, self.yy, self.img
        behind = cv2.GaussianBlur(img, (0, 0), 4)

        def cyl_normal_x(cx: float, r: float) -> Array:
            return np.clip((xx - cx) / r, -1, 1)

        # red glazed vase: body + neck, front lit by the room, rim-lit from the window
        vx = 665.0
        body = ellipse(xx, yy, vx, 448, 34, 50)
        neck = rounded_box(xx, yy, vx - 11, 372, vx + 11, 410, r=3)
        lip = ellipse(xx, yy, vx, 373, 15, 4)
        vase = np.clip(body + neck + lip, 0, 1) * smoothstep(498.5, 497.5, yy)
        nx = np.where(body > 0.01, np.clip((xx - vx) / 34, -1, 1), cyl_normal_x(vx, 11))
        front = np.sqrt(np.clip(1 - nx**2, 0, 1))
        shade = 0.06 + 0.16 * front * smoothstep(380, 470, yy) + 1.8 * np.clip(nx, 0, 1) ** 6 + 0.3 * np.clip(-nx, 0, 1) ** 4
        spec = 8.0 * np.exp(-(((xx - vx - 14) / 4) ** 2 + ((yy - 428) / 9) ** 2))
        col = shade[..., None] * rgb(0.62, 0.06, 0.04) + spec[..., None] * rgb(1, 0.95, 0.9)
        blend(img, vase, col)

        # blue glass bottle: transmits the (blurred) background, tinted blue
        bx = 735.0
        bb = rounded_box(xx, yy, bx - 20, 420, bx + 20, 498, r=8)
        bs = polygon([(bx - 20, 424), (bx - 7, 392), (bx + 7, 392), (bx + 20, 424)])
        bn = rounded_box(xx, yy, bx - 6, 352, bx + 6, 396, r=2)
        bottle = np.clip(bb + bs + bn, 0, 1)
        nxb = np.clip((xx - bx) / 20, -1, 1)
        trans = behind * rgb(0.10, 0.22, 0.55)
        edge = (np.abs(nxb) ** 8)[..., None] * rgb(0.02, 0.04, 0.1)
        hl = smoothstep(2.0, 0.0, np.abs(xx - (bx + 11))) * (yy > 400) * (yy < 490) * 3.0
        blend(img, bottle, trans * 0.8 + edge + hl[..., None] * rgb(0.8, 0.9, 1.0))
        blend(img, rounded_box(xx, yy, bx - 7, 346, bx + 7, 356, r=2), rgb(0.05, 0.03, 0.02))

        # fruit bowl: ceramic bowl, oranges, lemons and a green apple
        fruits = [
            (812.0, 466.0, 17.0, rgb(0.85, 0.30, 0.02)),
            (846.0, 461.0, 18.0, rgb(0.90, 0.70, 0.05)),
            (880.0, 467.0, 16.0, rgb(0.85, 0.30, 0.02)),
            (829.0, 446.0, 16.0, rgb(0.40, 0.65, 0.08)),
            (864.0, 443.0, 17.0, rgb(0.85, 0.30, 0.02)),
        ]
        dimple = 0.9 + 0.1 * value_noise(rng, H, W, 1.6)
        for fx, fy, fr, c in fruits:
            m = ellipse(xx, yy, fx, fy, fr, fr * 0.95)
            dx, dy = (xx - fx) / fr, (yy - fy) / fr
            nz = np.sqrt(np.clip(1 - dx**2 - dy**2, 0, 1))
            lam = np.clip(0.55 * dx - 0.6 * dy + 0.3 * nz, 0, 1)  # window light from upper right
            s = (0.06 + 0.9 * lam + 0.1 * nz) * 0.7
            spec = 1.2 * np.exp(-(((dx - 0.35) / 0.14) ** 2 + ((dy + 0.4) / 0.14) ** 2))
            blend(img, m, (s * dimple)[..., None] * c + spec[..., None] * rgb(1, 1, 1))
        bowl = ellipse(xx, yy, 846, 470, 58, 30) * (yy > 470)
        bdx = (xx - 846) / 58
        bshade = 0.07 + 0.22 * np.clip(bdx + 0.6, 0, 1.3) + 1.2 * smoothstep(0.8, 1.0, bdx)
        blend(img, bowl, bshade[..., None] * rgb(0.85, 0.85, 0.8))
        blend(img, ellipse(xx, yy, 846, 470, 58, 3) * (yy > 469), rgb(0.9, 0.9, 0.85))

        # stack of books with coloured spines and gilt lettering lines
        spines = [rgb(0.10, 0.15, 0.45), rgb(0.55, 0.08, 0.06), rgb(0.78, 0.72, 0.55),
                  rgb(0.08, 0.32, 0.15), rgb(0.62, 0.40, 0.05)]
        yb = 498.0
        for i, c in enumerate(spines):
            th = 10.0 + 3 * (i % 3)
            off = (-6, 4, -2, 7, 0)[i]
            x_a, x_b = 930.0 + off, 1032.0 + off
            m = rounded_box(xx, yy, x_a, yb - th, x_b, yb, r=2)
            shade = 0.35 + 0.8 * smoothstep(x_a, x_b, xx)
            gold = smoothstep(0.8, 0.0, np.abs(yy - (yb - th / 2))) * (np.abs(xx - (x_a + 30)) < 22)
            colr = shade[..., None] * c * light * 2.2
            colr = lerp(colr, colr * 0 + rgb(0.9, 0.7, 0.3) * 0.35, gold * 0.8)
            blend(img, m, colr)
            yb -= th

    def sofa(self, light: Array) -> None:
        xx, yy, img = self.xx, self.yy, self.img
        teal = self.fabric(rgb(0.05, 0.26, 0.28), 0, "none")
        sheen = 0.85 + 0.3 * value_noise(self.rng, H, W, 25)
        alb = teal * sheen[..., None]
        back = rounded_box(xx, yy, 115, 452, 525, 575, r=18)
        blend(img, back, alb * light * 0.85)
        for cx0, cx1 in ((120.0, 322.0), (318.0, 520.0)):  # seat cushions
            seat = rounded_box(xx, yy, cx0, 548, cx1, 592, r=12)
            top_lit = 1.0 + 0.5 * smoothstep(592, 552, yy)
            blend(img, seat, alb * light * top_lit[..., None])
        front = rounded_box(xx, yy, 118, 588, 522, 650, r=6)
        blend(img, front, alb * light * 0.6)
        for ax0, ax1 in ((92.0, 148.0), (492.0, 548.0)):  # arms
            arm = rounded_box(xx, yy, ax0, 505, ax1, 652, r=20)
            rnd = 0.6 + 0.5 * np.sqrt(np.clip(1 - ((xx - (ax0 + ax1) / 2) / 28) ** 2, 0, 1))
            blend(img, arm, alb * light * rnd[..., None])
        for lx in (110.0, 530.0):
            blend(img, rounded_box(xx, yy, lx - 5, 648, lx + 5, 664, r=2), rgb(0.01, 0.006, 0.004))
        # cushions: dotted rust and striped navy, softly rounded
        for (cx, cy, w, h, base, pat) in (
            (205.0, 520.0, 118.0, 82.0, rgb(0.55, 0.16, 0.05), "dots"),
            (440.0, 522.0, 110.0, 78.0, rgb(0.10, 0.12, 0.35), "stripes"),
        ):
            m = rounded_box(xx, yy, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, r=24)
            dome = 0.55 + 0.6 * np.sqrt(np.clip(1 - ((xx - cx) / (w / 2)) ** 2 - ((yy - cy) / (h / 2 + 10)) ** 2, 0, 1))
            blend(img, m, self.fabric(base, 0, pat) * light * dome[..., None])
        # tartan throw over the right arm
        throw = polygon([(470, 500), (552, 498), (560, 640), (520, 655), (500, 600), (468, 560)])
        blend(img, throw, self.fabric(rgb(0.55, 0.08, 0.07), 0, "tartan") * light
              * (0.8 + 0.4 * np.sin(xx / 7.0 + yy / 23.0) ** 2)[..., None])

    def lamp(self, light: Array) -> None:
        xx, yy, img = self.xx, self.yy, self.img
        lx, ly = self.lamp_xy
        table = rounded_box(xx, yy, 12, 500, 142, 512, r=3)
        blend(img, table, rgb(0.25, 0.14, 0.07) * 1.2 * (light + 0.2))
        blend(img, rounded_box(xx, yy, 20, 512, 30, 650), rgb(0.25, 0.14, 0.07) * light)
        blend(img, rounded_box(xx, yy, 124, 512, 134, 650), rgb(0.25, 0.14, 0.07) * light)
        base = ellipse(xx, yy, lx, 478, 24, 24) * (yy < 500)
        blend(img, base, rgb(0.15, 0.28, 0.22) * (light * 1.5 + 0.3 * smoothstep(lx + 20, lx - 20, xx)[..., None]))
        blend(img, rounded_box(xx, yy, lx - 2.5, 380, lx + 2.5, 456), rgb(0.12, 0.1, 0.06))
        shade = polygon([(lx - 32, 323), (lx + 32, 323), (lx + 48, 392), (lx - 48, 392)])
        glow_v = 2.6 + 1.4 * np.exp(-(((xx - lx) / 30) ** 2 + ((yy - 370) / 30) ** 2))
        linen = 0.9 + 0.1 * np.sin(yy * 2.1) * np.sin(xx * 1.7)
        blend(img, shade, (glow_v * linen)[..., None] * rgb(1.0, 0.68, 0.36))
        blend(img, rounded_box(xx, yy, lx - 48, 389, lx + 48, 393) * shade, rgb(6.0, 4.0, 2.0))

    def plant(self, light: Array) -> None:
        rng, xx, yy, img = self.rng, self.xx, self.yy, self.img
        pot = polygon([(1092, 585), (1178, 585), (1168, 684), (1102, 684)])
        pot_s = 0.5 + 0.7 * smoothstep(1100, 1170, xx)
        blend(img, pot, (pot_s * (0.85 + 0.3 * fbm(rng, H, W, 5, 3)))[..., None] * rgb(0.55, 0.24, 0.12) * light)
        blend(img, rounded_box(xx, yy, 1088, 580, 1182, 592, r=2), rgb(0.6, 0.27, 0.14) * light * 1.3)
        leaves = [
            (1135, 470, 30, 62, -0.3), (1095, 500, 26, 50, -0.9), (1170, 495, 26, 55, 0.8),
            (1120, 410, 22, 48, -0.1), (1160, 430, 24, 50, 0.5), (1085, 440, 20, 44, -0.7),
            (1140, 540, 24, 40, 0.2),
        ]
        for cx, cy, rx, ry, ang in leaves:
            c, s = np.cos(ang), np.sin(ang)
            u = (xx - cx) * c + (yy - cy) * s
            v = -(xx - cx) * s + (yy - cy) * c
            t = np.clip((v / ry + 1.0) / 2.0, 0.0, 1.0)
            half = rx * np.sin(np.pi * t) ** 0.8 * (1.25 - 0.5 * t)
            m = smoothstep(0.5, -0.5, np.abs(u) - half) * (np.abs(v) < ry)
            vein = smoothstep(1.2, 0.2, np.abs(u)) + 0.6 * smoothstep(1.0, 0.2, np.abs(np.sin(v / 7.0 + np.abs(u) / 9.0)) * rx)
            back = 0.4 * smoothstep(-rx, rx, u * (1 if cx < 1130 else -1))  # translucent toward the window
            col = (0.5 + back + 0.25 * np.clip(vein, 0, 1))[..., None] * rgb(0.10, 0.36, 0.08) * light * 1.6
            blend(img, m, col)
            blend(img, smoothstep(0.8, 0.0, np.abs(u)) * m * (np.abs(v) < ry * 0.9), rgb(0.09, 0.22, 0.05) * light)


# --------------------------------------------------------------------------
# Camera
# --------------------------------------------------------------------------

EXPOSURE_SCALE = 0.5  # scene radiance -> sensor signal at EV 0
FULL_WELL = 2500.0  # photo-electrons at signal 1.0 (sets the shot noise)
READ_NOISE = 0.0006  # in signal units


def aces_filmic(x: Array) -> Array:
    """Narkowicz's fit of the ACES filmic curve (display-linear output)."""
    return np.clip((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0)


def srgb_oetf(x: Array) -> Array:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def optics(radiance: Array) -> Array:
    """Lens effects shared by all exposures: slight blur, veiling glare, vignetting."""
    img = cv2.GaussianBlur(radiance, (0, 0), 0.6)
    glare = 0.010 * cv2.GaussianBlur(radiance, (0, 0), 6) + 0.004 * cv2.GaussianBlur(radiance, (0, 0), 60)
    img = 0.986 * img + glare
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((xx - W / 2) ** 2 + (yy - H / 2) ** 2) / ((W / 2) ** 2 + (H / 2) ** 2)
    return img * (1.0 - 0.28 * r2)[..., None]


def expose(optical: Array, ev: float, rng: np.random.Generator) -> Array:
    """Simulate one 8-bit frame: scale, noise, camera response, quantise."""
    sig = optical * (EXPOSURE_SCALE * 2.0**ev)
    shot = np.sqrt(np.clip(sig, 0, 4.0) / FULL_WELL)
    sig = sig + shot * rng.standard_normal(sig.shape, dtype=np.float32)
    sig = sig + READ_NOISE * rng.standard_normal(sig.shape, dtype=np.float32)
    out = srgb_oetf(aces_filmic(np.maximum(sig, 0.0)))
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Shot:
    ev: int
    exposure_time: Fraction
    name: str


SHOTS = (
    Shot(-2, Fraction(1, 250), "bracket_-2EV.jpg"),
    Shot(0, Fraction(1, 60), "bracket_0EV.jpg"),
    Shot(2, Fraction(1, 15), "bracket_+2EV.jpg"),
)


def make_exif(shot: Shot) -> Image.Exif:
    """EXIF block for one frame (f/8, ISO 100, the frame's time and bias)."""
    exif = Image.Exif()
    exif[0x010F] = "HDRDesk"  # Make
    exif[0x0110] = "Synthetic sample"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x0131] = "scripts/make_sample_bracket.py"  # Software
    exif[0x8298] = "CC0 1.0, HDRDesk authors"  # Copyright
    ifd = exif.get_ifd(0x8769)
    ifd[0x829A] = IFDRational(shot.exposure_time.numerator, shot.exposure_time.denominator)  # ExposureTime
    ifd[0x829D] = IFDRational(8, 1)  # FNumber
    ifd[0x8822] = 1  # ExposureProgram: manual
    ifd[0x8827] = 100  # ISOSpeedRatings
    ifd[0x9000] = b"0232"  # ExifVersion
    ifd[0x9003] = "2025:01:01 12:00:00"  # DateTimeOriginal (fixed, for reproducibility)
    ifd[0x9204] = IFDRational(shot.ev, 1)  # ExposureBiasValue
    ifd[0x920A] = IFDRational(35, 1)  # FocalLength
    ifd[0xA001] = 1  # ColorSpace: sRGB
    ifd[0xA402] = 2  # ExposureMode: auto bracket
    return exif


def contact_sheet(frames: list[Array], radiance: Array, path: Path) -> None:
    """Three frames side by side plus a log-radiance view, at half size."""
    small = [cv2.resize(f, (W // 2, H // 2), interpolation=cv2.INTER_AREA) for f in frames]
    lum = radiance @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    logl = np.log2(np.maximum(lum, 1e-4))
    lo, hi = np.percentile(logl, [0.1, 99.9])
    vis = np.clip((logl - lo) / (hi - lo), 0, 1)
    vis = cv2.applyColorMap((vis * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    small.append(cv2.resize(vis, (W // 2, H // 2), interpolation=cv2.INTER_AREA))
    sheet = np.vstack([np.hstack(small[:2]), np.hstack(small[2:])])
    cv2.imwrite(str(path), sheet[..., ::-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=20250101, help="random seed (default: %(default)s)")
    ap.add_argument("--contact", type=Path, default=None, help="also write a contact-sheet PNG here")
    args = ap.parse_args(argv)

    cv2.setNumThreads(1)
    scene = SceneBuilder(args.seed).build()
    lum = scene.radiance @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    lo, hi = np.percentile(lum, [0.1, 99.9])
    print(f"radiance range: min {lum.min():.2e}, max {lum.max():.1f} "
          f"({np.log2(lum.max() / lum.min()):.1f} stops); "
          f"0.1-99.9 percentile {lo:.2e}..{hi:.1f} ({np.log2(hi / lo):.1f} stops)")

    optical = optics(scene.radiance)
    args.out.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, shot in enumerate(SHOTS):
        frame = expose(optical, shot.ev, np.random.default_rng([args.seed, i]))
        frames.append(frame)
        path = args.out / shot.name
        Image.fromarray(frame, "RGB").save(path, "JPEG", quality=92, exif=make_exif(shot).tobytes())
        clipped = float(np.mean(frame.max(axis=2) >= 250)) * 100
        black = float(np.mean(frame.max(axis=2) <= 8)) * 100
        print(f"{path.name}: EV {shot.ev:+d}, {path.stat().st_size / 1024:.0f} KiB, "
              f"mean {frame.mean():.0f}, {clipped:.1f}% near-white, {black:.1f}% near-black")
    if args.contact is not None:
        contact_sheet(frames, scene.radiance, args.contact)
        print(f"contact sheet: {args.contact}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
