"""A whole shoot: bracket detection time and ``hdrdesk batch --group auto`` throughput (not a test).

grouping: writes N synthetic camera JPEGs (a tiny picture with a camera's EXIF header:
brackets of 3 and 5 frames in the orders cameras use, and singles, 20 s apart) into a
temp folder and times :func:`hdrdesk.shoot.group_folder` on them (median of 5 runs),
beside reading the same headers with Pillow (``Image.open(...).getexif()``, the
reference, in the same run so that the ratio survives the machine's load).

batch: five 3-frame 12 MP brackets made from development scenes of shared/data/brackets
(upscaled, JPEG q95, camera EXIF with AEB order 0, -2, +2, one flat folder with a single
shot among them), fused by ``hdrdesk batch DIR -o OUT`` as a child process, beside
OpenCV Mertens over the same 15 frames in one process. Wall time, seconds per bracket,
CPU time and peak RSS.

    .venv/bin/python benchmarks/bench_shoot.py [--files 2000] [--only grouping,batch] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "brackets"
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests"))

from bench_fuse import MERTENS_SCRIPT, loadavg, run_child  # noqa: E402

T0 = datetime(2026, 5, 1, 9, 0, 0)
ORDERS = [(0.0, -2.0, 2.0), (-2.0, 0.0, 2.0), (0.0, -1.0, 1.0, -2.0, 2.0), (0.0,)]


def _exif(when: datetime, bias: float, exposure: float):
    from shoot_synth import camera_exif

    return camera_exif(when, bias=bias, exposure_time=exposure, lens="RF 15-35mm F2.8 L IS USM", serial="012345678")


def make_card(folder: Path, n: int) -> int:
    """N camera JPEGs; returns how many brackets they hold."""
    from shoot_synth import jpeg_template, with_exif

    folder.mkdir(parents=True, exist_ok=True)
    template = jpeg_template((64, 48))
    i, t, k, brackets = 1, T0, 0, 0
    while i <= n:
        offs = ORDERS[k % len(ORDERS)][: n - i + 1]
        for j, off in enumerate(offs):
            exif = _exif(t + timedelta(seconds=0.3 * j), off, 1 / 60 * 2**off)
            (folder / f"IMG_{i:04d}.JPG").write_bytes(with_exif(template, exif))
            i += 1
        brackets += len(offs) > 1
        t += timedelta(seconds=20)
        k += 1
    return brackets


def bench_grouping(work: Path, n: int) -> None:
    from PIL import Image

    from hdrdesk.shoot import group_folder, scan_folder

    card = work / "card"
    expected = make_card(card, n)
    files = scan_folder(card)

    def pillow() -> None:
        for f in files:
            with Image.open(f) as im:
                exif = im.getexif()
                exif.get_ifd(0x8769)

    ours, ref = [], []
    for _ in range(5):
        t = time.perf_counter()
        g = group_folder(card)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        pillow()
        ref.append(time.perf_counter() - t)
    assert len(g.brackets) == expected, (len(g.brackets), expected)
    a, b = statistics.median(ours), statistics.median(ref)
    print(f"grouping {n} files ({len(g.brackets)} brackets, {len(g.singles)} singles): {a:.3f} s "
          f"(runs {', '.join(f'{x:.3f}' for x in ours)}); reading the same headers with Pillow: {b:.3f} s; "
          f"ratio {a / b:.2f}; load {loadavg()}")


def make_shoot(src: Path, dst: Path, brackets: int = 5) -> list[list[Path]]:
    """Five 12 MP 3-frame brackets in one flat folder, in camera order (0, -2, +2), plus a single."""
    import cv2
    from PIL import Image

    val = set((src / "val_scenes.txt").read_text().split()) if (src / "val_scenes.txt").is_file() else set()
    scenes = []
    for d in sorted(p for p in src.iterdir() if p.is_dir() and p.name not in val):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in (".jpg", ".png"))
        if len(files) >= 3:
            img = cv2.imread(str(files[0]))
            if img is not None and img.shape[1] > img.shape[0]:
                scenes.append([files[0], files[len(files) // 2], files[-1]])
        if len(scenes) == brackets:
            break
    dst.mkdir(parents=True, exist_ok=True)
    out, n, t = [], 1, T0
    for dark, mid, bright in scenes:
        group = []
        for j, (f, off) in enumerate(((mid, 0.0), (dark, -2.0), (bright, 2.0))):
            img = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
            h, w = img.shape[:2]
            s = (12e6 / (w * h)) ** 0.5
            big = cv2.resize(img, (int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2), interpolation=cv2.INTER_CUBIC)
            p = dst / f"IMG_{n:04d}.JPG"
            Image.fromarray(big).save(p, "JPEG", quality=95, exif=_exif(t + timedelta(seconds=0.3 * j), off, 1 / 60 * 2**off).tobytes())
            group.append(p)
            n += 1
        out.append(group)
        t += timedelta(seconds=30)
    single = dst / f"IMG_{n:04d}.JPG"
    with Image.open(out[0][0]) as im:
        im.save(single, "JPEG", quality=95, exif=_exif(t + timedelta(seconds=300), 0.0, 1 / 60).tobytes())
    return out


def bench_batch(work: Path, data: Path, repeats: int) -> None:
    py = sys.executable
    t = time.perf_counter()
    brackets = make_shoot(data, work / "shoot")
    print(f"made {len(brackets)} 12 MP brackets in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    script = work / "mertens.py"
    script.write_text(MERTENS_SCRIPT)
    (work / "mertens_out").mkdir(exist_ok=True)
    cases = [
        ("hdrdesk batch --group auto, 5 x 3-frame 12 MP", [py, "-m", "hdrdesk", "batch", str(work / "shoot"), "-o", str(work / "out"), "--overwrite", "--no-progress"]),
        ("Mertens, same 5 brackets, one process", [py, str(script), str(work / "mertens_out"), *[",".join(map(str, b)) for b in brackets]]),
    ]
    results: dict[str, list] = {}
    for _ in range(repeats):
        for label, cmd in cases:
            wall, rss, cpu, rc, err = run_child(cmd)
            if rc != 0:
                raise SystemExit(f"FAILED ({rc}): {label}\n{err}")
            results.setdefault(label, []).append((wall, rss, cpu))
            print(f"  {label}: {wall:.2f} s, {rss:.0f} MB, cpu {cpu:.2f} s (load {loadavg()})", file=sys.stderr)
    written = sorted(p.name for p in (work / "out").iterdir())
    assert written == [f"{b[0].stem}_hdr.jpg" for b in brackets], written
    med = {k: [statistics.median(v[i] for v in vals) for i in range(3)] for k, vals in results.items()}
    (a, b) = (med[cases[0][0]], med[cases[1][0]])
    for label, (wall, rss, cpu) in med.items():
        print(f"{label}: {wall:.2f} s ({wall / len(brackets):.2f} s per bracket), CPU {cpu:.2f} s, peak RSS {rss:.0f} MB")
    print(f"batch / Mertens: time {a[0] / b[0]:.2f}, CPU {a[2] / b[2]:.2f}, memory {a[1] / b[1]:.2f}; outputs {', '.join(written)}; load {loadavg()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--only", default="grouping,batch")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hdrdesk-shoot-"))
    only = set(args.only.split(","))
    try:
        print(f"{os.cpu_count()} CPUs, load {loadavg()}")
        if "grouping" in only:
            bench_grouping(work, args.files)
        if "batch" in only:
            bench_batch(work, args.data, args.repeats)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
