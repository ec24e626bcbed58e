"""Time from starting ``hdrdesk`` to its window's first paint (not a test).

Runs ``python -m hdrdesk`` with ``HDRDESK_STARTUP_PROBE=exit`` (the app prints when its window
first painted, measured from the process start, and quits), interleaved with a bare PySide6
script that opens an empty window the same way, so both see the same machine load. Uses the
real X server when ``DISPLAY`` is set, else ``xvfb-run -a`` when the Qt xcb plugin can load,
else ``QT_QPA_PLATFORM=offscreen`` (the platform is printed). Medians over the repeats of the
time to the first paint and the wall time of the whole process (it quits right after).
One untimed warm-up run each first, with bytecode caching on (as an installed app has it).

    .venv/bin/python benchmarks/bench_startup.py [--repeats 5] [--platform offscreen|xcb]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

BARE_QT = r'''
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
from hdrdesk.gui.app import process_seconds
app = QApplication(sys.argv[:1])
win = QMainWindow(); win.resize(1280, 800)
class F(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print(f"first paint {process_seconds():.3f}", flush=True), app.quit()))
        return False
f = F(win); win.installEventFilter(f); win.show()
app.exec()
'''

PAINT = re.compile(r"first paint ([0-9.]+)")


def _platform(requested: str | None) -> tuple[list[str], dict]:
    env = dict(os.environ)
    if requested == "offscreen" or (requested is None and not os.environ.get("DISPLAY") and not _xvfb_works()):
        env["QT_QPA_PLATFORM"] = "offscreen"
        return [], env
    if os.environ.get("DISPLAY"):
        return [], env
    return ["xvfb-run", "-a"], env


def _xvfb_works() -> bool:
    if not shutil.which("xvfb-run"):
        return False
    probe = [sys.executable, "-c", "from PySide6.QtWidgets import QApplication; QApplication([])"]
    try:
        return subprocess.run(["xvfb-run", "-a", *probe], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_once(cmd: list[str], env: dict) -> float:
    """Seconds from the process start to the first paint, as the child measured it."""
    proc = subprocess.run(cmd, capture_output=True, env=env, text=True, timeout=300)
    m = PAINT.search(proc.stdout)
    if proc.returncode != 0 or m is None:
        raise RuntimeError(f"{cmd[-1][:40]} failed ({proc.returncode}): {proc.stderr[-400:]}")
    return float(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--platform", choices=("offscreen", "xcb"), default=None)
    args = ap.parse_args()
    prefix, env = _platform(args.platform)
    env["HDRDESK_STARTUP_PROBE"] = "exit"
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its bytecode cached: so should the runs
    runs = {"hdrdesk (window first painted)": prefix + [sys.executable, "-m", "hdrdesk"],
            "bare PySide6 window": prefix + [sys.executable, "-c", BARE_QT]}
    res: dict[str, list[float]] = {k: [] for k in runs}
    walls: dict[str, list[float]] = {k: [] for k in runs}
    for cmd in runs.values():  # warm-up (bytecode caches, file cache), not timed
        run_once(cmd, env)
    load0 = os.getloadavg()
    for _ in range(args.repeats):
        for label, cmd in runs.items():
            t0 = time.perf_counter()
            paint = run_once(cmd, env)
            res[label].append(paint)
            walls[label].append(time.perf_counter() - t0)
            print(f"  {label}: {paint:.2f} s", file=sys.stderr)
    plat = env.get("QT_QPA_PLATFORM") or ("xcb under xvfb-run" if prefix else "xcb")
    print(f"platform {plat}; load average before {' '.join(f'{v:.2f}' for v in load0)}, after "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}; {args.repeats} runs each, medians")
    print()
    print("| Run | first paint after process start (s) | whole process wall (s) | each run (s) |")
    print("|---|---|---|---|")
    for label in runs:
        print(f"| {label} | {statistics.median(res[label]):.2f} | {statistics.median(walls[label]):.2f} | "
              f"{', '.join(f'{v:.2f}' for v in res[label])} |")
    a, b = (statistics.median(v) for v in res.values())
    print()
    print(f"hdrdesk's window needs {a - b:+.2f} s more than an empty PySide6 window (target: on screen within 1.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
