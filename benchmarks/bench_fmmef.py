"""Speed and memory of ``hdrdesk fuse --method fmmef`` against OpenCV Mertens (not a test).

Writes synthetic brackets into a temp folder as PNG: a 12-megapixel two-exposure pair and a
24-megapixel three-exposure bracket (a smooth random radiance field with fine texture, exposed
at -2/0/+2 EV with a 1/2.2 gamma). Then runs, each as a separate process, interleaved so that
both sides see the same machine load, ``--repeats`` times:

* ``hdrdesk fuse --method fmmef`` on the 12 MP pair (PNG out) vs a small script that reads the
  same files, runs ``cv2.createMergeMertens().process`` and writes a PNG;
* ``hdrdesk fuse --method fmmef`` on the 24 MP bracket (peak memory);
* the fusion alone: ``fmmef_fuse_into`` and ``createMergeMertens().process`` on the same decoded
  12 MP pair in one process (wall and CPU time), which leaves out decoding, alignment and encoding.

Reports the medians of wall time, peak RSS and CPU time (``os.wait4``'s rusage of each child)
and the ratios, as Markdown, with the load average before and after.

    .venv/bin/python benchmarks/bench_fmmef.py [--repeats 3] [--keep] [--no-align]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MERTENS_SCRIPT = r'''
import sys
import cv2
import numpy as np

imgs = [cv2.imread(f) for f in sys.argv[2:]]
fused = cv2.createMergeMertens().process(imgs)
del imgs
out = np.clip(fused * 255.0 + 0.5, 0, 255).astype(np.uint8)
del fused
cv2.imwrite(sys.argv[1], out)
'''

# the fusion alone, both methods in one process on the same decoded arrays (no I/O, no alignment)
COMPUTE_SCRIPT = r'''
import json, sys, time
import cv2
import numpy as np
from hdrdesk.core.fmmef import fmmef_fuse_into

bgr = [cv2.imread(f) for f in sys.argv[1:]]
rgb = [cv2.cvtColor(b, cv2.COLOR_BGR2RGB) for b in bgr]
res = {}
for name, fn in (("fmmef", lambda: fmmef_fuse_into(rgb, np.uint8)), ("mertens", lambda: cv2.createMergeMertens().process(bgr))):
    t, c = time.perf_counter(), time.process_time()
    fn()
    res[name] = (time.perf_counter() - t, time.process_time() - c)
print(json.dumps(res))
'''


def make_bracket(folder: Path, height: int, width: int, evs: tuple[float, ...], seed: int) -> list[Path]:
    """PNG frames of one synthetic scene (8-bit RGB), darkest first."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    small = rng.standard_normal((height // 64 + 2, width // 64 + 2, 3)).astype(np.float32)
    log_rad = cv2.resize(cv2.GaussianBlur(small, (0, 0), 1.5), (width, height), interpolation=cv2.INTER_CUBIC)
    log_rad *= np.float32(2.5)  # about +-6 EV of scene contrast
    texture = cv2.resize(rng.standard_normal((height // 4, width // 4)).astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    log_rad += np.float32(0.3) * texture[:, :, None]
    del texture
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ev in enumerate(evs):
        v = np.exp2(log_rad + np.float32(ev - 1.0))
        np.clip(v, 0, 1, out=v)
        np.power(v, np.float32(1 / 2.2), out=v)
        frame = (v * 255 + 0.5).astype(np.uint8)
        del v
        paths.append(folder / f"{i:02d}.png")
        cv2.imwrite(str(paths[-1]), frame)
    return paths


def run_child(cmd: list[str]) -> tuple[float, float, float, int, str]:
    """Wall seconds, peak RSS (MB), CPU seconds (user + system), exit code, stderr tail of one child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), err.decode(errors="replace")[-600:]


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="where to write the brackets (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--no-align", action="store_true", help="run hdrdesk without alignment (the Mertens script never aligns)")
    ap.add_argument("--skip-24", action="store_true", help="leave out the 24 MP bracket")
    ap.add_argument("--make", type=Path, default=None, help=argparse.SUPPRESS)  # internal: write the brackets there and exit
    args = ap.parse_args()
    if args.make is not None:
        make_bracket(args.make / "pair12", 3000, 4000, (-2.0, 2.0), seed=1)
        if not args.skip_24:
            make_bracket(args.make / "triple24", 4000, 6000, (-2.0, 0.0, 2.0), seed=2)
        return 0

    py = sys.executable
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hdrdesk-bench-fmmef-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        # in a child: a child process starts with its parent's resident size as its peak (ru_maxrss)
        maker = [py, __file__, "--make", str(work)] + (["--skip-24"] if args.skip_24 else [])
        subprocess.run(maker, check=True)
        pair = sorted((work / "pair12").glob("*.png"))
        triple = [] if args.skip_24 else sorted((work / "triple24").glob("*.png"))
        print(f"made the brackets in {time.perf_counter() - t:.1f} s under {work}", file=sys.stderr)
        script = work / "mertens.py"
        script.write_text(MERTENS_SCRIPT)
        out = work / "out"
        out.mkdir(exist_ok=True)
        hd = [py, "-m", "hdrdesk", "fuse", "--method", "fmmef", "--overwrite"] + (["--no-align"] if args.no_align else [])
        fmmef12 = "hdrdesk fuse --method fmmef, 12 MP pair"
        mertens12 = "Mertens script, 12 MP pair"
        fmmef24 = "hdrdesk fuse --method fmmef, 24 MP 3-exposure bracket"
        group = [
            (fmmef12, hd + [*map(str, pair), "-o", str(out / "fmmef12.png")]),
            (mertens12, [py, str(script), str(out / "mertens12.png"), *map(str, pair)]),
        ]
        if triple:
            group.append((fmmef24, hd + [*map(str, triple), "-o", str(out / "fmmef24.png")]))
        results: dict[str, list[tuple[float, float, float]]] = {}
        load_before = loadavg()
        for _ in range(args.repeats):
            for label, cmd in group:
                wall, rss, cpu, rc, err = run_child(cmd)
                if rc != 0:
                    print(f"FAILED ({rc}): {label}\n{err}", file=sys.stderr)
                    return 1
                results.setdefault(label, []).append((wall, rss, cpu))
                print(f"  {label}: {wall:.2f} s, {rss:.0f} MB, cpu {cpu:.2f} s (load {loadavg()})", file=sys.stderr)
        compute: list[dict] = []
        for _ in range(args.repeats):
            proc = subprocess.run([py, "-c", COMPUTE_SCRIPT, *map(str, pair)], capture_output=True, text=True, check=True)
            compute.append(json.loads(proc.stdout))
            print(f"  fusion only: {compute[-1]} (load {loadavg()})", file=sys.stderr)
        load_after = loadavg()

        def med(label: str, i: int) -> float:
            return statistics.median(v[i] for v in results[label])

        print(f"\n{os.cpu_count()} CPUs; load average before {load_before}, after {load_after}; "
              f"{args.repeats} runs each, medians; hdrdesk {'without' if args.no_align else 'with'} alignment.\n")
        print("| Run | wall (s) | peak RSS (MB) | CPU user+sys (s) | wall of each run (s) |")
        print("|---|---|---|---|---|")
        for label, vals in results.items():
            runs = ", ".join(f"{v[0]:.2f}" for v in vals)
            print(f"| {label} | {med(label, 0):.2f} | {med(label, 1):.0f} | {med(label, 2):.2f} | {runs} |")
        print("\n| Comparison | wall-time ratio | memory ratio | CPU-time ratio | target |")
        print("|---|---|---|---|---|")
        print(f"| FMMEF / Mertens (12 MP pair) | {med(fmmef12, 0) / med(mertens12, 0):.2f} | {med(fmmef12, 1) / med(mertens12, 1):.2f} "
              f"| {med(fmmef12, 2) / med(mertens12, 2):.2f} | time <= 1 |")
        cf = [statistics.median(c[m][i] for c in compute) for m in ("fmmef", "mertens") for i in (0, 1)]
        print(f"| fusion only, one process (fmmef_fuse_into vs createMergeMertens().process), 12 MP pair: "
              f"{cf[0]:.2f} s vs {cf[2]:.2f} s | {cf[0] / cf[2]:.2f} | | {cf[1] / cf[3]:.2f} (CPU {cf[1]:.2f} s vs {cf[3]:.2f} s) | |")
        if triple:
            print(f"| FMMEF 24 MP 3-exposure peak memory | | {med(fmmef24, 1) / 1024:.2f} GB | | < 3 GB |")
        return 0
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
