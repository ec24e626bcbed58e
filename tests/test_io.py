"""Reading and writing images: formats, bit depths, EXIF, ordering, atomic writes (no Qt)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from hdrdesk.core import io as hio
from hdrdesk.core.io import (
    Frame,
    atomic_write_bytes,
    check_output_path,
    harmonise,
    load_bracket,
    order_frames,
    read_frame,
    to_uint,
    write_image,
)
from hdrdesk.errors import InputError, OutputError

EXIF_IFD = 0x8769


def pattern(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """An asymmetric RGB uint8 test image (orientation and channel order are visible)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:4, :8] = (255, 0, 0)  # red block top-left
    return img


def save_pil(path: Path, arr: np.ndarray, exif: Image.Exif | None = None, **kw) -> Path:
    im = Image.fromarray(arr)
    if exif is not None:
        kw["exif"] = exif.tobytes()
    im.save(path, **kw)
    return path


def camera_exif(t: float | None = None, f: float | None = None, iso: int | None = None, orientation: int | None = None) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F] = "TestCam"
    if orientation is not None:
        ex[0x0112] = orientation
    sub = ex.get_ifd(EXIF_IFD)
    if t is not None:
        from fractions import Fraction

        fr = Fraction(t).limit_denominator(100000)
        sub[0x829A] = (fr.numerator, fr.denominator)
    if f is not None:
        sub[0x829D] = (int(f * 10), 10)
    if iso is not None:
        sub[0x8827] = iso
    return ex


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------- reading


def test_read_png_8_bit_rgb_exact(tmp_path):
    img = pattern()
    f = read_frame(save_pil(tmp_path / "a.png", img))
    assert f.data.dtype == np.uint8 and f.bit_depth == 8
    assert np.array_equal(f.data, img)  # RGB order, not BGR
    assert f.size == (32, 24) and f.channels == 3


