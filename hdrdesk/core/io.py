"""Reading brackets and writing results.

Pixels are decoded with OpenCV (8/16-bit PNG, TIFF, JPEG); EXIF (orientation,
exposure) is read with Pillow without decoding pixels. Outputs are encoded in
memory and written atomically: temp file in the target folder, then rename.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from hdrdesk.core.atomic import atomic_write_bytes  # noqa: F401  (re-exported: the one atomic writer)
from hdrdesk.core.safe_read import (  # noqa: F401  (MAX_PIXELS re-exported)
    MAX_PIXELS,
    check_input_file,
    check_header_size,
    decode_image,
    float_samples_to_uint16,
    read_file_bytes,
)
from hdrdesk.core.color_profiles import convert_to_srgb, read_icc_profile
from hdrdesk.core.raw import RAW_SUFFIXES, is_raw, prefer_raw, read_raw_frame, reference_white_balance
from hdrdesk.errors import InputError, OutputError

try:  # decoder warnings (truncated data...) would be a second line next to our one-line errors
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:  # pragma: no cover - very old OpenCV
    pass

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", *RAW_SUFFIXES)

from hdrdesk.core.frame import (  # noqa: E402,F401  (re-exported: io's public names)
    ExposureInfo,
    Frame,
    apply_orientation,
    read_exif,
    to_float_rgb,
)
from hdrdesk.core.frame import _TAG_ORIENTATION, _rational  # noqa: E402,F401  (_rational: tests read EXIF with it)


def read_frame(
    path: str | os.PathLike, raw_white_balance: Sequence[float] | None = None, *, colour_manage: bool = True, reduce_to: int = 0
) -> Frame:
    """Read one exposure. Raises :class:`InputError` with a message naming the file.

    RAW files are developed (hdrdesk.core.raw), with ``raw_white_balance`` if given.
    ``colour_manage=False`` keeps the stored values of a frame with an ICC profile
    instead of converting them to sRGB (evaluation and training: the anchor scores
    and the shipped model were measured on the values as stored). ``reduce_to``: a JPEG
    is decoded at 1/2, 1/4 or 1/8 scale (libjpeg's scaled decode, a fraction of a full
    decode's time), the most that keeps its long side at least this large; other files whole."""
    path = Path(path)
    if is_raw(path):
        check_input_file(path)
        return read_raw_frame(path, raw_white_balance)
    buf = read_file_bytes(path)  # regular files only, never blocks (FIFOs, devices)
    if _is_truncated_jpeg(buf):
        raise InputError(f"{path}: JPEG file is truncated (no end-of-image marker after the image data)")
    if _is_truncated_png(buf):
        raise InputError(f"{path}: PNG file is truncated (no end chunk)")
    size = check_header_size(path, buf)  # before decoding: decompression-bomb headers
    data = decode_image(path, buf, _reduced_flags(buf, size, reduce_to))  # one-line error; decoder chatter kept off stderr
    if data.dtype not in (np.uint8, np.uint16):
        if data.dtype == np.float32 or data.dtype == np.float64:
            data = float_samples_to_uint16(path, data)
        else:
            raise InputError(f"{path}: unsupported sample type {data.dtype} (8 or 16 bit expected)")
    if data.ndim == 3:
        if data.shape[2] == 4:
            data = cv2.cvtColor(data, cv2.COLOR_BGRA2RGB)  # alpha dropped
        elif data.shape[2] == 3:
            data = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
        elif data.shape[2] in (1, 2):
            data = np.ascontiguousarray(data[:, :, 0])  # gray (+ alpha, dropped)
        else:
            raise InputError(f"{path}: {data.shape[2]} channels are not supported (gray, RGB or RGBA expected)")
    if data.size == 0:
        raise InputError(f"{path}: image has no pixels")
    del buf
    orientation, info, raw = read_exif(path)
    data = apply_orientation(data, orientation)
    icc = read_icc_profile(path)
    if colour_manage:
        data = convert_to_srgb(data, icc)  # the network and MEF-SSIM work in sRGB
    return Frame(path=path, data=data, exposure=info, exif_bytes=raw, icc_profile=icc)


def _is_truncated_jpeg(buf: np.ndarray) -> bool:
    """A JPEG whose last scan has no end-of-image marker after it.

    (libjpeg decodes a truncated file with a warning and fills the rest with gray.)
    Trailing bytes after the marker (some cameras append data) are fine, and a marker
    of the EXIF thumbnail, which comes before the main image, does not count.
    """
    if buf.size < 4 or buf[:2].tobytes() != b"\xff\xd8":
        return False
    data = buf.tobytes()
    sos = data.rfind(b"\xff\xda")
    eoi = data.rfind(b"\xff\xd9")
    return sos < 0 or eoi < sos


def _is_truncated_png(buf: np.ndarray) -> bool:
    if buf.size < 8 or buf[:8].tobytes() != b"\x89PNG\r\n\x1a\n":
        return False
    return buf.tobytes().rfind(b"IEND") < 0


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside a folder, sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def expand_inputs(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; a folder stands for the images inside it."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise InputError(f"{p}: folder holds no JPEG, PNG, TIFF or RAW images")
            out.extend(found)
        else:
            check_input_file(p)  # missing, symlink loop, FIFO...: one line before any work
            out.append(p)
    return out


def _reduced_flags(buf: np.ndarray, size: tuple[int, int] | None, reduce_to: int) -> int | None:
    """imdecode flags for a scaled JPEG decode whose long side (``size`` from the header) stays >= ``reduce_to``
    (None: decode whole)."""
    if reduce_to <= 0 or size is None or bytes(buf[:2]) != b"\xff\xd8":
        return None
    for factor, flag in ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2)):
        if max(size) // factor >= reduce_to:
            return flag
    return None


