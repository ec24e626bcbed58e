"""Synthetic camera files for the shoot tests: tiny JPEGs with the EXIF a camera writes (via Pillow)."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

from PIL import Image, TiffImagePlugin

from synth import expose, make_scene

T0 = datetime(2026, 5, 1, 10, 0, 0)


def _rational(value: float) -> TiffImagePlugin.IFDRational:
    f = Fraction(value).limit_denominator(10000)
    return TiffImagePlugin.IFDRational(f.numerator, f.denominator)


def camera_exif(
    when: datetime | None,
    *,
    bias: float | None = None,
    exposure_time: float | None = None,
    f_number: float = 8.0,
    iso: int = 100,
    make: str = "Canon",
    model: str = "Canon EOS R5",
    lens: str | None = None,
    serial: str | None = None,
    software: str | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if software:
        exif[0x0131] = software
    sub = exif.get_ifd(0x8769)
    if when is not None:
        sub[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
        sub[0x9291] = f"{when.microsecond // 10000:02d}"
    if exposure_time is not None:
        sub[0x829A] = _rational(exposure_time)
        sub[0x829D] = _rational(f_number)
        sub[0x8827] = iso
    if bias is not None:
        sub[0x9204] = _rational(bias)
    if lens:
        sub[0xA434] = lens
    if serial:
        sub[0xA431] = serial
    return exif


def write_jpeg(path: Path, ev: float, exif: Image.Exif | None, *, size: tuple[int, int] = (32, 24), seed: int = 0) -> Path:
    """A tiny JPEG of synthetic scene ``seed`` exposed at ``ev`` stops."""
    w, h = size
    rgb = expose(make_scene(h, w, seed=seed), ev)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, "JPEG", quality=90, **({"exif": exif.tobytes()} if exif is not None else {}))
    return path


def write_bracket(
    folder: Path,
    start_number: int,
    when: datetime,
    offsets: tuple[float, ...] = (0.0, -2.0, 2.0),
    *,
    step_s: float = 0.25,
    base_time: float = 1 / 60,
    seed: int = 0,
    with_bias: bool = True,
    prefix: str = "IMG_",
    suffix: str = ".JPG",
    size: tuple[int, int] = (32, 24),
    **exif_kwargs,
) -> list[Path]:
    """Frames IMG_<n>... of one AEB bracket: offsets in shooting order, ``step_s`` apart."""
    paths = []
    for i, off in enumerate(offsets):
        t = when + timedelta(seconds=i * step_s)
        exif = camera_exif(t, bias=off if with_bias else 0.0, exposure_time=base_time * 2.0**off, **exif_kwargs)
        paths.append(write_jpeg(folder / f"{prefix}{start_number + i:04d}{suffix}", off, exif, seed=seed, size=size))
    return paths


def jpeg_template(size: tuple[int, int] = (32, 24)) -> bytes:
    """A tiny JPEG without EXIF, to which :func:`with_exif` adds a header."""
    import io

    w, h = size
    bio = io.BytesIO()
    Image.fromarray(expose(make_scene(h, w), 0.0)).save(bio, "JPEG", quality=80)
    return bio.getvalue()


def with_exif(template: bytes, exif: Image.Exif) -> bytes:
    """The JPEG ``template`` with an APP1 EXIF segment after its SOI marker (as cameras write it), no re-encoding."""
    import struct

    payload = exif.tobytes()  # b'Exif\0\0' + TIFF structure
    return template[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + template[2:]