def test_read_png_16_bit_exact(tmp_path):
    rng = np.random.default_rng(1)
    img16 = rng.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    p = tmp_path / "a16.png"
    cv2.imwrite(str(p), cv2.cvtColor(img16, cv2.COLOR_RGB2BGR))
    f = read_frame(p)
    assert f.data.dtype == np.uint16 and f.bit_depth == 16
    assert np.array_equal(f.data, img16)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_read_tiff_8_and_16_bit(tmp_path, dtype):
    rng = np.random.default_rng(2)
    top = 256 if dtype == np.uint8 else 65536
    img = rng.integers(0, top, (9, 11, 3)).astype(dtype)
    p = tmp_path / "a.tif"
    cv2.imwrite(str(p), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    f = read_frame(p)
    assert f.data.dtype == dtype and np.array_equal(f.data, img)


def test_read_jpeg(tmp_path):
    img = np.zeros((32, 48, 3), np.uint8)
    img[:, :16] = (200, 30, 30)
    img[:, 16:32] = (30, 200, 30)
    img[:, 32:] = (30, 30, 200)
    f = read_frame(save_pil(tmp_path / "a.jpg", img, quality=98))
    assert f.data.shape == (32, 48, 3) and f.data.dtype == np.uint8
    assert np.abs(f.data.astype(int) - img).mean() < 6  # JPEG: chroma subsampling at the edges
    assert f.data[16, 4, 0] > 150 and f.data[16, 4, 2] < 80  # red stays red (RGB order)


def test_rgba_alpha_is_dropped(tmp_path):
    rgb = pattern()
    alpha = np.full(rgb.shape[:2] + (1,), 7, np.uint8)
    f = read_frame(save_pil(tmp_path / "a.png", np.concatenate([rgb, alpha], 2)))
    assert f.data.shape == rgb.shape and np.array_equal(f.data, rgb)


def test_rgba_16_bit_alpha_is_dropped(tmp_path):
    rgb = (pattern().astype(np.uint16) * 257)
    bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
    p = tmp_path / "a.png"
    cv2.imwrite(str(p), bgra)
    f = read_frame(p)
    assert f.data.dtype == np.uint16 and np.array_equal(f.data, rgb)


def test_grayscale_and_gray_alpha(tmp_path):
    gray = pattern()[:, :, 1]
    f = read_frame(save_pil(tmp_path / "g.png", gray))
    assert f.data.ndim == 2 and f.channels == 1 and np.array_equal(f.data, gray)
    la = Image.fromarray(np.stack([gray, np.full_like(gray, 9)], 2), "LA")
    la.save(tmp_path / "la.png")
    f = read_frame(tmp_path / "la.png")  # OpenCV expands gray+alpha to 4 channels: alpha dropped
    data = f.data if f.data.ndim == 2 else f.data[:, :, 0]
    assert np.array_equal(data, gray)
    assert np.array_equal(f.rgb_float()[:, :, 0], f.rgb_float()[:, :, 2])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_once(tmp_path, orientation):
    img = pattern(20, 30)
    p = save_pil(tmp_path / "o.png", img, camera_exif(orientation=orientation))
    f = read_frame(p)
    with Image.open(p) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(f.data, expected)


def test_exif_orientation_of_a_jpeg(tmp_path):
    img = pattern(20, 30)
    p = save_pil(tmp_path / "o.jpg", img, camera_exif(orientation=6), quality=95)
    f = read_frame(p)
    assert f.data.shape[:2] == (30, 20)  # rotated upright, once (not by the decoder and again by us)
    with Image.open(p) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB")).astype(int)
    assert np.abs(f.data.astype(int) - expected).mean() < 2


def test_exif_exposure_is_read(tmp_path):
    f = read_frame(save_pil(tmp_path / "e.jpg", pattern(), camera_exif(t=1 / 250, f=8.0, iso=200), quality=90))
    e = f.exposure
    assert e.exposure_time == pytest.approx(1 / 250)
    assert e.f_number == pytest.approx(8.0)
    assert e.iso == pytest.approx(200)
    assert e.relative_exposure == pytest.approx((1 / 250) * 2 / 64)
    assert "1/250 s" in e.label() and "f/8" in e.label() and "ISO 200" in e.label()
    assert f.exif_bytes


def test_unreadable_exif_is_ignored(tmp_path):
    p = save_pil(tmp_path / "n.png", pattern())
    f = read_frame(p)
    assert f.exposure.exposure_time is None and f.exif_bytes is None


def test_order_by_exif_exposure_wins_over_brightness(tmp_path):
    # brightness says a < b < c, EXIF says c is the shortest exposure, then a, then b
    paths = [
        save_pil(tmp_path / "a.jpg", np.full((8, 8, 3), 60, np.uint8), camera_exif(t=1 / 100)),
        save_pil(tmp_path / "b.jpg", np.full((8, 8, 3), 120, np.uint8), camera_exif(t=1 / 25)),
        save_pil(tmp_path / "c.jpg", np.full((8, 8, 3), 200, np.uint8), camera_exif(t=1 / 400)),
    ]
    frames = load_bracket(paths)
    assert [f.path.name for f in frames] == ["c.jpg", "a.jpg", "b.jpg"]


def test_order_by_mean_luma_without_complete_exif(tmp_path):
    paths = [
        save_pil(tmp_path / "a.jpg", np.full((8, 8, 3), 200, np.uint8), camera_exif(t=1 / 100)),
        save_pil(tmp_path / "b.png", np.full((8, 8, 3), 20, np.uint8)),  # no EXIF
        save_pil(tmp_path / "c.jpg", np.full((8, 8, 3), 110, np.uint8), camera_exif(t=1 / 400)),
    ]
    frames = load_bracket(paths)
    assert [f.path.name for f in frames] == ["b.png", "c.jpg", "a.jpg"]


def test_harmonise_mixed_depths_and_channels():
    rgb8 = Frame(Path("a.png"), pattern())
    gray16 = Frame(Path("b.png"), (pattern()[:, :, 0].astype(np.uint16) * 257))
    out = harmonise([rgb8, gray16])
    assert all(f.data.dtype == np.uint16 and f.data.shape == (24, 32, 3) for f in out)
    assert np.array_equal(out[0].data, rgb8.data.astype(np.uint16) * 257)
    assert np.array_equal(out[1].data[:, :, 2], gray16.data)


def test_truncated_jpeg_and_png_are_refused(tmp_path):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for name, kw in (("t.jpg", {"quality": 90}), ("t.png", {})):
        full = save_pil(tmp_path / ("full_" + name), img, **kw).read_bytes()
        p = tmp_path / name
        p.write_bytes(full[: len(full) // 2])
        with pytest.raises(InputError) as e:
            read_frame(p)
        assert str(p) in str(e.value)


def test_jpeg_with_trailing_bytes_after_the_image_is_fine(tmp_path):
    p = save_pil(tmp_path / "x.jpg", pattern(), quality=90)
    p.write_bytes(p.read_bytes() + b"\x00" * 100 + b"vendor trailer")
    assert read_frame(p).data.shape == (24, 32, 3)


def test_not_an_image_and_empty_and_missing(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, words in (("notes.jpg", "not a readable image"), ("empty.png", "empty"), ("missing.png", "no such file")):
        with pytest.raises(InputError) as e:
            read_frame(tmp_path / name)
        assert name in str(e.value) and words in str(e.value)


# ----------------------------------------------------------------- writing


def test_write_png_and_tiff_8_and_16_bit(tmp_path):
    rng = np.random.default_rng(4)
    img = rng.random((10, 14, 3), dtype=np.float32)
    for suffix in (".png", ".tif"):
        for bits in (8, 16):
            p = write_image(tmp_path / f"o{bits}{suffix}", img, bits=bits)
            back = read_frame(p).data
            scale = 255 if bits == 8 else 65535
            assert back.dtype == (np.uint8 if bits == 8 else np.uint16)
            assert np.abs(back.astype(np.float64) - img * scale).max() <= 0.5 + 1e-3
    assert no_temp_files(tmp_path)


def test_write_jpeg_quality(tmp_path):
    rng = np.random.default_rng(5)
    img = cv2.GaussianBlur(rng.random((128, 128, 3), dtype=np.float32), (0, 0), 2)
    lo = write_image(tmp_path / "q30.jpg", img, quality=30)
    hi = write_image(tmp_path / "q95.jpg", img, quality=95)
    assert lo.stat().st_size < hi.stat().st_size
    err_hi = np.abs(read_frame(hi).data / 255.0 - img).mean()
    err_lo = np.abs(read_frame(lo).data / 255.0 - img).mean()
    assert err_hi < err_lo and err_hi < 0.01


def test_to_uint_rounds_and_clips():
    x = np.array([[-0.2, 0.0, 0.4 / 255, 0.6 / 255, 0.5, 1.0, 1.7]], np.float32)
    assert to_uint(x, 8).tolist() == [[0, 0, 0, 1, 128, 255, 255]]
    assert to_uint(x, 16).tolist() == [[0, 0, 103, 154, 32768, 65535, 65535]]
    rgb = np.random.default_rng(6).random((5, 7, 3), dtype=np.float32)
    assert np.array_equal(to_uint(rgb, 8), np.floor(rgb * 255 + 0.5).astype(np.uint8)) or np.abs(
        to_uint(rgb, 8).astype(int) - np.floor(rgb * 255 + 0.5)
    ).max() <= 1


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_exif_of_the_reference_is_carried_into_jpeg_and_png(tmp_path, suffix):
    src = read_frame(save_pil(tmp_path / "ref.jpg", pattern(), camera_exif(t=1 / 60, f=4.0, iso=400, orientation=6), quality=90))
    out = write_image(tmp_path / f"out{suffix}", np.full((6, 8, 3), 0.5, np.float32), exif=src.exif_bytes)
    with Image.open(out) as im:
        ex = im.getexif()
        sub = ex.get_ifd(EXIF_IFD)
        assert ex.get(0x010F) == "TestCam"
        assert ex.get(0x0112, 1) == 1  # pixels are upright: orientation reset
        assert ex.get(0x0131) == "HDRDesk"
        assert hio._rational(sub.get(0x829A)) == pytest.approx(1 / 60)
        assert hio._rational(sub.get(0x8827)) == 400
    assert read_frame(out).data.shape == (6, 8, 3)  # not rotated again on reading


def test_atomic_write_leaves_no_partial_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.png"

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hio.os, "fsync", broken_fsync)
    with pytest.raises(OutputError) as e:
        atomic_write_bytes(target, b"x" * 100000)
    assert "No space left" in str(e.value) and str(target) in str(e.value)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []

    # an existing file being replaced survives a failed replacement unchanged
    monkeypatch.undo()
    target.write_bytes(b"old")
    monkeypatch.setattr(hio.os, "fsync", broken_fsync)
    with pytest.raises(OutputError):
        write_image(target, np.zeros((4, 4, 3), np.float32), overwrite=True)
    assert target.read_bytes() == b"old"
    assert no_temp_files(tmp_path)


def test_atomic_write_interrupted_mid_write(tmp_path, monkeypatch):
    class Boom(KeyboardInterrupt):
        pass

    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *a, **k):
        fh = real_fdopen(fd, mode, *a, **k)

        class Half:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                fh.close()
                return False

            def write(self, data):
                fh.write(data[: len(data) // 2])
                raise Boom()

        return Half()

    monkeypatch.setattr(hio.os, "fdopen", fdopen)
    with pytest.raises(Boom):
        atomic_write_bytes(tmp_path / "o.bin", b"y" * 4096)
    assert list(tmp_path.iterdir()) == []


def test_no_overwrite_is_refused_and_leaves_the_file(tmp_path):
    target = tmp_path / "o.png"
    target.write_bytes(b"keep")
    with pytest.raises(OutputError) as e:
        write_image(target, np.zeros((2, 2, 3), np.float32))
    assert "exists" in str(e.value)
    assert target.read_bytes() == b"keep" and no_temp_files(tmp_path)


def test_written_files_have_normal_permissions(tmp_path):
    p = write_image(tmp_path / "p.png", np.zeros((2, 2, 3), np.float32))
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_check_output_path(tmp_path):
    inp = save_pil(tmp_path / "in.png", pattern())
    with pytest.raises(OutputError, match="one of the inputs"):
        check_output_path(tmp_path / "." / "in.png", [inp])
    with pytest.raises(OutputError, match="unknown output format"):
        check_output_path(tmp_path / "o.bmp")
    with pytest.raises(OutputError, match="does not exist"):
        check_output_path(tmp_path / "nope" / "o.png")
    with pytest.raises(OutputError, match="is a folder"):
        check_output_path(tmp_path)
    with pytest.raises(OutputError, match="not writable"):
        check_output_path(Path("/proc/hdrdesk-test-output.png"))
    check_output_path(tmp_path / "fine.png")
    assert no_temp_files(tmp_path)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permission bits")
def test_check_output_path_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(ro / "o.png")
    finally:
        ro.chmod(0o755)
