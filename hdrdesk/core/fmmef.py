"""FMMEF: fast multi-scale structural patch decomposition for multi-exposure fusion.

The authors' method: H. Li, K. Ma, H. Yong, L. Zhang, "Fast multi-scale structural patch
decomposition for multi-exposure image fusion", IEEE Transactions on Image Processing 29,
2020 (static version, r = 4 at every scale, p = 4). This is an independent numpy/OpenCV
implementation from the paper and its formula statement; docs/fmmef.md describes it.

Each scale splits every (2r+1)^2 patch of every exposure into signal strength ``c_k``,
structure and mean intensity ``mu_k``. The detail of a scale keeps the strongest signal and
mixes the structures with weights ``c_k^(p-1)``; the coarsest scale adds the mean
intensities mixed by well-exposedness times Laplacian contrast; the scales are summed coarse
to fine with a normalised box interpolation.

Speed and memory: every window sum is an OpenCV box filter on float32 planes (its running
sums are double). The full-resolution scale runs twice over the frames in row strips (one
pass for the decimated means, one for the detail and the output), each strip in two passes
over the exposures (signal strengths and their sums, then the detail), so nothing at full
resolution is allocated per exposure; coarser scales are 4x smaller per step.

Optional per-exposure logit maps (any size, resized with ``cv2.resize`` INTER_LINEAR to each
scale) modulate the detail weights (``detail_logits``) and the base weights
(``base_logits``); without them (or with zeros) the result is plain FMMEF.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import cv2
import numpy as np

from hdrdesk.tasks import TaskState, null_task

EPS = 1e-12  # the paper's regulariser in c_k, in the weight sums and in the base weights
MIN_LEVEL_SHORT_SIDE = 64  # below this the published level rule gives no intermediate scale
STRIP_PIXELS = 1 << 18  # output pixels per row strip (a few MB of float32 scratch per plane)
LOGIT_LIMIT = 50.0  # logits are clipped to +-50 before exp (exp(50) * c^p stays far below float32's maximum)
WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads over strips
COMPACT_MEANS_PIXELS = 8_000_000  # from this many pixels a frame's half-size local means are kept as uint16 (memory)


def fmmef_levels(height: int, width: int) -> int:
    """Number of intermediate scales: ``floor(log2(min(h, w))) - 5`` (the published rule), at least 0.

    Below 64 px on the short side the rule would give none or a negative count; we use 0:
    the full-resolution scale hands its decimated means straight to the coarsest (base)
    scale. This works down to 1 x 1 and is continuous with the rule at 64 px.
    """
    short = max(1, min(int(height), int(width)))
    return max(0, int(math.floor(math.log2(short))) - 5)


def fmmef_shapes(height: int, width: int, extra_levels: int = 0) -> list[tuple[int, int]]:
    """(h, w) of every scale, finest first: full resolution, the intermediate scales, the coarsest.

    Each is the previous one decimated by ``[0::2, 0::2]``: ``((h + 1) // 2, (w + 1) // 2)``.
    ``extra_levels``: intermediate scales beyond the published rule (HDRDesk's learned fusion
    decomposes deeper than FMMEF; 0 is FMMEF). Never below a 1-pixel coarsest scale.
    """
    levels = fmmef_levels(height, width) + max(0, int(extra_levels))
    levels = min(levels, max(0, int(math.floor(math.log2(max(1, min(int(height), int(width))))))))
    shapes = [(int(height), int(width))]
    for _ in range(levels + 1):
        h, w = shapes[-1]
        shapes.append(((h + 1) // 2, (w + 1) // 2))
    return shapes


def fmmef_fuse(
    images: Sequence[np.ndarray],
    *,
    detail_logits: Sequence[np.ndarray] | None = None,
    base_logits: Sequence[np.ndarray] | None = None,
    detail_gain: np.ndarray | None = None,
    coarse_mix: float = 0.0,
    radius: int = 4,
    p: float = 4.0,
    extra_levels: int = 0,
    task: TaskState | None = None,
) -> np.ndarray:
    """Fuse ``images`` (K >= 1, darkest first; HxWx3 RGB or HxW grey; uint8, uint16 or float in [0, 1]).

    Returns float32 HxWx3 (HxW for grey) clipped to [0, 1]. ``detail_logits[k]`` /
    ``base_logits[k]``: optional 2-D maps of any size; ``exp`` of the map resized to a scale
    multiplies exposure k's detail weight at that scale / its base weight at the coarsest
    scale (logits are clipped to +-50 first). A detail map may also be 3-D, (S, h, w): one map per
    scale (:func:`detail_map_index` says which drives which). ``detail_gain``: optional log gain
    on the fused signal strength (FMMEF's ``max_k c_k``, the contrast of the fused patch) of every
    scale, 2-D, or 3-D (S, h, w), one map per scale matched as the detail maps are; 'Refine' uses it.
    ``coarse_mix``: the share (0-1) of the mean intensities mixed one scale finer than the coarsest
    (over regions half the size); 1 is the decomposition one scale shallower, 0 FMMEF's. ``task``:
    progress and cancellation (checked once per strip).
    """
    return fmmef_fuse_into(
        images, np.float32, detail_logits=detail_logits, base_logits=base_logits, detail_gain=detail_gain, coarse_mix=coarse_mix,
        radius=radius, p=p, extra_levels=extra_levels, task=task,
    )


def fmmef_fuse_into(
    images: Sequence[np.ndarray],
    out_dtype=np.float32,
    *,
    detail_logits: Sequence[np.ndarray] | None = None,
    base_logits: Sequence[np.ndarray] | None = None,
    detail_gain: np.ndarray | None = None,
    coarse_mix: float = 0.0,
    radius: int = 4,
    p: float = 4.0,
    extra_levels: int = 0,
    task: TaskState | None = None,
    strip_pixels: int = STRIP_PIXELS,
) -> np.ndarray:
    """:func:`fmmef_fuse` with the output type chosen: float32, or uint8/uint16 rounded to nearest
    (written strip by strip, so an integer result never exists as a full-size float image)."""
    task = task or null_task()
    frames = _check_inputs(images)
    out_dtype = np.dtype(out_dtype)
    if out_dtype not in (np.float32, np.uint8, np.uint16):
        raise ValueError(f"output type {out_dtype} (float32, uint8 or uint16)")
    if radius < 1:
        raise ValueError(f"radius {radius} (at least 1)")
    k = len(frames)
    for name, maps, dims in (("detail_logits", detail_logits, (2, 3)), ("base_logits", base_logits, (2,))):
        if maps is not None and (len(maps) != k or any(np.ndim(m) not in dims or 0 in np.shape(m) for m in maps)):
            raise ValueError(f"{name}: one non-empty {' or '.join(f'{d}-D' for d in dims)} map per exposure ({k})")
    mix_map = np.ndim(coarse_mix) == 2
    if not mix_map and not 0.0 <= coarse_mix <= 1.0:
        raise ValueError(f"coarse_mix {coarse_mix} (0 to 1, or a 2-D map)")
    if detail_gain is not None and (np.ndim(detail_gain) not in (2, 3) or 0 in np.shape(detail_gain)):
        raise ValueError(f"detail_gain: one non-empty 2-D or 3-D map, not {np.shape(detail_gain)}")
    h, w = frames[0].shape[:2]
    shapes = fmmef_shapes(h, w, extra_levels)
    n_scales = len(shapes)
    logits = None if detail_logits is None else [_clip_logit(m) for m in detail_logits]

    gain = None if detail_gain is None else _clip_logit(detail_gain)

    def _at_scale(m: np.ndarray, scale: int, hs: int, ws: int) -> _RowResizer:
        """A map at ``scale`` (0: the finest): the map itself, or, 3-D, its map for that scale."""
        return _RowResizer(m if m.ndim == 2 else m[detail_map_index(scale, n_scales, m.shape[0])], hs, ws)

    def _scale_mods(scale: int, hs: int, ws: int) -> list[_RowResizer] | None:
        """Each exposure's detail modulation at ``scale``."""
        return None if logits is None else [_at_scale(m, scale, hs, ws) for m in logits]

    def _scale_gain(scale: int, hs: int, ws: int) -> _RowResizer | None:
        return None if gain is None else _at_scale(gain, scale, hs, ws)

    def _base_mods(hs: int, ws: int) -> list[np.ndarray] | None:
        """Each exposure's base modulation at a scale of ``hs`` x ``ws``."""
        return None if base_logits is None else [_resize(_clip_logit(m), hs, ws) for m in base_logits]

    # 1. full resolution, first pass: the decimated local means handed to the next scale
    task.report(0.0, "FMMEF: local means")
    # Large frames keep these means as uint16 (an intermediate scale reads them, converting strips anyway):
    # half their memory, 12 MB per exposure at 24 MP, for a result within 5e-5 of the float32 one.
    compact = n_scales > 2 and h * w >= COMPACT_MEANS_PIXELS
    xs = _decimated_means(frames, radius, task, strip_pixels, np.uint16 if compact else np.float32)
    # 2. intermediate scales: detail kept, means decimated again
    details: list[np.ndarray] = []
    for s in range(1, n_scales - 1):
        task.report(0.1 + 0.2 * s / n_scales, "FMMEF: coarse scales")
        hs, ws = shapes[s]
        detail = np.empty((hs, ws), np.float32)
        nxt = [np.empty(shapes[s + 1], np.float32) for _ in range(k)]
        _detail_strips(xs, radius, p, _scale_mods(s, hs, ws), detail, task, strip_pixels, mu_down=nxt, gain=_scale_gain(s, hs, ws))
        details.append(detail)
        finer = xs if (mix_map or coarse_mix) else None  # the last intermediate scale's images: coarse_mix's base
        xs = nxt
    # 3. coarsest scale: detail plus the well-exposedness-weighted means
    hs, ws = shapes[-1]
    g = np.empty((hs, ws), np.float32)
    _detail_strips(xs, radius, p, _scale_mods(n_scales - 1, hs, ws), g, task, strip_pixels, gain=_scale_gain(n_scales - 1, hs, ws))
    g += _base(xs, radius, _base_mods(hs, ws))
    del xs
    # 4. reconstruction, coarse to fine; the finest scale's detail is computed strip by strip with it
    for i, detail in enumerate(reversed(details)):
        hs, ws = detail.shape
        up = _upsample_rows(g, hs, ws, radius, 0, hs)
        if i == 0 and (mix_map or coarse_mix):  # part of the base one scale finer: mean intensities mixed over smaller regions
            grey = [x.astype(np.float32) / 65535.0 if x.dtype == np.uint16 else x for x in finer]
            mix = _resize(np.asarray(coarse_mix, np.float32), hs, ws) if mix_map else np.float32(coarse_mix)
            up *= 1.0 - mix
            up += mix * _base(grey, radius, _base_mods(hs, ws))
            del finer, grey
        detail += up
        g = detail
    del details
    task.report(0.35, "FMMEF: full resolution")
    out = np.empty(frames[0].shape, out_dtype)
    _detail_strips(frames, radius, p, _scale_mods(0, h, w), out, task, strip_pixels, coarse=g, progress=(0.35, 1.0), gain=_scale_gain(0, h, w))
    task.report(1.0, "FMMEF: done")
    return out


# ------------------------------------------------------------------ inputs


def _check_inputs(images: Sequence[np.ndarray]) -> list[np.ndarray]:
    frames = [np.asarray(im) for im in images]
    if not frames:
        raise ValueError("FMMEF needs at least one image")
    first = frames[0]
    if first.ndim not in (2, 3) or (first.ndim == 3 and first.shape[2] != 3) or 0 in first.shape:
        raise ValueError(f"images must be HxWx3 RGB or HxW grey, not {first.shape}")
    for im in frames:
        if im.shape != first.shape:
            raise ValueError(f"images must share one shape ({first.shape} vs {im.shape})")
        if im.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
            raise ValueError(f"unsupported image type {im.dtype} (uint8, uint16, float32)")
    return frames


def _unit(src: np.ndarray) -> float:
    """What one unit of the frame's values is on the [0, 1] scale."""
    return {np.dtype(np.uint8): 1.0 / 255.0, np.dtype(np.uint16): 1.0 / 65535.0}.get(src.dtype, 1.0)


def _raw_float(src: np.ndarray) -> np.ndarray:
    """Rows of a frame as float32 in its own units (times :func:`_unit` is [0, 1]); a new array.

    Integer frames are not rescaled here: the scale is folded into the window-mean factors.
    """
    if src.dtype in (np.uint8, np.uint16):
        return src.astype(np.float32)
    return np.clip(src, 0.0, 1.0, dtype=np.float32)


def _grey_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the channels (a new 2-D float32 array)."""
    if x.ndim == 2:
        return x.copy()
    return cv2.transform(x, np.ones((1, 3), np.float32))


# ------------------------------------------------------------------ windows

_ONES: dict[int, np.ndarray] = {}


def _box(a: np.ndarray, r: int) -> np.ndarray:
    """Sums over the (2r+1)^2 window clipped to ``a`` (zeros outside), float32.

    A separable filter with a ones kernel: twice as fast as ``cv2.boxFilter`` on float32
    here; its float32 sums of 2r+1 terms are exact enough (relative 1e-7).
    """
    k = _ONES.get(r)
    if k is None:
        k = _ONES[r] = np.ones(2 * r + 1, np.float32)
    return cv2.sepFilter2D(a, -1, k, k, borderType=cv2.BORDER_CONSTANT)


def _box64(a: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(a, cv2.CV_64F, (2 * r + 1, 2 * r + 1), normalize=False, borderType=cv2.BORDER_CONSTANT)


def _window_counts(n: int, r: int) -> np.ndarray:
    """Pixels of the clipped window along one axis of length n (float64)."""
    i = np.arange(n)
    return (np.minimum(n - 1, i + r) - np.maximum(0, i - r) + 1).astype(np.float64)


def _even_counts(n: int, r: int) -> np.ndarray:
    """Even positions in the clipped window along one axis of length n (float64)."""
    i = np.arange(n)
    lo, hi = np.maximum(0, i - r), np.minimum(n - 1, i + r)
    return (hi // 2 - (lo + 1) // 2 + 1).astype(np.float64)


def _clip_logit(m: np.ndarray) -> np.ndarray:
    """A logit map as contiguous float32, clipped to +-LOGIT_LIMIT (exp of more overflows float32 products)."""
    return np.clip(np.asarray(m, dtype=np.float32), -LOGIT_LIMIT, LOGIT_LIMIT)


def _resize(m: np.ndarray, h: int, w: int) -> np.ndarray:
    return m.copy() if m.shape == (h, w) else cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)


class _RowResizer:
    """Rows of ``cv2.resize(m, (w, h), INTER_LINEAR)`` without the full-size map.

    The width is resized once (a small ``m.shape[0] x w`` map); rows are interpolated on
    demand with OpenCV's INTER_LINEAR rule (half-pixel centres, clamped at the edges).
    """

    def __init__(self, m: np.ndarray, h: int, w: int) -> None:
        sh = m.shape[0]
        self.wide = cv2.resize(m, (w, sh), interpolation=cv2.INTER_LINEAR) if m.shape[1] != w else m
        self.h, self.sh = h, sh

    def rows(self, i0: int, i1: int) -> np.ndarray:
        if self.sh == self.h:
            return self.wide[i0:i1]
        fy = (np.arange(i0, i1, dtype=np.float64) + 0.5) * (self.sh / self.h) - 0.5
        y0 = np.floor(fy)
        frac = (fy - y0).astype(np.float32)
        y0 = y0.astype(np.int64)
        low = y0 < 0
        frac[low], y0[low] = 0.0, 0
        high = y0 >= self.sh - 1
        frac[high], y0[high] = 0.0, self.sh - 1
        y1 = np.minimum(y0 + 1, self.sh - 1)
        a, b = self.wide[y0], self.wide[y1]
        return a + (b - a) * frac[:, None]


def detail_map_index(scale: int, n_scales: int, n_maps: int) -> int:
    """Which of ``n_maps`` per-scale detail maps drives ``scale`` (0: the finest) of a decomposition of
    ``n_scales``: the maps are matched from the coarsest end (the same fraction of the picture), and
    scales finer than the finest map use it (a larger photo than the maps were made for)."""
    return min(n_maps - 1, max(0, scale - (n_scales - n_maps)))


def _strip_rows(h: int, w: int, r: int, strip_pixels: int) -> int:
    rows = max(4 * r, strip_pixels // max(w, 1))
    rows += rows % 2  # even: strips start on even rows, so the decimation grid stays aligned
    return min(rows, h + h % 2)


# ------------------------------------------------------------------ scales


def _run_strips(fn, h: int, rows: int, task, progress: tuple[float, float] | None = None) -> None:
    """Call ``fn(r0, r1)`` for every row strip, on up to ``WORKERS`` threads (OpenCV and numpy
    release the GIL). Strips write disjoint rows, so the result does not depend on the order.
    Progress is reported and cancellation re-raised from the calling thread."""
    starts = list(range(0, h, rows))

    def one(r0: int) -> int:
        task.check()
        r1 = min(h, r0 + rows)
        fn(r0, r1)
        return r1

    if len(starts) == 1 or WORKERS == 1:
        for r0 in starts:
            r1 = one(r0)
            if progress is not None:
                task.report(progress[0] + (progress[1] - progress[0]) * r1 / h)
        return
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="hdrdesk-fmmef") as pool:
        futures = [pool.submit(one, r0) for r0 in starts]
        try:
            for i, fut in enumerate(futures):
                fut.result()
                if progress is not None:
                    task.report(progress[0] + (progress[1] - progress[0]) * (i + 1) / len(futures))
        finally:
            for fut in futures:
                fut.cancel()


def _decimated_means(frames: list[np.ndarray], r: int, task, strip_pixels: int, dtype=np.float32) -> list[np.ndarray]:
    """``dec(mu_k)`` of the full-resolution scale, strip by strip (grey, half size).

    ``dtype`` float32, or uint16 (the means in units of 1/65535, half the memory: they stay
    allocated beside every full-resolution frame until the last pass; rounding moves a mean by
    at most 7.6e-6, far below the reference vectors' tolerance).
    """
    h, w = frames[0].shape[:2]
    nch = 1 if frames[0].ndim == 2 else 3
    scale = 65535.0 if np.dtype(dtype) == np.uint16 else 1.0
    inv_x = (_unit(frames[0]) * scale / (_window_counts(w, r)[0::2] * nch)).astype(np.float32)
    ny = _window_counts(h, r)
    out = [np.empty(((h + 1) // 2, (w + 1) // 2), dtype) for _ in frames]

    def strip(r0: int, r1: int) -> None:
        a0, a1 = max(0, r0 - r), min(h, r1 + r)
        inv = (1.0 / ny[r0:r1:2]).astype(np.float32)[:, None] * inv_x[None, :]
        for f, dst in zip(frames, out):
            s = _box(_grey_sum(_raw_float(f[a0:a1])), r)
            if scale == 1.0:
                np.multiply(s[r0 - a0 : r1 - a0 : 2, 0::2], inv, out=dst[r0 // 2 : (r1 + 1) // 2])
            else:
                q = np.multiply(s[r0 - a0 : r1 - a0 : 2, 0::2], inv)
                np.clip(np.rint(q, out=q), 0.0, scale, out=q)
                dst[r0 // 2 : (r1 + 1) // 2] = q

    _run_strips(strip, h, _strip_rows(h, w, r, strip_pixels), task)
    return out


def _detail_strips(
    xs: list[np.ndarray],
    r: int,
    p: float,
    mods: list[_RowResizer] | None,
    out: np.ndarray,
    task,
    strip_pixels: int,
    *,
    mu_down: list[np.ndarray] | None = None,
    coarse: np.ndarray | None = None,
    progress: tuple[float, float] | None = None,
    gain: _RowResizer | None = None,
) -> None:
    """The detail ``D = sum_k d_k`` of one scale, strip by strip, into ``out``.

    ``mu_down``: also write each exposure's decimated local mean there. ``coarse``: the
    coarser scale's result; ``out`` then receives ``clip(upsample(coarse) + D)`` in its dtype.
    ``gain``: log gain on the fused signal strength ``max_k c_k``.
    """
    h, w = xs[0].shape[:2]
    colour = xs[0].ndim == 3
    internal = not colour and xs[0].dtype == np.float32 and coarse is None  # our own grey planes at a coarser scale
    nch = 3 if colour else 1
    unit = _unit(xs[0])
    strength = np.float32(math.sqrt(nch * (2 * r + 1) ** 2))
    inv_x = (1.0 / _window_counts(w, r)).astype(np.float32)[None, :]
    inv_y = (1.0 / _window_counts(h, r)).astype(np.float32)[:, None]

    def strip(r0: int, r1: int) -> None:
        a0, a1 = max(0, r0 - 2 * r), min(h, r1 + 2 * r)  # rows read
        b0, b1 = max(0, r0 - r), min(h, r1 + r)  # rows where c_k and mu_k are needed
        inv_b = inv_y[b0:b1] * inv_x  # 1 / window size
        inv_mu = inv_b * np.float32(unit / nch)
        inv_sq = inv_b * np.float32(unit * unit / nch)
        # pass 1 over exposures: signal strengths, their maximum and the weight sum
        mus, cs, ms = [], [], []
        c_max = den = None
        for i, src in enumerate(xs):
            x = src[a0:a1] if internal else _raw_float(src[a0:a1])
            if colour:
                s, q = _grey_sum(x), cv2.transform(cv2.multiply(x, x), np.ones((1, 3), np.float32))
            else:
                s, q = x, cv2.multiply(x, x)
            mu = cv2.multiply(_box(s, r)[b0 - a0 : b1 - a0], inv_mu)
            var = cv2.multiply(_box(q, r)[b0 - a0 : b1 - a0], inv_sq)
            cv2.subtract(var, cv2.multiply(mu, mu), dst=var)
            cv2.max(var, 0.0, dst=var)
            c = cv2.sqrt(var)
            c *= strength
            c += np.float32(EPS)
            m = None if mods is None else np.exp(mods[i].rows(b0, b1))
            cp = _power(c, p)
            if m is not None:
                cp *= m
            cp += np.float32(EPS)
            if c_max is None:
                c_max, den = c.copy(), cp
            else:
                cv2.max(c_max, c, dst=c_max)
                den += cp
            if mu_down is not None:
                mu_down[i][r0 // 2 : (r1 + 1) // 2] = mu[r0 - b0 : r1 - b0 : 2, 0::2]
            mus.append(mu)
            cs.append(c)
            ms.append(m)
        scale = cv2.divide(c_max, den)
        if gain is not None:
            scale *= np.exp(gain.rows(b0, b1))
        del c_max, den
        # pass 2: detail weights, their window means, and the detail itself
        inv_r = inv_b[r0 - b0 : r1 - b0]
        inv_rx = inv_r * np.float32(unit)
        acc = np.zeros((r1 - r0, w, nch) if colour else (r1 - r0, w), np.float32)
        mean_sum = np.zeros((r1 - r0, w), np.float32)
        for i in range(len(xs)):
            wk = _power(cs[i], p - 1.0)
            wk *= scale
            if ms[i] is not None:
                wk *= ms[i]
            muw = cv2.multiply(mus[i], wk)
            mean_w = cv2.multiply(_box(wk, r)[r0 - b0 : r1 - b0], inv_rx)  # times the frame's unit
            mean_sum += cv2.multiply(_box(muw, r)[r0 - b0 : r1 - b0], inv_r)
            x = xs[i][r0:r1] if internal else _raw_float(xs[i][r0:r1])  # converted again: less memory per exposure
            cv2.accumulateProduct(x, cv2.merge((mean_w, mean_w, mean_w)) if colour else mean_w, acc)
            mus[i] = cs[i] = ms[i] = None
        if coarse is not None:
            cv2.subtract(_upsample_rows(coarse, h, w, r, r0, r1), mean_sum, dst=mean_sum)
            acc += mean_sum[:, :, None] if colour else mean_sum
            _store(acc, out[r0:r1])
        else:
            acc -= mean_sum[:, :, None] if colour else mean_sum
            out[r0:r1] = acc

    _run_strips(strip, h, _strip_rows(h, w, r, strip_pixels), task, progress)


def _power(c: np.ndarray, e: float) -> np.ndarray:
    if e == 4.0:
        c2 = cv2.multiply(c, c)
        return cv2.multiply(c2, c2)
    if e == 3.0:
        return cv2.multiply(cv2.multiply(c, c), c)
    return cv2.pow(c, e)


def _store(acc: np.ndarray, dst: np.ndarray) -> None:
    """Clip float32 rows to [0, 1] into ``dst`` (float32, or uint8/uint16 rounded to nearest)."""
    flat = acc.reshape(acc.shape[0], -1)
    cv2.max(flat, 0.0, dst=flat)
    cv2.min(flat, 1.0, dst=flat)
    if dst.dtype == np.float32:
        dst[...] = acc
    elif dst.dtype == np.uint8:
        cv2.convertScaleAbs(flat, dst=dst.reshape(flat.shape), alpha=255.0)
    else:
        cv2.multiply(flat, 65535.0, dst=dst.reshape(flat.shape), dtype=cv2.CV_16U)


def _base(xs: list[np.ndarray], r: int, logits: list[np.ndarray] | None) -> np.ndarray:
    """Coarsest scale's mean intensities mixed by |Laplacian| x well-exposedness (float64, tiny)."""
    lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64)
    h, w = xs[0].shape
    inv = 1.0 / (_window_counts(h, r)[:, None] * _window_counts(w, r)[None, :])
    num = np.zeros((h, w))
    den = np.zeros((h, w))
    for i, x in enumerate(xs):
        y = x.astype(np.float64)
        a = np.abs(cv2.filter2D(y, -1, lap, borderType=cv2.BORDER_REPLICATE))
        a *= (2.0 / np.pi) * np.arctan(20.0 * np.minimum(y, 1.0 - y))  # well-exposedness e(y)
        if logits is not None:
            a *= np.exp(logits[i].astype(np.float64))
        a += EPS
        num += _box64(y, r) * inv * a  # mu_k * (a_k + eps)
        den += a
    # b = sum_k mean(mu_k v_k) = mean(sum_k mu_k v_k): the window mean is linear
    return (_box64(num / den, r) * inv).astype(np.float32)


def _upsample_rows(g: np.ndarray, h: int, w: int, r: int, i0: int, i1: int) -> np.ndarray:
    """Rows [i0, i1) of ``box(Z) / box(T)``: ``g`` on the even grid of an h x w frame, interpolated."""
    z0, z1 = max(0, i0 - r), min(h, i1 + r)
    z0 -= z0 % 2  # start on an even row so that g's rows land on even rows of the block
    z = np.zeros((z1 - z0, w), np.float32)
    z[0::2, 0::2] = g[z0 // 2 : (z1 + 1) // 2]
    u = _box(z, r)[i0 - z0 : i1 - z0]
    u *= (1.0 / _even_counts(w, r)).astype(np.float32)[None, :]  # divided by box(T), which is separable
    u *= (1.0 / _even_counts(h, r)[i0:i1]).astype(np.float32)[:, None]
    return u
