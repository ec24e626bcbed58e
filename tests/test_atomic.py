"""Temp files of the atomic writer (issue 12, defect 7): removed on SIGTERM, stale ones cleaned
on the next write of the same target, and a group of outputs that fails leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hdrdesk.core import atomic
from hdrdesk.core.io import write_image
from hdrdesk.errors import OutputError

import numpy as np


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temps_of_the_same_target_are_removed_on_the_next_write(tmp_path):
    dead = tmp_path / f".o.png.{_dead_pid()}-abc123.tmp"
    dead.write_bytes(b"x" * 1000)
    old_style = tmp_path / ".o.png.k2j3h4.tmp"  # name without a PID (killed older version)
    old_style.write_bytes(b"y")
    old = time.time() - 2 * atomic.STALE_AGE_S
    os.utime(old_style, (old, old))
    live = tmp_path / f".o.png.{os.getpid()}-zzz.tmp"  # a writer that still runs: kept
    live.write_bytes(b"z")
    other = tmp_path / f".other.png.{_dead_pid()}-abc.tmp"  # another target: not ours to judge now
    other.write_bytes(b"w")
    write_image(tmp_path / "o.png", np.zeros((4, 4, 3), np.float32))
    assert temps(tmp_path) == sorted([live.name, other.name])


_CHILD = r"""
import os, signal, sys, threading
from pathlib import Path
from hdrdesk.core import atomic
atomic.install_signal_cleanup()
real_fsync = os.fsync
def fsync_then_killed(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGTERM)   # as if 'kill PID' arrived mid-write
    threading.Event().wait(60)             # a writer thread stuck in I/O
os.fsync = fsync_then_killed
target = Path(sys.argv[1])
if sys.argv[2] == "thread":
    t = threading.Thread(target=atomic.atomic_write_bytes, args=(target, b"x" * 1_000_000), daemon=True)
    t.start(); t.join()
else:
    atomic.atomic_write_bytes(target, b"x" * 1_000_000)
print("not killed")
"""


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_sigterm_during_a_write_removes_the_temp_file(tmp_path, where):
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "big.png"), where], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, proc.stdout, proc.stderr)
    assert temps(tmp_path) == [] and not (tmp_path / "big.png").exists()


def test_group_publishes_all_or_nothing(tmp_path):
    (tmp_path / "blocker").write_bytes(b"a file, not a folder")
    with pytest.raises(OutputError):
        with atomic.AtomicGroup() as group:
            group.add(tmp_path / "out.png", b"image")
            group.add(tmp_path / "blocker" / "weight_a.png", b"map")  # below a file: fails
            group.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_group_failure_while_publishing_restores_what_it_replaced(tmp_path):
    (tmp_path / "out.png").write_bytes(b"old output")
    group = atomic.AtomicGroup()
    group.add(tmp_path / "out.png", b"new output", overwrite=True)
    group.add(tmp_path / "map.png", b"map")
    (tmp_path / "map.png").write_bytes(b"appeared meanwhile")  # the no-overwrite publish now fails
    with pytest.raises(OutputError, match="exists"):
        group.commit()
    assert (tmp_path / "out.png").read_bytes() == b"old output"
    assert (tmp_path / "map.png").read_bytes() == b"appeared meanwhile"
    assert temps(tmp_path) == []


def test_group_commit_writes_every_file(tmp_path):
    with atomic.AtomicGroup() as group:
        group.add(tmp_path / "a.bin", b"a")
        group.add(tmp_path / "b.bin", b"b")
        assert group.commit() == [tmp_path / "a.bin", tmp_path / "b.bin"]
    assert (tmp_path / "a.bin").read_bytes() == b"a" and (tmp_path / "b.bin").read_bytes() == b"b"
    assert temps(tmp_path) == []
