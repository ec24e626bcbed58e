"""A fine-tuning run as the app follows it, without Qt: its state, the typed events training
sends (:func:`parse_event` turns the loop's dicts into them) and the curves they draw.

The Fine-tune panel (hdrdesk.gui.finetune_panel) keeps one :class:`RunMonitor` and shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RunState(str, Enum):
    """Where a run is. A str, so ``state == "running"`` reads naturally."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Training is going on (or about to end)."""
        return self in (RunState.RUNNING, RunState.PAUSED, RunState.STOPPING)

    @property
    def ended(self) -> bool:
        return self in (RunState.IDLE, RunState.FINISHED, RunState.STOPPED, RunState.FAILED)

    def __str__(self) -> str:
        return self.value


# ------------------------------------------------------------------ events


@dataclass(frozen=True)
class ScenesEvent:
    files: dict[str, list[str]]  # bracket name -> its files (the loop reports names only)


@dataclass(frozen=True)
class DataEvent:
    train: list[str]
    val: list[str]
    report: str
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StepEvent:
    step: int
    loss: float
    eta_s: float = 0.0


@dataclass(frozen=True)
class ValEvent:
    step: int
    mean: float


@dataclass(frozen=True)
class BestEvent:
    score: float


@dataclass(frozen=True)
class CancelledEvent:
    step: int | None


@dataclass(frozen=True)
class DoneEvent:
    pass


@dataclass(frozen=True)
class PreviewEvent:
    output: Any  # the GUI's PreviewOutput


@dataclass(frozen=True)
class PreviewErrorEvent:
    message: str


@dataclass(frozen=True)
class OtherEvent:
    raw: dict


Event = ScenesEvent | DataEvent | StepEvent | ValEvent | BestEvent | CancelledEvent | DoneEvent | PreviewEvent | PreviewErrorEvent | OtherEvent


def parse_event(e: dict) -> Event:
    """The typed form of one event dict from the training loop (or the fine-tune job)."""
    kind = e.get("type")
    if kind == "scenes":
        return ScenesEvent(dict(e.get("files", {})))
    if kind == "data":
        return DataEvent(list(e.get("train", [])), list(e.get("val", [])), str(e.get("report", "")), dict(e))
    if kind == "step":
        return StepEvent(int(e["step"]), float(e["loss"]), float(e.get("eta_s", 0.0)))
    if kind == "val":
        return ValEvent(int(e["step"]), float(e["mean"]))
    if kind == "best":
        return BestEvent(float(e.get("score", 0.0)))
    if kind == "cancelled":
        return CancelledEvent(int(e["step"]) if "step" in e else None)
    if kind == "done":
        return DoneEvent()
    if kind == "preview":
        return PreviewEvent(e["output"])
    if kind == "preview_error":
        return PreviewErrorEvent(str(e.get("message", "")))
    return OtherEvent(dict(e))


# ------------------------------------------------------------------ curves and counters

SMOOTHING = 0.85  # of the loss curve's moving average


@dataclass
class Curves:
    loss_steps: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    val_steps: list[float] = field(default_factory=list)
    val: list[float] = field(default_factory=list)

    def smoothed_loss(self) -> list[float]:
        """Exponential moving average: the trend through the noise of random crops."""
        out, acc = [], None
        for y in self.loss:
            acc = y if acc is None else SMOOTHING * acc + (1 - SMOOTHING) * y
            out.append(acc)
        return out


@dataclass
class RunMonitor:
    """What the panel shows of the run in progress: step, curves, data split, best score."""

    steps_total: int = 0
    step: int = 0
    curves: Curves = field(default_factory=Curves)
    best: float | None = None
    train_names: list[str] = field(default_factory=list)
    val_names: list[str] = field(default_factory=list)
    scene_files: dict[str, list[str]] = field(default_factory=dict)

    def reset(self, steps_total: int | None = None) -> None:
        keep = self.steps_total if steps_total is None else steps_total
        self.__init__(steps_total=keep)  # type: ignore[misc]

    def apply(self, event: Event) -> None:
        """Update the counters and curves from one event (the display is the panel's business)."""
        if isinstance(event, ScenesEvent):
            self.scene_files = dict(event.files)
        elif isinstance(event, DataEvent):
            self.train_names, self.val_names = list(event.train), list(event.val)
        elif isinstance(event, StepEvent):
            self.step = event.step
            self.curves.loss_steps.append(event.step)
            self.curves.loss.append(event.loss)
        elif isinstance(event, ValEvent):
            self.curves.val_steps.append(event.step)
            self.curves.val.append(event.mean)
        elif isinstance(event, BestEvent):
            self.best = event.score
        elif isinstance(event, CancelledEvent) and event.step is not None:
            self.step = event.step

    def fraction(self) -> float:
        return min(1.0, self.step / self.steps_total) if self.steps_total else 0.0
