"""``hdrdesk batch``: fuse every bracket folder under a folder.

Pipelined so that both cores stay busy: while the main thread runs the network on
bracket *i* and blends it, a loader thread decodes, aligns and colour-converts bracket
*i+1* and then encodes and writes bracket *i* (OpenCV and torch release the GIL). The
two halves cost about the same. At most one bracket is prepared ahead and one image
waits for its write, which bounds memory (the image is turned into BGR in place for
the encoder). The model is loaded once, in the background while the first bracket
decodes.

A folder that fails is reported on stderr (one line naming it and the problem) and
the others go on; the exit code is 1 if any failed, else 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hdrdesk.errors import HDRDeskError, InputError, ModelError, OutputError

FORMAT_SUFFIX = {"png": ".png", "tif": ".tif", "jpg": ".jpg"}


def find_brackets(root: Path, exclude: Path | None = None) -> list[Path]:
    """Sub-folders of ``root`` that hold images (sorted); ``root`` itself if it holds images and has none."""
    from hdrdesk.core.io import list_images

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    excluded = exclude.resolve() if exclude is not None else None
    subs = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        if excluded is not None and p.resolve() == excluded:
            continue
        try:
            if list_images(p):
                subs.append(p)
        except OSError:
            subs.append(p)  # unreadable: reported when it is loaded
    if subs:
        return subs
    if list_images(root):
        return [root]
    raise InputError(f"{root}: holds no bracket folders (sub-folders of JPEG, PNG or TIFF exposures)")


@dataclass
class _Loaded:
    folder: Path
    out: Path
    prep: object | None = None  # PreparedBracket
    exif: bytes | None = None
    icc: bytes | None = None  # the output's profile
    error: str | None = None


def _load(folder: Path, out: Path, options, overwrite: bool, profile: str = "srgb") -> _Loaded:
    from hdrdesk.core.fusion import prepare_fusion
    from hdrdesk.core.io import list_images, load_bracket

    item = _Loaded(folder, out)
    try:
        if out.exists() and not overwrite:
            raise OutputError(f"{out}: exists (use --overwrite to replace it)")
        files = list_images(folder)
        if not files:
            raise InputError(f"{folder}: holds no JPEG, PNG, TIFF or RAW images")
        frames = load_bracket(files)
        item.exif = frames[len(frames) // 2].exif_bytes
        item.icc = _output_icc(profile, frames)
        # keep_frames=False empties ``frames``: an original replaced by its aligned copy goes at once
        item.prep = prepare_fusion(frames, options, keep_frames=options.method == "mertens")
    except MemoryError:
        item.error = "out of memory"
    except Exception as exc:  # noqa: BLE001 - one folder's problem must not stop the batch
        item.error = _message(exc)
    return item


def _output_icc(profile: str, frames) -> bytes:
    from hdrdesk.core.color_profiles import output_profile_bytes, parse_profile

    icc = output_profile_bytes(profile, frames[len(frames) // 2].icc_profile)
    prof = parse_profile(icc)
    if prof is None or prof.gray:
        raise InputError("--output-profile input: the input profile is not an RGB matrix profile; choose srgb, adobe-rgb or prophoto")
    return icc


def _write(item: _Loaded, image, bits: int, quality: int, overwrite: bool) -> None:
    from hdrdesk.core.color_profiles import convert_from_srgb
    from hdrdesk.core.io import write_image

    image = convert_from_srgb(image, item.icc) if item.icc else image
    write_image(item.out, image, bits=bits, quality=quality, exif=item.exif, overwrite=overwrite, consume=True, icc=item.icc)


def _message(exc: BaseException) -> str:
    if isinstance(exc, HDRDeskError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def cmd_batch(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from hdrdesk.core.fusion import ModelPreloader, finish_fusion
    from hdrdesk.core.io import probe_writable

    root: Path = args.folder
    outdir: Path = args.output
    from hdrdesk.cli import fusion_options_from_args

    options = fusion_options_from_args(args, keep_weights=False)
    options.validate()
    brackets = find_brackets(root, exclude=outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutputError(f"{outdir}: exists and is not a folder")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror or exc})") from None
    probe_writable(outdir)
    suffix = FORMAT_SUFFIX[args.format]
    bits = args.bits if args.format != "jpg" else 8
    preload = ModelPreloader(args.model, args.device) if args.method == "cnn" else None

    failed: list[tuple[str, str]] = []
    done = 0
    t0 = time.perf_counter()
    bar = tqdm(total=len(brackets), unit="bracket", file=sys.stderr, dynamic_ncols=True, disable=args.no_progress)

    def fail(folder: Path, message: str) -> None:
        failed.append((folder.name, message))
        tqdm.write(f"hdrdesk: failed: {folder.name}: {message}", file=sys.stderr)

    loader = ThreadPoolExecutor(1, thread_name_prefix="hdrdesk-load")
    outputs = [outdir / f"{b.name}{suffix}" for b in brackets]
    out_dtype = np.uint8 if bits == 8 else np.uint16
    futures: dict[int, Future] = {}

    def submit(k: int) -> None:
        if k < len(brackets) and k not in futures:
            futures[k] = loader.submit(_load, brackets[k], outputs[k], options, args.overwrite, args.output_profile)

    pending: list[tuple[_Loaded, Future]] = []  # writes queued on the loader thread

    def collect_writes(wait: bool) -> None:
        nonlocal done
        while pending and (wait or pending[0][1].done()):
            item, fut = pending.pop(0)
            try:
                fut.result()
                done += 1
            except MemoryError:
                fail(item.folder, "out of memory while writing")
            except Exception as exc:  # noqa: BLE001
                fail(item.folder, _message(exc))
            bar.update(1)

    try:
        # Brackets 0 and 1 are queued at once: while torch is imported the loader goes on
        # to the second bracket instead of idling. From then on one bracket is prepared
        # ahead of the one being fused, no more (memory). The encoded writes also run on
        # the loader thread, after the load in progress: that balances the two threads
        # (the main thread's network and blending cost a little more than decoding,
        # aligning and converting).
        submit(0)
        submit(1)
        for i in range(len(brackets)):
            item: _Loaded = futures.pop(i).result()
            collect_writes(wait=False)
            if item.error is not None:
                fail(item.folder, item.error)
                bar.update(1)
                submit(i + 1)
                continue
            bar.set_postfix_str(item.folder.name, refresh=True)
            submit(i + 1)
            try:
                if preload is not None:
                    preload.result()  # ModelError: fatal, every bracket would fail the same way
                    preload = None
                result = finish_fusion(item.prep, out_dtype=out_dtype)  # type: ignore[arg-type]
                item.prep = None
                image = result.image
                del result
            except ModelError:
                raise
            except MemoryError:
                fail(item.folder, "out of memory")
                bar.update(1)
                continue
            except Exception as exc:  # noqa: BLE001 - one folder's problem must not stop the batch
                fail(item.folder, _message(exc))
                bar.update(1)
                continue
            finally:
                item.prep = None
            collect_writes(wait=True)  # at most one finished image waits for its write
            pending.append((item, loader.submit(_write, item, image, bits, args.quality, args.overwrite)))
            del image
        collect_writes(wait=True)
    finally:
        loader.shutdown(wait=True, cancel_futures=True)
        bar.close()
    elapsed = time.perf_counter() - t0
    summary = f"fused {done} of {len(brackets)} brackets into {outdir} in {elapsed:.1f} s"
    if failed:
        summary += f"; {len(failed)} failed: {', '.join(name for name, _ in failed)}"
    print(summary)
    return 1 if failed else 0
