"""Screenshot of the app with deghosting on and the motion mask overlay (docs/deghosting.md).

    QT_QPA_PLATFORM=offscreen python scripts/deghost_screenshot.py BRACKET_FOLDER OUT.jpg [off|low|medium|high]

Opens the bracket at 1600x1000 with the given Deghost level (default high), waits for the fusion
and the MEF-SSIM analysis, shows the motion mask of the frame with the most motion, puts the
pixel inspector on a pixel inside that mask, and saves ``QWidget.grab()``. Uses a private
settings file, never the user's.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    folder, out = Path(argv[0]), Path(argv[1])
    level = argv[2] if len(argv) > 2 else "high"
    os.environ["HDRDESK_SETTINGS"] = str(Path(tempfile.mkdtemp()) / "settings.ini")

    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer

    from hdrdesk.gui.app import create_application
    from hdrdesk.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(analysis=True)
    window.resize(1600, 1000)
    window.show()
    window.fusion_panel.set_state({"deghost": level})

    def wait(signal, ms: int = 600_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    window.open_paths([folder])
    wait(window.resultReady)
    res = window.result()
    if res is None:
        print("no result", file=sys.stderr)
        return 1
    if res.motion_masks:
        shares = [float(m.mean()) for m in res.motion_masks]
        k = int(np.argmax(shares))
        print(f"reference {res.reference + 1}; share moved per frame: " + ", ".join(f"{s * 100:.1f} %" for s in shares))
        window.set_overlay("motion", k)
        wait(window.overlayShown, 60_000)
        ys, xs = np.nonzero(res.motion_masks[k] > 0.9)
        if len(ys):
            window.overlays.set_hover((int(xs[len(xs) // 2]), int(ys[len(ys) // 2])))
        window.filmstrip.set_current_uid(window.session.entry_for_index(k).uid)
    for runner in window.analysis.runners():
        runner.wait_done(300_000)
    for _ in range(20):
        app.processEvents()
    image = window.grab().toImage()
    if not image.save(str(out), quality=85):
        print(f"could not save {out}", file=sys.stderr)
        return 1
    print(f"saved {out}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
