"""How responsive the window stays while the fine-tune panel trains (not a test).

Opens the fine-tune panel offscreen (``QT_QPA_PLATFORM=offscreen`` unless set), gives it two
small synthetic brackets, runs a 6-step fine-tuning with validation every 3 steps (what the GUI
test runs) and prints the longest gap of a 20 ms heartbeat timer on the UI thread meanwhile,
with the machine's load. Each repeat is a fresh run in the same process (the first one includes
the panel's warm-up of torch).

    .venv/bin/python benchmarks/bench_finetune_ui.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import cv2
import numpy as np


def write_scene(folder: Path, seed: int, h: int = 64, w: int = 96) -> None:
    """Three exposures (-2, 0, +2 EV) of a smooth random scene, named darkest first."""
    rng = np.random.default_rng(seed)
    scene = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 3.0) * 0.8 + 0.1
    folder.mkdir(parents=True, exist_ok=True)
    for i, ev in enumerate((-2.0, 0.0, 2.0)):
        img = (np.clip(scene * 2.0**ev, 0, 1) * 255 + 0.5).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:02d}.png"), img)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="the panel's torch threads (0: torch's default; the GUI test uses 1)")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "data")  # the fine-tuned models go here, not into the user's folder
        from PySide6.QtCore import QEventLoop, QTimer

        from hdrdesk.gui.app import create_application
        from hdrdesk.gui.finetune_panel import FinetunePanel
        from hdrdesk.gui.tool_widgets import Heartbeat

        def wait_for(signal, timeout_s: float = 600.0) -> None:
            loop = QEventLoop()
            signal.connect(loop.quit)
            QTimer.singleShot(int(timeout_s * 1000), loop.quit)
            loop.exec()
            signal.disconnect(loop.quit)

        create_application()
        root = Path(tmp) / "brackets"
        write_scene(root / "alpha", 1)
        write_scene(root / "beta", 2)
        panel = FinetunePanel(None)
        panel.resize(1100, 700)
        panel.show()
        wait_for(panel.warmed)
        panel.add_folder(root)
        wait_for(panel.scan_runner.result)
        panel.steps.setValue(6)
        panel.lr.setCurrentText("5e-4")
        panel.crop.setValue(48)
        panel.frames_per_batch.setValue(4)
        panel.val_every.setValue(3)
        panel.threads.setValue(args.threads)
        panel.device.setCurrentIndex(panel.device.findData("cpu"))
        gaps = []
        for i in range(args.repeats):
            beat = Heartbeat()
            beat.start()
            if not panel.start(name=f"bench-{i}"):
                raise SystemExit("the panel did not start a run")
            wait_for(panel.finished)
            beat.stop()
            gaps.append(beat.max_gap_ms)
            print(f"run {i + 1}: longest UI gap {beat.max_gap_ms:.0f} ms over {beat.ticks} ticks; gaps over 100 ms (s, ms): "
                  f"{beat.long_gaps}; load average {os.getloadavg()[0]:.1f}", flush=True)
            while panel.compare_runner.is_busy():  # let the run's comparison job finish before the next run
                loop = QEventLoop()
                QTimer.singleShot(200, loop.quit)
                loop.exec()
        print(f"longest UI gap while fine-tuning: median {statistics.median(gaps):.0f} ms (min {min(gaps):.0f}, max {max(gaps):.0f}) "
              f"over {len(gaps)} runs")
        panel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
