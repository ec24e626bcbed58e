"""Speed and memory of ``hdrdesk fuse`` / ``hdrdesk batch`` against OpenCV Mertens (not a test).

Makes 12-megapixel two-exposure brackets and a 24-megapixel three-exposure bracket by
upscaling development scenes of shared/data/brackets (written to a temp folder as
JPEG q95), then runs, each as a separate process and each several times (interleaved,
so that both sides of a comparison see the same machine load):

* ``hdrdesk fuse`` on one 12 MP pair vs a small script running OpenCV Mertens on it
  (read, ``createMergeMertens().process``, write JPEG q95);
* ``hdrdesk batch`` over five 12 MP pairs vs Mertens over the same five in one process;
* ``hdrdesk fuse`` on the 24 MP bracket.

Wall time, peak RSS and CPU time (user + system) of each child process (``os.wait4``'s
rusage) are reported as medians over the repeats, with ratios, as a Markdown table. On
a shared machine wall times follow the load; CPU time is the steadier measure of work.

    .venv/bin/python benchmarks/bench_fuse.py [--repeats 3] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "brackets"
# development (not validation) scenes, landscape 3:2
PAIR_SCENES = ["deepfuse_Seq_31", "deepfuse_Seq_33", "deepfuse_Seq_35", "merianos_Flowers", "merianos_Rovinia"]
TRIPLE_SCENE = "merianos_SeaRock"

MERTENS_SCRIPT = r'''
import sys
import cv2
import numpy as np

pairs = [a.split(",") for a in sys.argv[2:]]
merge = cv2.createMergeMertens()
for i, files in enumerate(pairs):
    imgs = [cv2.imread(f) for f in files]
    fused = merge.process(imgs)
    del imgs
    out = np.clip(fused * 255.0 + 0.5, 0, 255).astype(np.uint8)
    del fused
    cv2.imwrite(f"{sys.argv[1]}/mertens_{i}.jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 95])
'''


def make_data(src: Path, dst: Path) -> dict:
    """Upscaled brackets: five 12 MP pairs (one folder each) and one 24 MP triple."""
    import cv2

    def frames_of(scene: Path, pair: bool) -> list[Path]:
        files = sorted(p for p in scene.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if not pair:
            return files
        try:
            m = json.loads((scene / "manifest.json").read_text()).get("mefb_pair") or {}
        except OSError:
            m = {}
        if m.get("under") and m.get("over"):
            return [scene / m["under"], scene / m["over"]]
        return [files[0], files[-1]]

    def upscale(files: list[Path], out_dir: Path, megapixels: float) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        outs = []
        for i, f in enumerate(files):
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            h, w = img.shape[:2]
            s = (megapixels * 1e6 / (w * h)) ** 0.5
            size = (int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2)
            big = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
            p = out_dir / f"{i:02d}.jpg"
            cv2.imwrite(str(p), big, [cv2.IMWRITE_JPEG_QUALITY, 95])
            outs.append(p)
        return outs

    pairs = []
    for name in PAIR_SCENES:
        pairs.append(upscale(frames_of(src / name, pair=True), dst / "pairs" / name, 12.0))
    triple = upscale(frames_of(src / TRIPLE_SCENE, pair=False)[:3], dst / "triple24" / TRIPLE_SCENE, 24.0)
    return {"pairs": pairs, "triple": triple, "pairs_dir": dst / "pairs"}


def run_child(cmd: list[str], env: dict | None = None) -> tuple[float, float, float, int, str]:
    """Wall seconds, peak RSS (MB), CPU seconds (user + system) of the child, exit code, stderr tail."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        proc.stderr.close()
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024.0, cpu, proc.returncode, err.decode(errors="replace")[-600:]


def loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared/data/brackets")
    ap.add_argument("--workdir", type=Path, default=None, help="where to put the upscaled brackets (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--only", default=None, help="comma-separated subset of: fuse,batch,fuse24")
    ap.add_argument("--extra", action="store_true", help="also time hdrdesk fuse --no-align and --method mertens")
    args = ap.parse_args()

    py = sys.executable
    hdrdesk = [py, "-m", "hdrdesk"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hdrdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(",")) if args.only else {"fuse", "batch", "fuse24"}
    try:
        t = time.perf_counter()
        data = make_data(args.data, work / "data")
        print(f"made test brackets in {time.perf_counter() - t:.1f} s under {work}", file=sys.stderr)
        script = work / "mertens.py"
        script.write_text(MERTENS_SCRIPT)
        out = work / "out"
        out.mkdir(exist_ok=True)
        pair0 = [str(p) for p in data["pairs"][0]]
        pair_args = [",".join(str(p) for p in pr) for pr in data["pairs"]]

        cases: list[tuple[str, list[tuple[str, list[str]]]]] = []
        if "fuse" in only:
            group = [
                ("hdrdesk fuse, 12 MP pair", hdrdesk + ["fuse", *pair0, "-o", str(out / "fuse.jpg"), "--overwrite"]),
                ("Mertens script, 12 MP pair", [py, str(script), str(out), ",".join(pair0)]),
            ]
            if args.extra:
                group.insert(1, ("hdrdesk fuse --no-align, 12 MP pair", hdrdesk + ["fuse", *pair0, "-o", str(out / "fuse_na.jpg"), "--overwrite", "--no-align"]))
                group.insert(2, ("hdrdesk fuse --method mertens, 12 MP pair", hdrdesk + ["fuse", *pair0, "-o", str(out / "fuse_m.jpg"), "--overwrite", "--method", "mertens"]))
            cases.append(("fuse", group))
        if "batch" in only:
            cases.append((
                "batch",
                [
                    ("hdrdesk batch, 5 x 12 MP pairs", hdrdesk + ["batch", str(data["pairs_dir"]), "-o", str(out / "batch"), "--overwrite", "--no-progress"]),
                    ("Mertens script, 5 x 12 MP pairs (one process)", [py, str(script), str(out), *pair_args]),
                ],
            ))
        if "fuse24" in only:
            cases.append(("fuse24", [("hdrdesk fuse, 24 MP 3-exposure bracket", hdrdesk + ["fuse", *map(str, data["triple"]), "-o", str(out / "fuse24.jpg"), "--overwrite"])]))

        results: dict[str, list[tuple[float, float, float]]] = {}
        load_before = loadavg()
        for _, group in cases:
            for r in range(args.repeats):
                for label, cmd in group:
                    wall, rss, cpu, rc, err = run_child(cmd)
                    if rc != 0:
                        print(f"FAILED ({rc}): {label}\n{err}", file=sys.stderr)
                        return 1
                    results.setdefault(label, []).append((wall, rss, cpu))
                    print(f"  {label}: {wall:.2f} s, {rss:.0f} MB, cpu {cpu:.2f} s (load {loadavg()})", file=sys.stderr)
        load_after = loadavg()

        def med(label: str, i: int) -> float:
            return statistics.median(v[i] for v in results[label])

        print()
        print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load average before {load_before}, after {load_after}; "
              f"{args.repeats} runs each, medians.")
        print()
        print("| Run | wall (s) | peak RSS (MB) | CPU user+sys (s) | wall of each run (s) |")
        print("|---|---|---|---|---|")
        for label, vals in results.items():
            runs = ", ".join(f"{v[0]:.2f}" for v in vals)
            print(f"| {label} | {med(label, 0):.2f} | {med(label, 1):.0f} | {med(label, 2):.2f} | {runs} |")
        print()
        print("| Comparison | wall-time ratio | memory ratio | CPU-time ratio | target |")
        print("|---|---|---|---|---|")
        if "fuse" in only:
            a, b = "hdrdesk fuse, 12 MP pair", "Mertens script, 12 MP pair"
            print(f"| fuse / Mertens (12 MP pair) | {med(a, 0) / med(b, 0):.2f} | {med(a, 1) / med(b, 1):.2f} | {med(a, 2) / med(b, 2):.2f} | time <= 1, memory <= 1 |")
        if "batch" in only:
            a, b = "hdrdesk batch, 5 x 12 MP pairs", "Mertens script, 5 x 12 MP pairs (one process)"
            print(f"| batch / Mertens (5 x 12 MP pairs) | {med(a, 0) / med(b, 0):.2f} | {med(a, 1) / med(b, 1):.2f} | {med(a, 2) / med(b, 2):.2f} | time <= 0.5, memory <= 1 |")
        if "fuse24" in only:
            a = "hdrdesk fuse, 24 MP 3-exposure bracket"
            print(f"| fuse 24 MP 3-exposure peak memory | | {med(a, 1) / 1024:.2f} GB | | < 4 GB |")
        return 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
