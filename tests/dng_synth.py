"""Tiny DNG files for tests, written with pidng (a test dependency)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

BLACK, WHITE = 256, 4095


def write_dng(path: Path, radiance: np.ndarray, exposure_time: float, orientation: int = 1, f_number: float = 8.0,
              neutral: tuple[float, float, float] = (0.5, 1.0, 0.6)) -> Path:
    """A 12-bit RGGB DNG of ``radiance`` (HxWx3, linear, 1.0 = white at 1 s) exposed for ``exposure_time``.

    ``neutral``: the as-shot neutral (camera RGB of white), so the as-shot white balance
    is 1/neutral. ``path`` without suffix: pidng adds '.dng'. Returns the written path.
    """
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation

    h, w, _ = radiance.shape
    v = np.clip(radiance * exposure_time, 0, 1) * np.asarray(neutral)[None, None, :]
    cfa = np.empty((h, w))
    cfa[0::2, 0::2] = v[0::2, 0::2, 0]
    cfa[0::2, 1::2] = v[0::2, 1::2, 1]
    cfa[1::2, 0::2] = v[1::2, 0::2, 1]
    cfa[1::2, 1::2] = v[1::2, 1::2, 2]
    data = (BLACK + cfa * (WHITE - BLACK)).round().astype(np.uint16)
    tags = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w), (Tag.TileLength, h),
        (Tag.Orientation, orientation), (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1), (Tag.BitsPerSample, 16), (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.RGGB), (Tag.BlackLevel, BLACK), (Tag.WhiteLevel, WHITE),
        (Tag.ColorMatrix1, [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[round(c * 1000), 1000] for c in neutral]),
        (Tag.Make, "HDRDeskTest"), (Tag.Model, "Synth"), (Tag.UniqueCameraModel, "HDRDeskTest Synth"),
        (Tag.DNGVersion, DNGVersion.V1_4), (Tag.DNGBackwardVersion, DNGVersion.V1_2),
        (Tag.FNumber, [[round(f_number * 10), 10]]),
    ):
        tags.set(tag, value)
    fr = Fraction(exposure_time).limit_denominator(100000)
    tags.set(Tag.ExposureTime, [[fr.numerator, fr.denominator]])
    dng = RAW2DNG()
    dng.options(tags, path="", compress=False)
    dng.convert(data, filename=str(Path(path).with_suffix("")))
    return Path(path).with_suffix(".dng")


def raw_scene(h: int = 48, w: int = 64) -> np.ndarray:
    """Linear radiance: 6 stops left to right, a bright block top-left (orientation is visible)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    rad = np.exp2(6.0 * xx / (w - 1) - 5.0) * (1.0 + 0.3 * np.sin(yy / 3.0))
    rad = np.repeat(rad[:, :, None], 3, axis=2)
    rad[:8, :8] = 0.9
    return rad
