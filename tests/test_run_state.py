"""The Qt-free state of a fine-tuning run: the enum, typed events and the curves the panel draws."""

from __future__ import annotations

from hdrdesk.training.run_state import (
    DataEvent,
    OtherEvent,
    RunMonitor,
    RunState,
    StepEvent,
    ValEvent,
    parse_event,
)


def test_run_state_is_a_real_enum_that_reads_like_its_name():
    assert RunState("running") is RunState.RUNNING and RunState.RUNNING == "running"
    assert [s.value for s in RunState if s.active] == ["running", "paused", "stopping"]
    assert RunState.FAILED.ended and not RunState.PAUSED.ended


def test_events_from_the_training_loop_become_typed_and_fill_the_monitor():
    m = RunMonitor(steps_total=10)
    raw = [
        {"type": "data", "train": ["a", "b"], "val": ["c"], "report": "3 brackets"},
        {"type": "val", "step": 0, "pair": 0.9, "mean": 0.91},
        {"type": "step", "step": 1, "loss": 0.5, "lr": 1e-3, "eta_s": 9.0},
        {"type": "step", "step": 2, "loss": 0.3},
        {"type": "best", "score": 0.93},
        {"type": "val", "step": 2, "mean": 0.93},
        {"type": "cancelled", "step": 2},
        {"type": "something new", "x": 1},
    ]
    events = [parse_event(e) for e in raw]
    assert isinstance(events[0], DataEvent) and events[0].raw == raw[0]
    assert events[2] == StepEvent(1, 0.5, 9.0) and events[5] == ValEvent(2, 0.93)
    assert isinstance(events[-1], OtherEvent)
    for e in events:
        m.apply(e)
    assert (m.step, m.best, m.train_names, m.val_names) == (2, 0.93, ["a", "b"], ["c"])
    assert m.curves.loss_steps == [1, 2] and m.curves.val == [0.91, 0.93]
    assert m.curves.smoothed_loss() == [0.5, 0.85 * 0.5 + 0.15 * 0.3]
    assert m.fraction() == 0.2
    m.reset()
    assert m.step == 0 and m.curves.loss == [] and m.steps_total == 10
