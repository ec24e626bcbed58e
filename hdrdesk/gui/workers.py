"""Run the core's plain functions on worker threads.

A job is any callable ``fn(*args, task=TaskState, **kwargs)``. :class:`JobRunner`
runs jobs on a :class:`QThreadPool`, turns the job's :class:`TaskState`
progress into Qt signals (delivered on the UI thread) and routes errors.

Two policies:

* ``latest_wins=True`` (fusion, gamma maps, analysis): a new request cancels
  the one in flight (cooperatively, through its TaskState) and supersedes any
  request still waiting. At most one job of the runner runs at a time; results
  of superseded requests are dropped by request id, so only the latest request
  ever produces ``result``.
* ``latest_wins=False`` (loading, export): requests queue and each one
  produces its own result.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from hdrdesk.errors import Cancelled, is_expected, user_message
from hdrdesk.tasks import TaskState

log = logging.getLogger("hdrdesk.gui")

_ids = itertools.count(1)
_local = threading.local()

#: Niceness of worker threads on Linux: the UI thread must win the CPU when it needs it.
WORKER_NICE = int(os.environ.get("HDRDESK_WORKER_NICE", "10"))


def lower_thread_priority() -> None:
    """Make the calling worker thread (and the compute threads it starts) yield to the UI thread.

    On Linux each thread has its own nice value, inherited by threads it creates
    (PyTorch's and OpenCV's pools); elsewhere QThreadPool's thread priority is used.
    """
    if getattr(_local, "niced", False):
        return
    _local.niced = True
    if sys.platform.startswith("linux"):
        try:
            tid = threading.get_native_id()
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, max(current, WORKER_NICE))
        except (OSError, AttributeError):
            pass


class _TorchDefault:
    threads: int | None = None


def _imported_torch():
    """The torch module if it is imported completely, else None (the app imports it on a worker
    after start-up: another thread may see it half-initialised)."""
    torch = sys.modules.get("torch")
    if torch is None or getattr(getattr(torch, "__spec__", None), "_initializing", False):
        return None
    return torch if hasattr(torch, "set_num_threads") else None


def _remember_torch_default() -> None:
    """PyTorch's default intra-op thread count, read once on the UI thread."""
    torch = _imported_torch()
    if _TorchDefault.threads is None and torch is not None:
        _TorchDefault.threads = torch.get_num_threads()


def _set_torch_threads(n: int | None) -> None:
    """Set the calling worker thread's PyTorch thread count (OpenMP: per thread, so the pool's
    threads can differ; each job sets it, since pool threads are reused across runners)."""
    torch = _imported_torch()
    if torch is None:
        return
    want = n if n is not None else (_TorchDefault.threads or torch.get_num_threads())
    if torch.get_num_threads() != want:
        torch.set_num_threads(want)


@dataclass
class JobError:
    """An exception raised by a job, carried to the UI thread."""

    exception: BaseException
    traceback: str

    @property
    def expected(self) -> bool:
        """A user-facing error (bad input, unwritable output...): its message is enough."""
        return is_expected(self.exception)

    def message(self) -> str:
        """The notification's text (:func:`hdrdesk.errors.user_message`, capitalised)."""
        msg = user_message(self.exception)
        if not self.expected:
            msg = f"Unexpected error: {msg}"
        elif isinstance(self.exception, MemoryError):
            msg = msg[0].upper() + msg[1:]
        return msg


@dataclass
class _Request:
    rid: int
    fn: Callable
    args: tuple
    kwargs: dict
    task: TaskState
    label: str


