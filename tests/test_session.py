"""The Qt-free session model: the bracket, fusion settings, result and view state, with change events."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hdrdesk.core.io import ExposureInfo, Frame
from hdrdesk.session import Bracket, Change, FrameEntry, Session


def _frame(name: str, ev: float | None, size=(8, 6), level: int = 100) -> Frame:
    data = np.full((size[1], size[0], 3), level, np.uint8)
    return Frame(Path("/photos") / name, data, ExposureInfo(exposure_time=None if ev is None else 2.0**ev), None)


@dataclass
class _Result:  # what the session needs of a FusionResult
    frames: list


@pytest.fixture
def session():
    s = Session()
    events: list[Change] = []
    s.subscribe(events.append)
    s.events = events  # type: ignore[attr-defined]
    return s


def test_frames_are_sorted_darkest_first_and_bad_ones_rejected(session):
    entries = [FrameEntry(_frame("b.png", 0.0)), FrameEntry(_frame("a.png", 2.0)), FrameEntry(_frame("c.png", -2.0))]
    msgs = session.add_frames(entries)
    assert msgs == [] and [f.path.name for f in session.frames()] == ["c.png", "b.png", "a.png"]
    assert [c.kind for c in session.events] == ["bracket"]
    msgs = session.add_frames([FrameEntry(_frame("b.png", 0.0)), FrameEntry(_frame("big.png", 1.0, size=(9, 6)))])
    assert len(msgs) == 2 and "already in the bracket" in msgs[0] and "differs" in msgs[1]
    assert len(session.bracket) == 3


def test_editing_the_bracket_emits_one_event_per_change_and_says_whether_to_fuse(session):
    session.add_frames([FrameEntry(_frame(f"{i}.png", float(i))) for i in range(3)])
    uids = [e.uid for e in session.bracket.entries]
    session.events.clear()
    session.set_frame_enabled(uids[0], False)
    assert [f.path.name for f in session.frames()] == ["1.png", "2.png"] and session.can_fuse()
    session.toggle_frame(uids[1])
    assert not session.can_fuse()
    session.set_order(list(reversed(uids)))
    assert [e.uid for e in session.bracket.entries] == list(reversed(uids))
    with pytest.raises(ValueError):
        session.set_order(uids[:2])
    assert session.move_frame(uids[0], -1) and not session.move_frame(uids[1], 5)
    session.sort_frames()
    session.remove_frames([uids[2]])
    session.remove_frames([])  # nothing: no event
    kinds = [(c.kind, c.refill, c.fuse) for c in session.events]
    assert kinds == [("bracket", True, True)] * 2 + [("bracket", False, True)] + [("bracket", True, True)] * 3
    session.clear()
    assert len(session.bracket) == 0 and session.events[-1].fuse is False


def test_ev_labels_relative_to_the_middle_frame():
    b = Bracket()
    b.add([FrameEntry(_frame(f"{ev}.png", ev)) for ev in (-2.0, 0.0, 2.0)])
    assert sorted(b.ev_labels().values()) == ["+0.0 EV", "+2.0 EV", "-2.0 EV"]
    b2 = Bracket()
    b2.add([FrameEntry(_frame("x.png", None, level=10)), FrameEntry(_frame("y.png", None, level=200))])
    assert set(b2.ev_labels().values()) == {"EV n/a"}


def test_fusion_settings_change_events_and_options(session):
    session.set_fusion(method="mertens", working_size=256)
    session.set_fusion(method="mertens")  # no change: no event
    assert [c.kind for c in session.events] == ["options"]
    opts = session.fusion_options()
    assert (opts.method, opts.working_size, opts.align, opts.keep_weights) == ("mertens", 256, True, True)
    with pytest.raises(TypeError):
        session.set_fusion(colour="red")


def test_result_and_view_state(session):
    session.add_frames([FrameEntry(_frame(f"{i}.png", float(i))) for i in range(3)])
    frames = session.frames()
    session.set_view(target=2, compare_target=1, current=2)
    session.events.clear()
    session.set_result(_Result(frames[:2]))  # a result of two exposures: index 2 no longer exists
    assert session.view.target == "result" and session.view.compare_target == 1 and session.view.current == 1
    assert session.events[-1].kind == "result" and session.result_index_of(frames[1].path) == 1
    assert session.entry_for_index(0).frame is frames[0]
    session.events.clear()
    session.set_view(target=0)
    assert session.set_current_exposure(1) and session.view.target == 1  # an exposure view follows the current exposure
    assert not session.set_current_exposure(7)
    session.step_exposure(1)
    assert session.view.current == 0
    assert [c.fields for c in session.events] == [("target",), ("target",), ("current", "target")]  # only what changed
    session.set_view(overlay="gamma", overlay_over="exposure")
    assert session.view.base_target() == 0
    with pytest.raises(ValueError):
        session.set_view(overlay="sparkles")
    with pytest.raises(ValueError):
        session.set_view(compare_mode="triple")
    session.set_result(None)
    assert session.result is None and session.exposure_count() == 0


def test_unsubscribe():
    s = Session()
    seen = []
    stop = s.subscribe(seen.append)
    s.set_fusion(align=False)
    stop()
    s.set_fusion(align=True)
    assert len(seen) == 1
