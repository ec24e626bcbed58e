"""ICC colour management: frames to sRGB on read, results to the chosen output profile on write.

The network was trained in sRGB and MEF-SSIM is defined there, so every frame is
converted to sRGB before alignment and fusion; frames without a profile are taken as
sRGB. Camera and phone profiles (sRGB, Adobe RGB, Display P3, ProPhoto) are RGB
matrix/TRC profiles: those are converted here in float (exact, and 16-bit safe:
Pillow's LittleCMS binding only handles 8-bit RGB). Other profiles (LUT based) go
through Pillow's ImageCms (LittleCMS) in 8 bit.

The output profiles (sRGB, Adobe RGB (1998)-compatible, ProPhoto/ROMM) are ICC v2
matrix/TRC profiles built here from the published primaries, white points and tone
curves, so nothing has to be downloaded or licensed.
"""

from __future__ import annotations

import functools
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

OUTPUT_PROFILES = ("srgb", "adobe-rgb", "prophoto", "input")

D50 = np.array([0.9642, 1.0, 0.8249])
D65 = np.array([0.95047, 1.0, 1.08883])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])

# (name, primaries xy, white xy, tone curve) of the profiles we write
_SPACES = {
    "srgb": ("sRGB (HDRDesk)", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), (0.3127, 0.3290), "srgb"),
    "adobe-rgb": ("Adobe RGB (1998) compatible (HDRDesk)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), (0.3127, 0.3290), 563 / 256),
    "prophoto": ("ProPhoto RGB / ROMM (HDRDesk)", ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)), (0.3457, 0.3585), "romm"),
}
_LUT_SIZE = 1 << 16  # linear -> encoded LUT entries (interpolated)


# ------------------------------------------------------------------ tone curves


def srgb_encode(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


def srgb_decode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, np.power((v + 0.055) / 1.055, 2.4))


def _romm_decode(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v < 16 / 512, v / 16, np.power(v, 1.8))


@dataclass
class MatrixProfile:
    """An RGB (or gray) matrix/TRC profile: decode curves and the RGB -> XYZ (D50 PCS) matrix."""

    description: str
    to_xyz: np.ndarray  # 3x3 (identity-like for gray)
    curves: list[np.ndarray]  # per channel: the decoded (linear) value at N evenly spaced codes
    gray: bool = False

    def decode_lut(self, channel: int, levels: int) -> np.ndarray:
        """Linear values for the ``levels`` integer codes (256 or 65536) of one channel."""
        curve = self.curves[channel]
        x = np.linspace(0.0, 1.0, curve.size)
        return np.interp(np.linspace(0.0, 1.0, levels), x, curve).astype(np.float32)


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _adapt(src_white: np.ndarray, dst_white: np.ndarray) -> np.ndarray:
    """Bradford chromatic adaptation matrix."""
    s = _BRADFORD @ src_white
    d = _BRADFORD @ dst_white
    return np.linalg.inv(_BRADFORD) @ np.diag(d / s) @ _BRADFORD


def _rgb_to_xyz_d50(primaries, white_xy) -> np.ndarray:
    """RGB -> XYZ matrix of a space, adapted to the D50 PCS (what ICC colorant tags hold)."""
    p = np.stack([_xy_to_xyz(*xy) for xy in primaries], axis=1)
    white = _xy_to_xyz(*white_xy)
    m = p * np.linalg.solve(p, white)
    return _adapt(white, D50) @ m


# ------------------------------------------------------------------ writing profiles


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve_tag(curve) -> bytes:
    if isinstance(curve, float):
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(curve * 256))) + b"\0\0"
    codes = np.linspace(0.0, 1.0, 1024)
    lin = srgb_decode(codes) if curve == "srgb" else _romm_decode(codes)
    table = np.round(lin * 65535).astype(">u2").tobytes()
    return b"curv\0\0\0\0" + struct.pack(">I", 1024) + table


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _desc_tag(text: str) -> bytes:
    a = text.encode("ascii") + b"\0"
    # ascii part, then empty Unicode and ScriptCode parts (ICC v2 'desc')
    return b"desc\0\0\0\0" + struct.pack(">I", len(a)) + a + b"\0" * 8 + b"\0\0\0" + b"\0" * 67


