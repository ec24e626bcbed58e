"""A small progress/cancel state shared by long jobs (fusion, export, training).

The same job function runs from the GUI (a worker thread sets ``cancel()``
and listens to progress through a callback), the CLI (tqdm) and tests.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from hdrdesk.errors import Cancelled

ProgressCallback = Callable[[float, str], None]
PartialCallback = Callable[[Any], None]


class TaskState:
    """Progress reporting, cancellation and pause for one job.

    Jobs call :meth:`report` (fraction in [0, 1] and a short message) and
    :meth:`check` at safe points; ``check`` raises :class:`Cancelled` after
    :meth:`cancel` and blocks while paused. :meth:`publish` hands a partial
    result (a training event, a preview) to whoever listens, while the job goes on.
    """

    def __init__(self, on_progress: ProgressCallback | None = None, on_partial: PartialCallback | None = None) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._on_progress = on_progress
        self._on_partial = on_partial
        self.progress = 0.0
        self.message = ""

    # controller side -------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused job must wake up to notice

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # job side ----------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`Cancelled` if cancelled; wait here while paused."""
        while not self._running.wait(0.1):
            pass
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def report(self, fraction: float, message: str = "") -> None:
        self.progress = min(max(float(fraction), 0.0), 1.0)
        if message:
            self.message = message
        if self._on_progress is not None:
            self._on_progress(self.progress, self.message)
        self.check()

    def publish(self, value: Any) -> None:
        """Hand a partial result to the listener (the GUI gets it as JobRunner.partial); no-op without one."""
        if self._on_partial is not None:
            self._on_partial(value)

    def sub(self, start: float, end: float) -> "SubTask":
        """A view that maps [0, 1] progress of a sub-step to [start, end]."""
        return SubTask(self, start, end)


class SubTask:
    """Progress of one stage of a larger job, mapped into the parent's range."""

    def __init__(self, parent: TaskState | SubTask, start: float, end: float) -> None:
        self.parent, self.start, self.end = parent, start, end

    @property
    def cancelled(self) -> bool:
        return self.parent.cancelled

    def check(self) -> None:
        self.parent.check()

    def report(self, fraction: float, message: str = "") -> None:
        self.parent.report(self.start + (self.end - self.start) * fraction, message)

    def publish(self, value: Any) -> None:
        self.parent.publish(value)

    def sub(self, start: float, end: float) -> "SubTask":
        return SubTask(self, start, end)


def null_task() -> TaskState:
    """A task state nobody listens to (for calls without progress)."""
    return TaskState()