def order_frames(frames: Sequence[Frame]) -> list[Frame]:
    """Darkest to brightest: by EXIF exposure when every frame has one, else by mean luma."""
    exposures = [f.exposure.relative_exposure for f in frames]
    if all(e is not None for e in exposures) and len(set(exposures)) == len(exposures):
        keyed = list(zip(exposures, range(len(frames))))
    else:
        keyed = [(f.mean_luma(), i) for i, f in enumerate(frames)]
    return [frames[i] for _, i in sorted(keyed)]


def check_bracket(frames: Sequence[Frame]) -> None:
    """A fusable bracket: two or more frames of one size."""
    if len(frames) < 2:
        name = frames[0].path if frames else "input"
        raise InputError(f"{name}: a bracket needs at least two exposures (got {len(frames)})")
    w0, h0 = frames[0].size
    for f in frames[1:]:
        if f.size != (w0, h0):
            raise InputError(
                f"{f.path}: size {f.size[0]}x{f.size[1]} differs from {frames[0].path.name} ({w0}x{h0})"
            )


def harmonise(frames: Sequence[Frame]) -> list[Frame]:
    """Mix of 8/16-bit or gray/colour frames: bring all to one bit depth and RGB (convert, don't fail)."""
    to16 = any(f.bit_depth == 16 for f in frames)
    colour = any(f.channels == 3 for f in frames)
    out = []
    for f in frames:
        d = f.data
        if to16 and d.dtype == np.uint8:
            d = d.astype(np.uint16) * 257
        if colour and d.ndim == 2:
            d = np.repeat(d[:, :, None], 3, axis=2)
        out.append(Frame(path=f.path, data=d, exposure=f.exposure, exif_bytes=f.exif_bytes, icc_profile=f.icc_profile))
    return out


def load_bracket(paths: Sequence[str | os.PathLike], order: bool = True) -> list[Frame]:
    """Read, harmonise, order and check a bracket."""
    files, _ = prefer_raw(expand_inputs(paths))
    white_balance = reference_white_balance(files)  # RAWs: one white balance for the whole bracket
    frames = _read_all(files, white_balance)
    check_bracket(frames)
    frames = harmonise(frames)
    return order_frames(frames) if order else frames


def _read_all(files: Sequence[Path], white_balance) -> list[Frame]:
    """``read_frame`` of every file, two at a time (decoders release the GIL: on two free cores a
    pair decodes in about half the time); the first failing file, in order, raises as it would alone."""
    if len(files) < 2 or (os.cpu_count() or 1) < 2:
        return [read_frame(p, white_balance) for p in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="hdrdesk-decode") as pool:
        return list(pool.map(lambda p: read_frame(p, white_balance), files))


# --------------------------------------------------------------------- writing

OUTPUT_FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG"}


