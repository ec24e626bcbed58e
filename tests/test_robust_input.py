"""Hostile inputs (issue 12, defects 3, 5, 6, 8, 9): FIFOs, symlink loops, decompression-bomb
headers, corrupt files whose decoders print on their own, float TIFFs. Each must give one
line naming the file on stderr, exit code 2 and no output, and never hang."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from hdrdesk.cli import main
from hdrdesk.core.io import read_frame
from hdrdesk.core.safe_read import header_size
from hdrdesk.errors import InputError

from synth import expose, make_scene

REPO = Path(__file__).resolve().parents[1]


def write_pair(folder: Path, h: int = 48, w: int = 64) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rad = make_scene(h, w)
    out = []
    for i, ev in enumerate((-2.0, 2.0)):
        p = folder / f"f{i}.png"
        cv2.imwrite(str(p), cv2.cvtColor(expose(rad, ev), cv2.COLOR_RGB2BGR))
        out.append(p)
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, w: int = 100_000, h: int = 100_000) -> Path:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + _chunk(b"IEND", b""))
    return path


def jpeg_bomb(path: Path, template: Path) -> Path:
    data = bytearray(cv2.imencode(".jpg", cv2.imread(str(template)))[1].tobytes())
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = struct.pack(">HH", 65000, 65000)
    path.write_bytes(bytes(data))
    return path


def run_cli(capfd, *argv) -> tuple[int, str, str]:
    """In-process, capturing the file descriptors (decoders write to fd 2 behind Python's back)."""
    code = main([str(a) for a in argv])
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("align:")]
    assert len(lines) == 1 and lines[0].startswith("hdrdesk: error:"), err
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ------------------------------------------------------------------ defect 3: FIFO


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_input_is_refused_without_blocking(tmp_path, capfd):
    files = write_pair(tmp_path)
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    out = tmp_path / "o.png"
    result: dict = {}

    def target():
        result["code"] = main(["fuse", str(files[0]), str(fifo), "-o", str(out), "--method", "mertens"])

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout=30)
    if t.is_alive():  # release the blocked reader so the test process can finish
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(timeout=10)
        pytest.fail("reading a FIFO blocked")
    _, err = capfd.readouterr()
    assert_one_error_line(result["code"], err, "f.png", "FIFO")
    assert not out.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_read_frame_refuses_a_fifo_the_gui_uses_the_same_reader(tmp_path):
    """The GUI's loader calls read_frame: it must not block on a FIFO either."""
    fifo = tmp_path / "g.jpg"
    os.mkfifo(fifo)
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("exc", _catch(read_frame, fifo)), daemon=True)
    t.start()
    t.join(timeout=30)
    if t.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_frame blocked on a FIFO")
    assert isinstance(box["exc"], InputError) and "FIFO" in str(box["exc"])


def _catch(fn, *a):
    try:
        fn(*a)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


# ------------------------------------------------------------------ defect 6: symlink loop


def test_symlink_loop_input_and_output(tmp_path, capfd):
    files = write_pair(tmp_path)
    (tmp_path / "loop1.png").symlink_to(tmp_path / "loop2.png")
    (tmp_path / "loop2.png").symlink_to(tmp_path / "loop1.png")
    code, _, err = run_cli(capfd, "fuse", files[0], tmp_path / "loop1.png", "-o", tmp_path / "o.png", "--method", "mertens")
    assert_one_error_line(code, err, "loop1.png", "symbolic link loop")
    code, _, err = run_cli(capfd, "fuse", *files, "-o", tmp_path / "loop2.png", "--method", "mertens")
    assert_one_error_line(code, err, "loop2.png", "symbolic link loop")
    assert not (tmp_path / "o.png").exists()


def test_dangling_symlink_input(tmp_path, capfd):
    files = write_pair(tmp_path)
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    code, _, err = run_cli(capfd, "fuse", files[0], tmp_path / "gone.png", "-o", tmp_path / "o.png", "--method", "mertens")
    assert_one_error_line(code, err, "gone.png", "broken symbolic link")


# ------------------------------------------------------------------ defect 5: decompression bombs


def test_header_sizes_are_read_without_decoding(tmp_path):
    img = np.zeros((37, 53, 3), np.uint8)
    for ext in (".png", ".jpg", ".tif"):
        buf = cv2.imencode(ext, img)[1]
        assert header_size(buf) == (53, 37), ext
    assert header_size(np.frombuffer(png_bomb(tmp_path / "b.png").read_bytes(), np.uint8)) == (100_000, 100_000)


