"""Speed and memory of ``hdrdesk fuse`` / ``hdrdesk batch`` against OpenCV Mertens (not a test).

Makes brackets by upscaling development scenes of shared/data/brackets into a temp
folder, then runs each command as a separate process, several times, interleaved with
a small script that runs OpenCV's Mertens fusion on the same files (read,
``createMergeMertens().process``, write with OpenCV's default settings; JPEG q95), so
both sides of every comparison see the same machine load. Cases (``--only``):

* ``png``: one 12 MP pair, PNG in and PNG out;
* ``jpg``: one 12 MP pair, JPEG (q95) in and out;
* ``batch``: ``hdrdesk batch`` over five 12 MP JPEG pairs vs Mertens over them in one process;
* ``fuse24``: a 24 MP three-exposure JPEG bracket;
* ``fuse24x9``: a 24 MP nine-exposure JPEG bracket, and ``fuse24x3`` its first three
  exposures: with both, the memory each extra exposure costs is printed;
* ``fuse100``: a 3 x 100 MP (medium-format) bracket; minutes, and Mertens needs about
  15 GB here, so only with ``--big`` (or ``--only fuse100``).

Wall time, peak RSS and CPU time (user + system) of each child process (``os.wait4``'s
rusage) are reported as medians over the repeats, with ratios, as Markdown tables. On
a shared machine wall times follow the load (the load average is printed): read the
same-run ratios, and CPU time as the steadier measure of work.

    .venv/bin/python benchmarks/bench_fuse.py [--repeats 3] [--only png,jpg] [--all] [--big] [--keep]
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
NINE_SCENE = "pmef3_Knossos3"  # development scene with nine exposures
DEFAULT_CASES = ("png", "jpg", "batch", "fuse24")
ALL_CASES = DEFAULT_CASES + ("fuse24x3", "fuse24x9", "fuse100")

MERTENS_SCRIPT = r'''
import sys
import cv2
import numpy as np

out_dir, ext = sys.argv[1], sys.argv[2]
brackets = [a.split(",") for a in sys.argv[3:]]
merge = cv2.createMergeMertens()
for i, files in enumerate(brackets):
    imgs = [cv2.imread(f) for f in files]
    fused = merge.process(imgs)
    del imgs
    out = np.clip(fused * 255.0 + 0.5, 0, 255).astype(np.uint8)
    del fused
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else []
    cv2.imwrite(f"{out_dir}/mertens_{i}{ext}", out, params)
'''


def _frames_of(scene: Path, pair: bool) -> list[Path]:
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


def upscale(files: list[Path], out_dir: Path, megapixels: float, ext: str = ".jpg") -> list[Path]:
    """Each frame resized to about ``megapixels`` (even sides), written as JPEG q95 or PNG."""
    import cv2

    out_dir.mkdir(parents=True, exist_ok=True)
    outs = []
    for i, f in enumerate(files):
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        s = (megapixels * 1e6 / (w * h)) ** 0.5
        size = (int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2)
        big = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
        del img
        p = out_dir / f"{i:02d}{ext}"
        cv2.imwrite(str(p), big, [cv2.IMWRITE_JPEG_QUALITY, 95] if ext == ".jpg" else [])
        outs.append(p)
    return outs


def make_data(src: Path, dst: Path, cases: set[str]) -> dict:
    """The brackets the chosen cases need."""
    data: dict = {}
    if cases & {"jpg", "batch"}:
        data["pairs"] = [upscale(_frames_of(src / n, True), dst / "pairs" / n, 12.0) for n in PAIR_SCENES]
        data["pairs_dir"] = dst / "pairs"
    if "png" in cases:
        data["png_pair"] = upscale(_frames_of(src / PAIR_SCENES[0], True), dst / "png_pair", 12.0, ".png")
    if "fuse24" in cases:
        data["triple"] = upscale(_frames_of(src / TRIPLE_SCENE, False)[:3], dst / "triple24", 24.0)
    if cases & {"fuse24x3", "fuse24x9"}:
        data["nine"] = upscale(_frames_of(src / NINE_SCENE, False)[:9], dst / "nine24", 24.0)
        data["nine_first3"] = data["nine"][:3]
    if "fuse100" in cases:
        data["mf100"] = upscale(_frames_of(src / TRIPLE_SCENE, False)[:3], dst / "mf100", 100.0)
    return data


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
    ap.add_argument("--only", default=None, help=f"comma-separated cases: {','.join(ALL_CASES)} (default: {','.join(DEFAULT_CASES)})")
    ap.add_argument("--all", action="store_true", help="every case but fuse100")
    ap.add_argument("--big", action="store_true", help="add the 3 x 100 MP case (fuse100)")
    ap.add_argument("--extra", action="store_true", help="also time hdrdesk fuse --no-align and --method mertens (jpg case)")
    args = ap.parse_args()

    py = sys.executable
    hdrdesk = [py, "-m", "hdrdesk"]
    cases = set(args.only.split(",")) if args.only else set(DEFAULT_CASES)
    if args.all:
        cases |= set(ALL_CASES) - {"fuse100"}
    if args.big:
        cases.add("fuse100")
    unknown = cases - set(ALL_CASES)
    if unknown:
        ap.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="hdrdesk-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        data = make_data(args.data, work / "data", cases)
        print(f"made test brackets in {time.perf_counter() - t:.1f} s under {work}", file=sys.stderr)
        script = work / "mertens.py"
        script.write_text(MERTENS_SCRIPT)
        out = work / "out"
        out.mkdir(exist_ok=True)

        def fuse(files, name, *extra):
            return hdrdesk + ["fuse", *map(str, files), "-o", str(out / name), "--overwrite", *extra]

        def mertens(ext, *brackets):
            return [py, str(script), str(out), ext, *(",".join(map(str, b)) for b in brackets)]

        # (case, [(label, command)], [(comparison label, hdrdesk label, Mertens label, target)])
        plan: list[tuple[str, list[tuple[str, list[str]]], list[tuple[str, str, str, str]]]] = []
        if "png" in cases:
            a, b = "hdrdesk fuse, 12 MP pair, PNG in/out", "Mertens script, 12 MP pair, PNG in/out"
            plan.append(("png", [(a, fuse(data["png_pair"], "fuse.png")), (b, mertens(".png", data["png_pair"]))],
                         [("fuse / Mertens, 12 MP pair, PNG", a, b, "time <= 0.8, memory <= 1")]))
        if "jpg" in cases:
            pair0 = data["pairs"][0]
            a, b = "hdrdesk fuse, 12 MP pair, JPEG in/out", "Mertens script, 12 MP pair, JPEG in/out"
            group = [(a, fuse(pair0, "fuse.jpg")), (b, mertens(".jpg", pair0))]
            if args.extra:
                group.insert(1, ("hdrdesk fuse --no-align, 12 MP pair, JPEG", fuse(pair0, "fuse_na.jpg", "--no-align")))
                group.insert(2, ("hdrdesk fuse --method mertens, 12 MP pair, JPEG", fuse(pair0, "fuse_m.jpg", "--method", "mertens")))
            plan.append(("jpg", group, [("fuse / Mertens, 12 MP pair, JPEG", a, b, "time <= 0.8, memory <= 1")]))
        if "batch" in cases:
            a, b = "hdrdesk batch, 5 x 12 MP pairs", "Mertens script, 5 x 12 MP pairs (one process)"
            plan.append(("batch", [
                (a, hdrdesk + ["batch", str(data["pairs_dir"]), "-o", str(out / "batch"), "--overwrite", "--no-progress"]),
                (b, mertens(".jpg", *data["pairs"])),
            ], [("batch / Mertens, 5 x 12 MP pairs", a, b, "time <= 0.4, memory <= 1")]))
        for case, key, desc, target in (
            ("fuse24", "triple", "24 MP 3-exposure bracket", "memory <= Mertens"),
            ("fuse24x3", "nine_first3", "24 MP 3-exposure bracket (first 3 of the 9)", "memory <= Mertens"),
            ("fuse24x9", "nine", "24 MP 9-exposure bracket", "memory <= 2 GB"),
            ("fuse100", "mf100", "3 x 100 MP bracket", "completes"),
        ):
            if case in cases:
                a, b = f"hdrdesk fuse, {desc}", f"Mertens script, {desc}"
                plan.append((case, [(a, fuse(data[key], f"{case}.jpg")), (b, mertens(".jpg", data[key]))],
                             [(f"fuse / Mertens, {desc}", a, b, target)]))

        results: dict[str, list[tuple[float, float, float]]] = {}
        failed: dict[str, str] = {}
        load_before = loadavg()
        for _, group, _ in plan:
            for _r in range(args.repeats):
                for label, cmd in group:
                    if label in failed:
                        continue
                    wall, rss, cpu, rc, err = run_child(cmd)
                    if rc != 0:  # e.g. Mertens out of memory on 100 MP: report, go on
                        failed[label] = f"exit {rc}: {err.strip().splitlines()[-1] if err.strip() else ''}"
                        print(f"FAILED ({rc}): {label}\n{err}", file=sys.stderr)
                        continue
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
        for label, why in failed.items():
            print(f"| {label} | failed ({why}) | | | |")
        print()
        print("| Comparison | wall-time ratio | memory ratio | CPU-time ratio | target |")
        print("|---|---|---|---|---|")
        for _, _, comparisons in plan:
            for name, a, b, target in comparisons:
                if a in results and b in results:
                    print(f"| {name} | {med(a, 0) / med(b, 0):.2f} | {med(a, 1) / med(b, 1):.2f} | {med(a, 2) / med(b, 2):.2f} | {target} |")
                elif a in results:
                    print(f"| {name} | (Mertens failed) | {med(a, 1) / 1024:.2f} GB | | {target} |")
        a3, a9 = "hdrdesk fuse, 24 MP 3-exposure bracket (first 3 of the 9)", "hdrdesk fuse, 24 MP 9-exposure bracket"
        if a3 in results and a9 in results:
            print()
            print(f"hdrdesk fuse, 24 MP: {med(a9, 1):.0f} MB with 9 exposures, {med(a3, 1):.0f} MB with 3: "
                  f"{(med(a9, 1) - med(a3, 1)) / 6:.0f} MB per extra exposure (target <= 100 MB; 9 exposures <= 2048 MB)")
        return 1 if any(not lab.startswith("Mertens") for lab in failed) else 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
