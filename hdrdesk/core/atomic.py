"""Atomic file writing: a temp file in the target's folder, then a rename (or a hard link).

Temp files are named ``.NAME.PID-RANDOM.tmp``. The process remembers the ones it has
open; :func:`install_signal_cleanup` (the command line calls it) removes them when
SIGTERM or SIGHUP arrives, and every write first removes stale temp files of the same
target left by a process that no longer runs (killed with SIGKILL, power loss).
:class:`AtomicGroup` publishes several files all or nothing.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
import threading
import time
from pathlib import Path

from hdrdesk.errors import OutputError

STALE_AGE_S = 3600.0  # a temp file without our PID in its name counts as stale after this long

_live_temps: set[str] = set()
_live_lock = threading.Lock()


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask() is process-wide and not thread-safe


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temp files of ``path`` left by dead processes; returns what was removed."""
    path = Path(path)
    prefix = _temp_prefix(path)
    removed: list[Path] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix) : -len(".tmp")]
        cand = path.parent / name
        if str(cand) in _live_temps:
            continue
        m = re.fullmatch(r"(\d+)-[^.]+", middle)
        try:
            if m:
                stale = not _pid_alive(int(m.group(1)))
            else:  # older naming without a PID (or someone else's file): only when clearly abandoned
                stale = now - cand.lstat().st_mtime > STALE_AGE_S
            if stale:
                cand.unlink()
                removed.append(cand)
        except OSError:
            continue
    return removed


def remove_live_temps() -> None:
    """Delete this process's temp files now (from a signal handler or at exit)."""
    with _live_lock:
        paths = list(_live_temps)
        _live_temps.clear()
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


_installed: dict[int, object] = {}


def _on_signal(signum, frame) -> None:  # noqa: ARG001
    remove_live_temps()
    # die of the same signal, as if we had not caught it (exit status 128 + signum)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_signal_cleanup() -> None:
    """Remove our temp files on SIGTERM / SIGHUP, then die of the signal as usual.

    Only from the main thread, and only over the default handler (never replacing one
    the embedding program set). Not for the Qt app: Python handlers run only when the
    interpreter gets control, which Qt's event loop would delay.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)):
        if sig is None or sig in _installed:
            continue
        try:
            if signal.getsignal(sig) is signal.SIG_DFL:
                signal.signal(sig, _on_signal)
                _installed[sig] = True
        except (ValueError, OSError):
            pass


def _make_temp(path: Path) -> tuple[int, str]:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}-", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    with _live_lock:
        _live_temps.add(tmp)
    return fd, tmp


def _forget(tmp: str, unlink: bool) -> None:
    with _live_lock:
        _live_temps.discard(tmp)
    if unlink:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _write_temp(path: Path, data: bytes) -> str:
    """Data into a fresh temp file next to ``path`` (flushed to disk); returns its name."""
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    clean_stale_temps(path)
    fd, tmp = _make_temp(path)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        except (AttributeError, OSError):
            pass
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        _forget(tmp, unlink=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise
    return tmp


def _publish(tmp: str, path: Path, overwrite: bool) -> None:
    """Give the temp file its final name. Without ``overwrite`` a hard link, which fails if
    the name exists (no race with another writer); where links are unsupported, a checked rename."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputError(f"{path}: exists (use --overwrite to replace it)") from None
    except OSError:  # no hard links here (some network/FAT file systems)
        if os.path.lexists(path):
            raise OutputError(f"{path}: exists (use --overwrite to replace it)") from None
        os.replace(tmp, path)
    else:
        os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    """Write via a temp file in the same folder and rename; never leaves a partial file."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists (use --overwrite to replace it)")
    tmp = _write_temp(path, data)
    try:
        _publish(tmp, path, overwrite)
    except BaseException as exc:
        _forget(tmp, unlink=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise
    _forget(tmp, unlink=False)
    return path


class AtomicGroup:
    """Several files published together or not at all.

    ``add`` writes each file's bytes to a temp file at once (so big encodings need not be
    held in memory); ``commit`` gives them their names. If anything fails, the files this
    group published are removed again (and files it replaced are put back), and every temp
    file goes: a run that fails writes nothing. Use as a context manager; leaving the block
    with an exception discards the group.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, str, bool]] = []

    def __enter__(self) -> "AtomicGroup":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.discard()

    def add(self, path: str | os.PathLike, data: bytes, overwrite: bool = False) -> Path:
        path = Path(path)
        if any(p == path for p, _, _ in self._staged):
            raise OutputError(f"{path}: written twice in one run")
        if path.exists() and not overwrite:
            raise OutputError(f"{path}: exists (use --overwrite to replace it)")
        self._staged.append((path, _write_temp(path, data), overwrite))
        return path

    def discard(self) -> None:
        for _, tmp, _ in self._staged:
            _forget(tmp, unlink=True)
        self._staged.clear()

    def commit(self) -> list[Path]:
        done: list[tuple[Path, str | None]] = []  # (published path, backup of what it replaced)
        try:
            for path, tmp, overwrite in self._staged:
                backup = None
                if overwrite and path.exists():
                    fd, backup = _make_temp(path)
                    os.close(fd)
                    os.unlink(backup)
                    os.link(path, backup)  # keeps the old content reachable until we succeed
                try:
                    _publish(tmp, path, overwrite)
                except BaseException:
                    if backup:
                        _forget(backup, unlink=True)
                    raise
                _forget(tmp, unlink=False)
                done.append((path, backup))
        except BaseException as exc:
            for path, backup in reversed(done):
                try:
                    if backup:
                        os.replace(backup, path)
                        _forget(backup, unlink=False)
                    else:
                        path.unlink()
                except OSError:
                    pass
            self.discard()
            if isinstance(exc, OSError):
                raise OutputError(f"cannot write ({exc.strerror or exc})") from None
            raise
        for _, backup in done:
            if backup:
                _forget(backup, unlink=True)
        published = [p for p, _ in done]
        self._staged.clear()
        return published