class JobRunner(QObject):
    """Runs jobs off the UI thread; see the module docstring for the two policies.

    Signals (all on the UI thread, with the request id first):
    ``started(rid, label)``, ``progress(rid, fraction, message)``,
    ``result(rid, value)``, ``error(rid, JobError)``, ``cancelled(rid)``,
    ``busyChanged(bool)``, and ``partial(rid, value)`` for each value the job hands to
    :meth:`TaskState.publish` while it runs (training events, previews).
    """

    started = Signal(int, str)
    progress = Signal(int, float, str)
    partial = Signal(int, object)
    result = Signal(int, object)
    error = Signal(int, object)
    cancelled = Signal(int)
    busyChanged = Signal(bool)

    # internal, emitted from worker threads (queued to this object's thread)
    _job_progress = Signal(int, float, str)
    _job_partial = Signal(int, object)
    _job_done = Signal(int, str, object)

    def __init__(
        self,
        name: str,
        pool: QThreadPool | None = None,
        latest_wins: bool = True,
        parent: QObject | None = None,
        torch_threads: int | None = None,
        max_stale: int = 0,
    ) -> None:
        """``torch_threads``: PyTorch intra-op threads for this runner's jobs (None: PyTorch's default).

        Small jobs (gamma maps and MEF-SSIM at preview size) run best on one
        thread: they are too small to gain from more, and on a busy machine the
        synchronisation of a thread team costs far more than it saves.
        """
        super().__init__(parent)
        self.name = name
        self.latest_wins = latest_wins
        self.torch_threads = torch_threads
        # latest-wins: how many superseded jobs (which cannot stop mid-step) may still run while the
        # latest one starts; 0 = the latest waits for them (heavy jobs), 1 = it starts at once (cheap jobs)
        self.max_stale = max_stale
        _remember_torch_default()
        self._pool = pool or QThreadPool.globalInstance()
        if not sys.platform.startswith("linux"):
            from PySide6.QtCore import QThread

            self._pool.setThreadPriority(QThread.Priority.LowPriority)
        self._running: dict[int, _Request] = {}
        self._pending: list[_Request] = []
        self._latest = 0
        self._busy = False
        self._job_progress.connect(self._on_progress)
        self._job_partial.connect(self._on_partial)
        self._job_done.connect(self._on_done)

    # ----------------------------------------------------------------- API
    def submit(self, fn: Callable, *args: Any, label: str = "", **kwargs: Any) -> int:
        """Queue ``fn(*args, task=..., **kwargs)``; returns the request id."""
        rid = next(_ids)
        req = _Request(rid, fn, args, kwargs, TaskState(), label or self.name)
        if self.latest_wins:
            self._latest = rid
            for old in self._running.values():
                old.task.cancel()
            self._pending = [req]  # a request still waiting is superseded silently
        else:
            self._pending.append(req)
        self._start_next()
        self._update_busy()
        return rid

    def cancel(self) -> None:
        """Cancel everything in flight or waiting."""
        pending, self._pending = self._pending, []
        for req in pending:
            self.cancelled.emit(req.rid)
        for req in self._running.values():
            req.task.cancel()
        self._update_busy()

    def cancel_request(self, rid: int) -> None:
        for req in list(self._pending):
            if req.rid == rid:
                self._pending.remove(req)
                self.cancelled.emit(rid)
        req = self._running.get(rid)
        if req is not None:
            req.task.cancel()
        self._update_busy()

    def pause(self) -> None:
        for req in self._running.values():
            req.task.pause()

    def resume(self) -> None:
        for req in self._running.values():
            req.task.resume()

    @property
    def latest_id(self) -> int:
        return self._latest

    def is_busy(self) -> bool:
        return bool(self._running or self._pending)

    def wait_done(self, timeout_ms: int = 30000) -> bool:
        """Block (processing events) until nothing runs; for shutdown and scripts."""
        from PySide6.QtCore import QCoreApplication, QEventLoop

        deadline = time.monotonic() + timeout_ms / 1000.0
        while self.is_busy() and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
        return not self.is_busy()

    # ------------------------------------------------------------ internals
    def _start_next(self) -> None:
        if self.latest_wins and len(self._running) > self.max_stale:
            return  # the pending (latest) one starts when a superseded one ends
        while self._pending and (not self.latest_wins or len(self._running) <= self.max_stale):
            req = self._pending.pop(0)
            self._running[req.rid] = req
            self._attach_progress(req)
            self.started.emit(req.rid, req.label)
            self._pool.start(lambda req=req: self._run(req))
            if self.latest_wins:
                break

    def _attach_progress(self, req: _Request) -> None:
        last = [0.0, -1.0]

        def on_progress(fraction: float, message: str) -> None:
            now = time.monotonic()
            if fraction >= 1.0 or now - last[0] > 0.05 or abs(fraction - last[1]) > 0.05:
                last[0], last[1] = now, fraction
                self._job_progress.emit(req.rid, fraction, message)

        req.task._on_progress = on_progress  # TaskState calls it from the worker thread
        req.task._on_partial = lambda value, rid=req.rid: self._job_partial.emit(rid, value)

    def _run(self, req: _Request) -> None:  # worker thread
        lower_thread_priority()
        _set_torch_threads(self.torch_threads)
        try:
            req.task.check()
            value = req.fn(*req.args, task=req.task, **req.kwargs)
            req.task.check()  # a job cancelled at its very end still counts as cancelled
        except Cancelled:
            self._job_done.emit(req.rid, "cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - everything goes to the UI as a message
            self._job_done.emit(req.rid, "error", JobError(exc, traceback.format_exc()))
        else:
            self._job_done.emit(req.rid, "ok", value)

    @Slot(int, float, str)
    def _on_progress(self, rid: int, fraction: float, message: str) -> None:
        if self.latest_wins and rid != self._latest:
            return
        self.progress.emit(rid, fraction, message)

    @Slot(int, object)
    def _on_partial(self, rid: int, value: object) -> None:
        if self.latest_wins and rid != self._latest:
            return
        self.partial.emit(rid, value)

    @Slot(int, str, object)
    def _on_done(self, rid: int, status: str, value: object) -> None:
        req = self._running.pop(rid, None)
        stale = self.latest_wins and rid != self._latest
        if stale:
            log.debug("%s: dropped the result of superseded request %d (%s)", self.name, rid, status)
        elif status == "ok":
            self.result.emit(rid, value)
        elif status == "cancelled":
            self.cancelled.emit(rid)
        else:
            err: JobError = value  # type: ignore[assignment]
            if not err.expected:
                log.error("%s job failed:\n%s", self.name, err.traceback)
            self.error.emit(rid, err)
        if req is not None:
            req.fn = req.args = req.kwargs = None  # type: ignore[assignment]  # free memory early
        self._start_next()
        self._update_busy()

    def _update_busy(self) -> None:
        busy = self.is_busy()
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