@functools.lru_cache(maxsize=None)
def profile_bytes(name: str) -> bytes:
    """ICC v2 display-class matrix/TRC profile of ``srgb``, ``adobe-rgb`` or ``prophoto``."""
    desc, primaries, white_xy, curve = _SPACES[name]
    m = _rgb_to_xyz_d50(primaries, white_xy)
    trc = _curve_tag(curve)
    tags = [
        (b"desc", _desc_tag(desc)),
        (b"cprt", _text_tag("No copyright, use freely")),
        (b"wtpt", _xyz_tag(D50)),
        (b"rXYZ", _xyz_tag(m[:, 0])),
        (b"gXYZ", _xyz_tag(m[:, 1])),
        (b"bXYZ", _xyz_tag(m[:, 2])),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data, placed = b"", b"", {}
    for sig, body in tags:
        if body in placed:  # the three TRCs share one copy
            table += sig + struct.pack(">II", placed[body], len(body))
            continue
        while (offset + len(data)) % 4:
            data += b"\0"
        placed[body] = offset + len(data)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ "
    header += struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
    header += b"\0" * 4 + b"".join(_s15(v) for v in D50) + b"hdrd" + b"\0" * 44
    assert len(header) == 128
    return header + body


# ------------------------------------------------------------------ reading profiles


def _read_curve(buf: bytes) -> np.ndarray | None:
    """Decode curve sampled at 4096 codes from a 'curv' or 'para' tag."""
    x = np.linspace(0.0, 1.0, 4096)
    kind = buf[:4]
    if kind == b"curv":
        n = struct.unpack(">I", buf[8:12])[0]
        if n == 0:
            return x
        if n == 1:
            return np.power(x, struct.unpack(">H", buf[12:14])[0] / 256.0)
        table = np.frombuffer(buf[12 : 12 + 2 * n], ">u2").astype(np.float64) / 65535.0
        return np.interp(x, np.linspace(0.0, 1.0, n), table)
    if kind == b"para":
        fn = struct.unpack(">H", buf[8:10])[0]
        count = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}.get(fn)
        if count is None:
            return None
        p = [v / 65536.0 for v in struct.unpack(f">{count}i", buf[12 : 12 + 4 * count])]
        g = p[0]
        if fn == 0:
            return np.power(x, g)
        if fn == 1:
            a, b = p[1], p[2]
            return np.where(x >= -b / a, np.power(np.maximum(a * x + b, 0), g), 0.0)
        if fn == 2:
            a, b, c = p[1], p[2], p[3]
            return np.where(x >= -b / a, np.power(np.maximum(a * x + b, 0), g) + c, c)
        if fn == 3:
            a, b, c, d = p[1], p[2], p[3], p[4]
            return np.where(x >= d, np.power(np.maximum(a * x + b, 0), g), c * x)
        a, b, c, d, e, f = p[1:7]
        return np.where(x >= d, np.power(np.maximum(a * x + b, 0), g) + e, c * x + f)
    return None


def parse_profile(icc: bytes) -> MatrixProfile | None:
    """The matrix/TRC content of an RGB or gray ICC profile; None for other (LUT-based) profiles."""
    try:
        space = icc[16:20]
        n = struct.unpack(">I", icc[128:132])[0]
        tags = {}
        for i in range(n):
            sig, off, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
            tags[sig] = icc[off : off + size]
        desc = _description(tags.get(b"desc", b""))
        if space == b"GRAY" and b"kTRC" in tags:
            c = _read_curve(tags[b"kTRC"])
            return None if c is None else MatrixProfile(desc, np.eye(3), [c, c, c], gray=True)
        if space != b"RGB " or not all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC")):
            return None
        cols = [np.array(struct.unpack(">3i", tags[t][8:20])) / 65536.0 for t in (b"rXYZ", b"gXYZ", b"bXYZ")]
        curves = [_read_curve(tags[t]) for t in (b"rTRC", b"gTRC", b"bTRC")]
        if any(c is None for c in curves):
            return None
        return MatrixProfile(desc, np.stack(cols, axis=1), curves)  # type: ignore[arg-type]
    except (struct.error, ValueError, IndexError):
        return None


