"""Reading image files defensively.

* Only regular files are opened (a FIFO or a device would block or never end), and
  they are opened non-blocking, so a file swapped for a FIFO after the check cannot
  hang the reader either. Symlink loops and dangling links get their own message.
* The image's size is read from its header (PNG IHDR, JPEG SOF, TIFF IFD0) and checked
  before anything is decoded: a 100 kB file claiming 100000x100000 pixels is refused
  with one line instead of an allocation failure or an OpenCV assertion.
* Decoders write to the process's stderr on their own (libpng's ``libpng error:``
  lines, libtiff through OpenCV's log); that text is captured while OpenCV decodes and
  folded into the one-line error when decoding fails, and dropped when it succeeds.
  Pillow's decompression-bomb and corrupt-EXIF warnings are silenced (we check sizes
  ourselves, and EXIF is optional).
"""

from __future__ import annotations

import errno
import os
import stat
import struct
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from hdrdesk.errors import InputError

MAX_PIXELS = 120_000_000  # refuse absurd sizes with a message instead of running out of memory

# Pillow warns above 89 MP (we allow 120 MP and check ourselves) and on damaged EXIF blocks
# (EXIF is optional here). Module-wide filters, not catch_warnings(): that is not thread-safe.
try:
    from PIL import Image as _PILImage

    warnings.filterwarnings("ignore", category=_PILImage.DecompressionBombWarning)
except ImportError:  # pragma: no cover - Pillow is a dependency
    pass
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.(TiffImagePlugin|JpegImagePlugin|PngImagePlugin)")

_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _describe_not_regular(mode: int) -> str:
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "not a regular file"


def check_input_file(path: str | os.PathLike) -> os.stat_result:
    """Stat an input (following links); raise :class:`InputError` unless it is a regular file."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise InputError(f"{path}: broken symbolic link (its target does not exist)") from None
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: symbolic link loop") from None
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a folder, not an image")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{path}: is {_describe_not_regular(st.st_mode)}, not an image file")
    return st


def read_file_bytes(path: str | os.PathLike) -> np.ndarray:
    """The whole file as a uint8 array; regular files only, never blocking on open."""
    path = Path(path)
    check_input_file(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{path}: symbolic link loop") from None
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between the check and the open
            raise InputError(f"{path}: is {_describe_not_regular(st.st_mode)}, not an image file")
        buf = np.empty(st.st_size, np.uint8)
        view = memoryview(buf)
        got = 0
        while got < st.st_size:
            n = os.readv(fd, [view[got:]]) if hasattr(os, "readv") else _read_into(fd, view[got:])
            if n == 0:  # shrank meanwhile
                break
            got += n
        del view
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if got == 0:
        raise InputError(f"{path}: file is empty")
    return buf[:got] if got < buf.size else buf


def _read_into(fd: int, view: memoryview) -> int:  # pragma: no cover - platforms without readv
    data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)


# ------------------------------------------------------------------ header sizes

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def header_size(buf: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG or TIFF header without decoding; None if unknown."""
    head = buf[:32].tobytes()
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return w, h
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(buf)
        if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _tiff_size(buf)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def _jpeg_size(buf: np.ndarray) -> tuple[int, int] | None:
    """Walk the marker segments to the first frame header (segments are skipped whole, so
    the EXIF thumbnail inside APP1 is never mistaken for the image)."""
    n, i = buf.size, 2
    while i + 4 <= n:
        if buf[i] != 0xFF:
            return None
        marker = int(buf[i + 1])
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (seg_len,) = struct.unpack(">H", buf[i + 2 : i + 4].tobytes())
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", buf[i + 5 : i + 9].tobytes())
            return w, h
        i += 2 + seg_len
    return None


def _tiff_size(buf: np.ndarray) -> tuple[int, int] | None:
    """Width and height tags (256, 257) of the first IFD, classic or BigTIFF."""
    e = "<" if buf[0] == ord("I") else ">"
    big = int(struct.unpack(e + "H", buf[2:4].tobytes())[0]) == 43

    def u(fmt: str, at: int) -> int:
        size = struct.calcsize(fmt)
        return struct.unpack(e + fmt, buf[at : at + size].tobytes())[0]

    if big:
        off, count_fmt, entry, val_at = u("Q", 8), "Q", 20, 12
    else:
        off, count_fmt, entry, val_at = u("I", 4), "H", 12, 8
    count = u(count_fmt, off)
    base = off + struct.calcsize(count_fmt)
    dims: dict[int, int] = {}
    for k in range(min(count, 4096)):
        at = base + k * entry
        tag, typ = u("H", at), u("H", at + 2)
        if tag in (256, 257):
            dims[tag] = u("H", at + val_at) if typ == 3 else u("I", at + val_at) if typ == 4 else u("Q", at + val_at)
            if len(dims) == 2:
                return dims[256], dims[257]
    return None


