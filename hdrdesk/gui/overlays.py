"""The overlay registry: the maps the viewer can draw over the image.

A new overlay is one entry here (its key must also be in :data:`hdrdesk.session.OVERLAY_KINDS`)
plus its computation in :mod:`hdrdesk.gui.overlay_controller` (``_request``'s dispatch).
"""

from __future__ import annotations

from dataclasses import dataclass

from hdrdesk.session import OVERLAY_KINDS


@dataclass(frozen=True)
class OverlayKind:
    key: str  # the session's view.overlay value
    label: str  # in the Overlay panel's "Show" list
    legend_label: str = ""  # beside the colour legend
    legend_caption: str = ""  # under it
    needs_weights: bool = False  # only for results with weight maps (not Mertens)
    needs_masks: bool = False  # only for deghosted results (they carry motion masks)


OVERLAYS: tuple[OverlayKind, ...] = (
    OverlayKind("none", "None"),
    OverlayKind("weights", "Weight map", "weight", "the exposure's weight", needs_weights=True),
    OverlayKind("gamma", "Gamma map", "gamma", "the exposure's gamma"),
    # transparent where nothing moved: only what deghosting replaced is tinted
    OverlayKind("motion", "Motion mask", "moved", "the share taken from the reference (0: transparent)", needs_masks=True),
)
assert tuple(o.key for o in OVERLAYS) == OVERLAY_KINDS, "the overlay registry and the session disagree"


def overlay_kind(key: str) -> OverlayKind:
    for o in OVERLAYS:
        if o.key == key:
            return o
    return OVERLAYS[0]