def _description(tag: bytes) -> str:
    try:
        if tag[:4] == b"desc":
            n = struct.unpack(">I", tag[8:12])[0]
            return tag[12 : 12 + n].rstrip(b"\0").decode("latin-1")
        if tag[:4] == b"mluc":
            count = struct.unpack(">I", tag[8:12])[0]
            if count:
                length, offset = struct.unpack(">II", tag[20:28])
                return tag[offset : offset + length].decode("utf-16-be")
    except (struct.error, UnicodeDecodeError):
        pass
    return ""


@functools.lru_cache(maxsize=1)
def _srgb() -> MatrixProfile:
    return parse_profile(profile_bytes("srgb"))  # type: ignore[return-value]


def is_srgb(icc: bytes | None) -> bool:
    """No profile, or one that is sRGB to within a fraction of an 8-bit level."""
    if not icc:
        return True
    prof = parse_profile(icc)
    if prof is None or prof.gray:
        return False
    ref = _srgb()
    if np.abs(prof.to_xyz - ref.to_xyz).max() > 2e-3:
        return False
    enc = np.linspace(0.0, 1.0, 4096)
    return all(np.abs(srgb_encode(np.clip(c, 0, 1)) - enc).max() < 0.4 / 255 for c in prof.curves)


def describe(icc: bytes | None) -> str:
    """Short name of a profile for messages."""
    if not icc:
        return "untagged (taken as sRGB)"
    prof = parse_profile(icc)
    if prof is not None:
        return prof.description or "unnamed matrix profile"
    try:
        from PIL import ImageCms

        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except Exception:  # noqa: BLE001 - a name is only for display
        return "unnamed profile"