def check_header_size(path: str | os.PathLike, buf: np.ndarray, max_pixels: int = MAX_PIXELS) -> tuple[int, int] | None:
    """Refuse an image whose header claims more than ``max_pixels`` (or no pixels) before decoding it.
    Returns the header's (width, height), None where the format's header is not parsed."""
    size = header_size(buf)
    if size is None:
        return None
    w, h = size
    if w == 0 or h == 0:
        raise InputError(f"{path}: image has no pixels ({w}x{h} in its header)")
    if w * h > max_pixels:
        raise InputError(f"{path}: {w}x{h} is too large ({w * h / 1e6:.0f} MP; at most {max_pixels / 1e6:.0f} MP)")
    return size


# ------------------------------------------------------------------ decoder noise

_capture_lock = threading.Lock()
_capture_depth = 0
_capture_file = None
_saved_fd: int | None = None


@contextmanager
def captured_native_stderr() -> Iterator[list[str]]:
    """Route file descriptor 2 into a temp file while native decoders run.

    Yields a list that, on exit, holds the lines written meanwhile. Nested and
    concurrent uses share one redirection (reference-counted), so decoders on several
    threads still run in parallel; the price is that anything another thread writes to
    stderr in that window is captured too (and dropped unless it explains an error).
    """
    global _capture_depth, _capture_file, _saved_fd
    lines: list[str] = []
    with _capture_lock:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        if _capture_depth == 0:
            try:
                _capture_file = tempfile.TemporaryFile()
                _saved_fd = os.dup(2)
                os.dup2(_capture_file.fileno(), 2)
            except OSError:  # no fd 2 (pythonw) or no temp space: decode without capturing
                if _capture_file is not None:
                    _capture_file.close()
                _capture_file, _saved_fd = None, None
        _capture_depth += 1
        start = _capture_file.seek(0, os.SEEK_END) if _capture_file is not None else 0
    try:
        yield lines
    finally:
        with _capture_lock:
            f = _capture_file
            if f is not None:
                end = f.seek(0, os.SEEK_END)
                f.seek(start)
                text = f.read(end - start).decode("utf-8", "replace")
                f.seek(0, os.SEEK_END)
                lines.extend(l.strip() for l in text.splitlines() if l.strip())
            _capture_depth -= 1
            if _capture_depth == 0 and f is not None and _saved_fd is not None:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                f.close()
                _capture_file, _saved_fd = None, None


def decoder_detail(lines: list[str]) -> str:
    """The most telling captured decoder line, shortened (e.g. 'IDAT: CRC error')."""
    for line in lines:
        for prefix in ("libpng error:", "libpng warning:"):
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
    for line in lines:
        if "TIFF" in line or "JPEG" in line or "jpeg" in line:
            return line.split(" TIFF_Error ")[-1].split(" TIFF_Warning ")[-1].strip()[:160]
    return lines[0][:160] if lines else ""


def decode_image(path: str | os.PathLike, buf: np.ndarray, flags: int | None = None) -> np.ndarray:
    """``cv2.imdecode(buf, flags)`` (default IMREAD_UNCHANGED) with decoder noise captured; one-line
    InputError on failure."""
    import cv2

    with captured_native_stderr() as noise:
        try:
            data = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED if flags is None else flags)
            reason = ""
        except cv2.error as exc:  # e.g. OpenCV's own size limit
            data, reason = None, str(exc).strip().splitlines()[-1][:160]
    if data is None:
        detail = reason or decoder_detail(noise)
        raise InputError(
            f"{path}: not a readable image (JPEG, PNG or TIFF expected, or the file is truncated)" + (f"; decoder: {detail}" if detail else "")
        )
    return data


def float_samples_to_uint16(path: str | os.PathLike, data: np.ndarray) -> np.ndarray:
    """Floating-point samples (TIFF) are read as 0-1. Anything else is refused, not clipped:
    a 0-255 file or a linear HDR file would silently turn into a white picture."""
    finite = np.isfinite(data)
    if not finite.all():
        raise InputError(f"{path}: floating-point image holds NaN or infinite samples")
    lo, hi = float(data.min()), float(data.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise InputError(
            f"{path}: floating-point samples range {lo:g} to {hi:g}, but 0 to 1 is expected "
            "(save it as 8- or 16-bit, or scaled to 0-1)"
        )
    return (np.clip(data, 0, 1) * 65535 + 0.5).astype(np.uint16)