def check_output_path(out: Path, inputs: Sequence[Path] = (), overwrite: bool = False) -> None:
    """Fail early (before any work) on an output that cannot or must not be written."""
    out = Path(out)
    if out.is_dir():
        raise OutputError(f"{out}: is a folder")
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputError(f"{out}: unknown output format (use .png, .tif, .tiff, .jpg or .jpeg)")
    try:
        resolved = out.resolve()
    except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError on a symlink loop
        raise OutputError(f"{out}: symbolic link loop") from None
    for p in inputs:
        if Path(p).resolve() == resolved:
            raise OutputError(f"{out}: output path is one of the inputs")
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: exists (use --overwrite to replace it)")
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: folder {parent} does not exist")
    probe_writable(parent, out)


def probe_writable(folder: Path, name_for_errors: Path | None = None) -> None:
    """Create and remove a temp file in ``folder``: permission bits alone mislead (root, ACLs, read-only mounts)."""
    label = name_for_errors if name_for_errors is not None else folder
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hdrdesk-probe.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{label}: folder {folder} is not writable ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _clean_exif(exif_bytes: bytes | None) -> bytes | None:
    """EXIF of the reference frame with orientation reset (pixels are already upright)."""
    if not exif_bytes:
        return None
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(exif_bytes)
        exif[_TAG_ORIENTATION] = 1
        exif[0x0131] = "HDRDesk"  # Software
        return exif.tobytes()
    except Exception:
        return None


def _png_with_exif(png: bytes, exif: bytes) -> bytes:
    """Insert an eXIf chunk (PNG 1.5) before the first IDAT."""
    payload = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    idat = png.find(b"IDAT") - 4
    return png[:idat] + chunk + png[idat:]