def read_icc_profile(path: str | Path) -> bytes | None:
    """The embedded ICC profile of a JPEG, PNG or TIFF (None when untagged or unreadable)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            icc = im.info.get("icc_profile")
    except Exception:  # noqa: BLE001 - a file Pillow cannot open is treated as untagged
        return None
    return bytes(icc) if icc else None


# ------------------------------------------------------------------ conversion

_STRIP_PIXELS = 1 << 19


@functools.lru_cache(maxsize=1)
def _encode_lut() -> np.ndarray:
    lin = np.linspace(0.0, 1.0, _LUT_SIZE)
    return srgb_encode(lin).astype(np.float32)


def _linear_to_codes(lin: np.ndarray, encode: np.ndarray, out: np.ndarray) -> None:
    """Linear float -> encoded float via a fine LUT with linear interpolation (in place into ``out``)."""
    n = encode.size - 1
    pos = np.clip(lin, 0.0, 1.0) * n
    idx = np.minimum(pos.astype(np.int32), n - 1)
    frac = pos - idx
    np.multiply(encode[idx + 1] - encode[idx], frac, out=out)
    out += encode[idx]


def convert_to_srgb(data: np.ndarray, icc: bytes | None) -> np.ndarray:
    """uint8/uint16 frame in profile ``icc`` -> the same scene in sRGB.

    sRGB or untagged frames come back unchanged (the same array). Converted frames are
    uint16 (an 8-bit frame keeps its precision through the conversion); out-of-gamut
    colours are clipped (relative colorimetric).
    """
    if is_srgb(icc):
        return data
    prof = parse_profile(icc)  # type: ignore[arg-type]
    if prof is None:
        return _convert_with_lcms(data, icc)  # type: ignore[arg-type]
    levels = 256 if data.dtype == np.uint8 else 65536
    luts = [prof.decode_lut(c, levels) for c in range(3)]
    if prof.gray:
        matrix = np.eye(3, dtype=np.float32)
    else:
        matrix = (np.linalg.inv(_srgb().to_xyz) @ prof.to_xyz).astype(np.float32)
    encode = _encode_lut()
    h, w = data.shape[:2]
    rows = max(1, min(h, _STRIP_PIXELS // max(w, 1)))
    gray_in = data.ndim == 2
    out = np.empty((h, w) if gray_in else (h, w, 3), np.uint16)
    for r0 in range(0, h, rows):
        part = data[r0 : r0 + rows]
        if gray_in:
            lin = luts[0][part]
            enc = np.empty_like(lin)
            _linear_to_codes(lin, encode, enc)
        else:
            lin = np.stack([luts[c][part[:, :, c]] for c in range(3)], axis=2)
            lin = cv2.transform(lin, matrix)
            enc = np.empty_like(lin)
            _linear_to_codes(lin, encode, enc)
        out[r0 : r0 + rows] = np.round(enc * 65535.0).astype(np.uint16)
    return out


def _convert_with_lcms(data: np.ndarray, icc: bytes) -> np.ndarray:
    """A LUT-based profile: LittleCMS through Pillow, in 8 bit (all Pillow handles for RGB)."""
    from PIL import Image, ImageCms

    from hdrdesk.errors import InputError

    src8 = data if data.dtype == np.uint8 else (data >> 8).astype(np.uint8)
    mode = "L" if src8.ndim == 2 else "RGB"
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.ImageCmsProfile(io.BytesIO(profile_bytes("srgb")))
        im = ImageCms.profileToProfile(Image.fromarray(src8, mode), src, dst, outputMode="RGB")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"embedded colour profile cannot be used ({str(exc).strip()[:80]})") from None
    out = np.asarray(im)
    return np.ascontiguousarray(out[:, :, 0] if mode == "L" else out)


def output_profile_bytes(choice: str, input_icc: bytes | None = None) -> bytes:
    """ICC bytes to embed for ``--output-profile`` (``input``: the reference frame's, sRGB if it had none)."""
    if choice == "input":
        return input_icc if input_icc else profile_bytes("srgb")
    return profile_bytes(choice)


def output_icc(choice: str, frames) -> bytes:
    """The ICC profile a bracket's output gets for ``--output-profile`` (``input``: the middle
    frame's); InputError when that profile cannot be written into (not RGB matrix/TRC)."""
    from hdrdesk.errors import InputError

    icc = output_profile_bytes(choice, frames[len(frames) // 2].icc_profile if frames else None)
    prof = parse_profile(icc)
    if prof is None or prof.gray:
        raise InputError("--output-profile input: the input profile is not an RGB matrix profile; choose srgb, adobe-rgb or prophoto")
    return icc


def convert_from_srgb(image: np.ndarray, icc: bytes) -> np.ndarray:
    """sRGB result (float [0,1] or uint8/uint16 RGB) -> the profile ``icc``; same dtype back.

    An sRGB target returns ``image`` itself. Needs a matrix/TRC profile (ours, and
    every camera working space); other ``input`` profiles raise ValueError.
    """
    if is_srgb(icc):
        return image
    prof = parse_profile(icc)
    if prof is None or prof.gray or image.ndim != 3:
        raise ValueError("the output profile must be an RGB matrix/TRC profile")
    matrix = (np.linalg.inv(prof.to_xyz) @ _srgb().to_xyz).astype(np.float32)
    # encode = inverse of the profile's decode curve, tabulated
    lin_grid = np.linspace(0.0, 1.0, _LUT_SIZE)
    encodes = []
    for c in range(3):
        curve = prof.curves[c]
        codes = np.linspace(0.0, 1.0, curve.size)
        encodes.append(np.interp(lin_grid, np.maximum.accumulate(curve), codes).astype(np.float32))
    dtype = image.dtype
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(np.dtype(dtype), 1.0)
    decode = srgb_decode(np.linspace(0.0, 1.0, 65536)).astype(np.float32)
    h, w = image.shape[:2]
    rows = max(1, min(h, _STRIP_PIXELS // max(w, 1)))
    out = np.empty(image.shape, dtype)
    for r0 in range(0, h, rows):
        part = image[r0 : r0 + rows]
        if dtype == np.uint16:
            lin = decode[part]
        else:
            codes16 = np.round(np.clip(part.astype(np.float32) * np.float32(65535.0 / scale), 0, 65535)).astype(np.uint16)
            lin = decode[codes16]
        lin = cv2.transform(np.ascontiguousarray(lin), matrix)
        enc = np.empty_like(lin)
        for c in range(3):
            _linear_to_codes(lin[:, :, c], encodes[c], enc[:, :, c])
        if dtype == np.float32 or dtype == np.float64:
            out[r0 : r0 + rows] = enc
        else:
            out[r0 : r0 + rows] = np.round(enc * scale).astype(dtype)
    return out
