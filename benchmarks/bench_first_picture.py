"""Time from opening a bracket in the app to the first picture (the preview) and to the full result (not a test).

Opens the main window offscreen (``QT_QPA_PLATFORM=offscreen`` unless set), lets the model
load, then opens the bracket's files as a drop does and prints the seconds until the frames
are loaded, the preview-resolution fusion is on display (``previewReady``) and the
full-resolution result replaces it (``resultReady``), and the longest gap of a 20 ms heartbeat
timer on the UI thread meanwhile (how long the window stops responding at worst). Medians over
the repeats, each in a fresh process.

    .venv/bin/python benchmarks/bench_first_picture.py FILE_OR_FOLDER... [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def measure_once(paths: list[Path]) -> dict[str, float]:
    """One fresh window: the model loaded first (as after start-up), then the bracket opened."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from hdrdesk.runtime import apply_runtime_defaults

    apply_runtime_defaults()  # as `hdrdesk` does before its window opens
    from PySide6.QtCore import QEventLoop, QTimer

    from hdrdesk.gui.app import create_application
    from hdrdesk.gui.jobs import load_model_for_app
    from hdrdesk.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(analysis=False)
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    load_model_for_app(None)  # what the app does after its first paint
    seen: dict[str, float] = {}
    loop = QEventLoop()
    gaps = [0.0]
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps[0] = max(gaps[0], now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    t0 = time.perf_counter()
    window.loadFinished.connect(lambda: seen.setdefault("frames loaded", time.perf_counter() - t0))
    window.previewReady.connect(lambda _r: seen.setdefault("preview on display", time.perf_counter() - t0))

    def done(_r) -> None:
        seen.setdefault("full result on display", time.perf_counter() - t0)
        QTimer.singleShot(0, loop.quit)

    window.resultReady.connect(done)
    window.fusionFailed.connect(lambda msg: (print(f"fusion failed: {msg}", file=sys.stderr), loop.quit()))
    window.open_paths(paths)
    loop.exec()
    heartbeat.stop()
    window.cancel()
    seen["longest UI gap"] = gaps[0]
    return seen


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.once:
        print(json.dumps(measure_once(args.paths)), flush=True)
        os._exit(0)  # no teardown of the window's workers: the figures are out
    marks: dict[str, list[float]] = {"frames loaded": [], "preview on display": [], "full result on display": [], "longest UI gap": []}
    load0 = os.getloadavg()
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, __file__, "--once", *map(str, args.paths)], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            print(out.stderr[-600:], file=sys.stderr)
            return 1
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        for k in marks:
            if k in seen:
                marks[k].append(seen[k])
        print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in seen.items()), file=sys.stderr)
    print(f"load average before {' '.join(f'{v:.2f}' for v in load0)}, after {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"{args.repeats} runs (fresh processes), medians")
    print()
    print("| step | seconds after opening the bracket (UI gap: seconds) | each run |")
    print("|---|---|---|")
    for k, v in marks.items():
        if v:
            print(f"| {k} | {statistics.median(v):.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