def _png_with_icc(png: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk (name, compression 0, zlib data) right after IHDR, as PNG requires."""
    payload = b"ICC profile\x00\x00" + zlib.compress(icc)
    chunk = struct.pack(">I", len(payload)) + b"iCCP" + payload
    chunk += struct.pack(">I", zlib.crc32(b"iCCP" + payload) & 0xFFFFFFFF)
    ihdr_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def _tiff_with_icc(tiff: bytes, icc: bytes) -> bytes:
    """Add the ICC tag (34675) to the first IFD of a classic TIFF.

    The IFD is rewritten at the end of the file with the extra entry (the largest tag
    number, so the entries stay sorted) and the header points to it; everything else
    stays where it is. A BigTIFF (over 4 GB) is returned unchanged.
    """
    order = "<" if tiff[:2] == b"II" else ">"
    if struct.unpack(order + "H", tiff[2:4])[0] != 42:
        return tiff
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    n = struct.unpack(order + "H", tiff[ifd : ifd + 2])[0]
    entries = tiff[ifd + 2 : ifd + 2 + 12 * n]
    next_ifd = tiff[ifd + 2 + 12 * n : ifd + 6 + 12 * n]
    out = bytearray(tiff)
    if len(out) % 2:
        out += b"\x00"
    icc_at = len(out)
    out += icc
    if len(out) % 2:
        out += b"\x00"
    new_ifd = len(out)
    out += struct.pack(order + "H", n + 1) + entries
    out += struct.pack(order + "HHII", 34675, 7, len(icc), icc_at) + next_ifd
    out[4:8] = struct.pack(order + "I", new_ifd)
    return bytes(out)


def to_uint(img: np.ndarray, bits: int = 8) -> np.ndarray:
    """THE quantiser: float [0, 1] (values outside are clipped), uint8 or uint16 -> uint8/uint16,
    rounded to nearest. Everything that turns pixels into 8 or 16 bits uses it (files, the
    display, MEF-SSIM's 8-bit view, validation), so they all agree to the last level.

    OpenCV in row strips: multi-threaded, and no float64 or full-size float temporaries.
    """
    if bits not in (8, 16):
        raise OutputError(f"bit depth must be 8 or 16, not {bits}")
    img = np.asarray(img)
    if img.dtype == (np.uint8 if bits == 8 else np.uint16):
        return img
    if img.dtype == np.uint16:  # -> 8 bit: v / 257 rounded (65535 -> 255), no float copy
        flat = np.ascontiguousarray(img).reshape(img.shape[0], -1)
        return cv2.convertScaleAbs(flat, alpha=1.0 / 257.0).reshape(img.shape)
    if img.dtype == np.uint8:  # -> 16 bit: exact
        return img.astype(np.uint16) * np.uint16(257)
    src = np.ascontiguousarray(img, dtype=np.float32)
    shape = src.shape
    h = shape[0]
    flat = src.reshape(h, -1)  # channels folded into columns: one-channel operations
    out = np.empty(flat.shape, np.uint8 if bits == 8 else np.uint16)
    rows = max(1, min(h, (1 << 21) // max(flat.shape[1], 1)))
    tmp = np.empty((rows, flat.shape[1]), np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        t = tmp[: r1 - r0]
        cv2.max(flat[r0:r1], 0.0, dst=t)
        if bits == 8:
            cv2.convertScaleAbs(t, dst=out[r0:r1], alpha=255.0)  # saturates above 255
        else:
            cv2.min(t, 1.0, dst=t)
            cv2.multiply(t, 65535.0, dst=out[r0:r1], dtype=cv2.CV_16U)
    return out.reshape(shape)


# OpenCV's default zlib settings (level 1, RLE strategy) with the Paeth filter on every row:
# measured on 12 native photos of the shared data (docs/benchmarks.md), 8-bit files 4 %
# smaller than zlib level 3 in half the time (0.49 against 0.96 s per 12 MP), 16-bit
# 2.7x faster; OpenCV's plain default is faster still but makes 26 % larger files.
_PNG_PARAMS = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_PAETH] if hasattr(cv2, "IMWRITE_PNG_FILTER") else []


def encode_image(
    rgb: np.ndarray, suffix: str, bits: int = 8, quality: int = 95, exif: bytes | None = None, consume: bool = False,
    icc: bytes | None = None,
) -> bytes:
    """Encode float RGB [0,1] (or gray; or already uint8/uint16) to file bytes.

    ``icc``: an ICC profile to embed (the pixels must already be in that space).

    ``consume=True``: the caller gives ``rgb`` up; an integer image of the right depth is
    then turned into BGR in place instead of copied (its content is undefined afterwards).
    """
    fmt = OUTPUT_FORMATS.get(suffix.lower())
    if fmt is None:
        raise OutputError(f"unknown output format {suffix!r}")
    if fmt == "JPEG":
        bits = 8
        if not 1 <= int(quality) <= 100:
            raise OutputError(f"JPEG quality must be 1-100, not {quality}")
    arr = to_uint(rgb, bits)
    exif = _clean_exif(exif)
    if fmt == "JPEG" and (exif or icc):
        from PIL import Image
        import io

        bio = io.BytesIO()
        extra = {"exif": exif} if exif else {}
        if icc:
            extra["icc_profile"] = icc
        Image.fromarray(arr).save(bio, "JPEG", quality=int(quality), subsampling=0 if quality >= 90 else 2, **extra)
        return bio.getvalue()
    if arr.ndim == 3:
        in_place = consume and arr is rgb and arr.flags.c_contiguous and arr.flags.writeable
        bgr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR, dst=arr if in_place else None)
    else:
        bgr = arr
    del arr
    if fmt == "JPEG":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
        if quality >= 90:  # 4:4:4 like the Pillow path above
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        ok, enc = cv2.imencode(".jpg", bgr, params)
    elif fmt == "PNG":
        ok, enc = cv2.imencode(".png", bgr, _PNG_PARAMS)
        if ok and (exif or icc):
            png = enc.tobytes()
            png = _png_with_exif(png, exif) if exif else png
            return _png_with_icc(png, icc) if icc else png
    else:
        ok, enc = cv2.imencode(".tif", bgr)
        if ok and icc:
            return _tiff_with_icc(enc.tobytes(), icc)
    if not ok:
        raise OutputError(f"could not encode {fmt}")
    return enc.tobytes()


def write_image(
    path: str | os.PathLike,
    rgb: np.ndarray,
    bits: int = 8,
    quality: int = 95,
    exif: bytes | None = None,
    overwrite: bool = False,
    consume: bool = False,
    icc: bytes | None = None,
) -> Path:
    """Encode and write atomically. Refuses to replace an existing file unless ``overwrite``.

    ``consume=True``: ``rgb`` may be reused as scratch (see :func:`encode_image`).
    ``icc``: profile to embed (pixels already in that space)."""
    path = Path(path)
    data = encode_image(rgb, path.suffix, bits=bits, quality=quality, exif=exif, consume=consume, icc=icc)
    return atomic_write_bytes(path, data, overwrite=overwrite)


def exposure_from_fraction(value: float) -> Fraction:
    return Fraction(value).limit_denominator(100000)
