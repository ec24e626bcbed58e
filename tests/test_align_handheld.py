"""Hand-held brackets: large shifts, rotations of a few degrees and some perspective (no Qt)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hdrdesk.core.align import align_frames
from test_align import corner_error, expose, frames_of, moved, textured_radiance


def handheld_motion(w: int, h: int, dx: float, dy: float, angle: float, tilt: float = 0.0) -> np.ndarray:
    """A 3x3 camera motion: rotation by ``angle`` degrees about the centre, a shift, and a
    perspective tilt moving the top corners by ``tilt`` of the width (keystone)."""
    rot = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    rot[0, 2] += dx
    rot[1, 2] += dy
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    t = tilt * w
    dst = np.float32([[t, 0], [w - t, 0], [w, h], [0, h]])
    keystone = cv2.getPerspectiveTransform(src, dst).astype(np.float64)
    return (rot @ keystone).astype(np.float32)


@pytest.mark.parametrize("size", [(480, 720), (1200, 1800)])
def test_handheld_bracket_is_realigned(size):
    h, w = size
    rad = textured_radiance(h, w, seed=5)
    dark_motion = handheld_motion(w, h, dx=0.05 * w, dy=-0.02 * h, angle=3.0)
    bright_motion = handheld_motion(w, h, dx=-0.04 * w, dy=0.03 * h, angle=-2.5, tilt=0.006)
    frames = frames_of([
        moved(expose(rad, -2), dark_motion, homography=True),
        expose(rad, 0),
        moved(expose(rad, 2), bright_motion, homography=True),
    ])
    out, infos = align_frames(frames)
    m = int(0.12 * w)  # the moved frames' borders are mirrored in: no counterpart in the reference
    for k, truth, ev in ((0, dark_motion, -2), (2, bright_motion, 2)):
        assert infos[k].applied, infos[k].describe()
        assert corner_error(infos[k].matrix, truth, w, h) < 0.003 * w, (infos[k].describe(), infos[k].matrix, truth)
        ref = expose(rad, ev).astype(np.float32)[m:-m, m:-m]
        after = np.abs(out[k].data.astype(np.float32)[m:-m, m:-m] - ref).mean()
        assert after < 2.0, (k, after)