@pytest.mark.parametrize("kind", ["png", "jpg", "tif"])
def test_decompression_bomb_headers_are_refused_with_one_line(tmp_path, capfd, kind):
    files = write_pair(tmp_path)
    bomb = tmp_path / f"bomb.{kind}"
    if kind == "png":
        png_bomb(bomb)
    elif kind == "jpg":
        jpeg_bomb(bomb, files[0])
    else:  # a TIFF whose IFD claims 70000x70000 (strip data absent)
        data = bytearray(cv2.imencode(".tif", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
        e = "<" if data[:2] == b"II" else ">"
        ifd = struct.unpack(e + "I", data[4:8])[0]
        n = struct.unpack(e + "H", data[ifd : ifd + 2])[0]
        for k in range(n):
            at = ifd + 2 + 12 * k
            tag, typ = struct.unpack(e + "HH", data[at : at + 4])
            if tag in (256, 257):
                data[at + 2 : at + 4] = struct.pack(e + "H", 4)
                data[at + 8 : at + 12] = struct.pack(e + "I", 70000)
        bomb.write_bytes(bytes(data))
    out = tmp_path / "o.png"
    code, _, err = run_cli(capfd, "fuse", files[0], bomb, "-o", out, "--method", "mertens")
    assert_one_error_line(code, err, bomb.name, "too large")
    assert not out.exists()


def test_batch_names_the_file_of_a_bomb(tmp_path, capfd):
    write_pair(tmp_path / "shots" / "a")
    png_bomb(tmp_path / "shots" / "a" / "f2.png")
    code, _, err = run_cli(capfd, "batch", tmp_path / "shots", "-o", tmp_path / "out", "--method", "mertens", "--no-progress")
    assert code == 1
    assert "f2.png" in err and "too large" in err and "Assertion" not in err


# ------------------------------------------------------------------ defect 8: one line per error


def test_corrupt_png_and_truncated_tiff_print_one_line(tmp_path, capfd):
    files = write_pair(tmp_path, 96, 128)
    data = bytearray(files[1].read_bytes())
    k = data.find(b"IDAT")
    data[k + 20] ^= 0xFF  # breaks the chunk's CRC (IEND still there)
    crc = tmp_path / "crc.png"
    crc.write_bytes(bytes(data))
    code, _, err = run_cli(capfd, "fuse", files[0], crc, "-o", tmp_path / "o.png", "--method", "mertens")
    assert_one_error_line(code, err, "crc.png", "decoder: IDAT")
    assert "libpng" not in err

    tif = cv2.imencode(".tif", cv2.resize(cv2.imread(str(files[1])), (640, 480)))[1].tobytes()
    trunc = tmp_path / "cut.tif"
    trunc.write_bytes(tif[: len(tif) // 2])
    code, _, err = run_cli(capfd, "fuse", files[0], trunc, "-o", tmp_path / "o.png", "--method", "mertens")
    assert_one_error_line(code, err, "cut.tif")


def test_no_warnings_on_big_images_or_corrupt_exif(tmp_path):
    """A 90 MP frame (over Pillow's 89 MP bomb threshold) and a frame with a damaged EXIF block
    load without any warning; run in a subprocess, where nothing filters warnings for us."""
    from PIL import Image

    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((9500, 9500), np.uint8)).save(big, compress_level=1)
    small = Image.fromarray(np.full((48, 64, 3), 128, np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "camera maker"
    bad_exif = tmp_path / "bad_exif.jpg"
    small.save(bad_exif, exif=exif.tobytes()[:30])  # cut inside the IFD
    code = "import sys; from hdrdesk.core.io import read_frame\nfor p in sys.argv[1:]: read_frame(p)\nprint('ok')"
    proc = subprocess.run([sys.executable, "-c", code, str(big), str(bad_exif)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok" and proc.stderr.strip() == "", proc.stderr


# ------------------------------------------------------------------ defect 9: float TIFF


def test_float_tiff_in_0_255_is_refused_clearly(tmp_path, capfd):
    files = write_pair(tmp_path)
    img = cv2.imread(str(files[1])).astype(np.float32)
    f255 = tmp_path / "f255.tif"
    cv2.imwrite(str(f255), img)
    code, _, err = run_cli(capfd, "fuse", files[0], f255, "-o", tmp_path / "o.png", "--method", "mertens")
    assert_one_error_line(code, err, "f255.tif", "floating-point", "0 to 1")
    assert not (tmp_path / "o.png").exists()


def test_float_tiff_in_0_1_is_read(tmp_path):
    img = (np.arange(48 * 64 * 3).reshape(48, 64, 3) % 256).astype(np.float32) / 255
    p = tmp_path / "f1.tif"
    cv2.imwrite(str(p), img)
    frame = read_frame(p)
    assert frame.data.dtype == np.uint16
    assert np.abs(frame.data[..., ::-1].astype(np.float64) / 65535 - img).max() < 1e-4
