"""Finding brackets on disk: the one folder finder and the one scene-list reader (Qt-free).

Used by ``hdrdesk eval`` (:func:`hdrdesk.evaluate.list_scenes`), training
(:func:`hdrdesk.training.data.discover_scenes`) and usable by ``hdrdesk batch``:
``bracket_folders(root, exclude=outdir)`` is what ``batch.find_brackets`` computes, less its
error message for an empty result.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from hdrdesk.core.io import list_images
from hdrdesk.errors import InputError


def bracket_folders(root: str | os.PathLike, exclude: Path | None = None, include_root: bool = True) -> list[Path]:
    """Sub-folders of ``root`` that hold images, sorted by name; hidden folders and ``exclude``
    (e.g. an output folder inside ``root``) are skipped. When no sub-folder holds images and
    ``include_root``, ``root`` itself if it holds images. Empty list: nothing found.
    A sub-folder that cannot be listed is kept (its loader reports the problem)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    excluded = Path(exclude).resolve() if exclude is not None else None
    found: list[Path] = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        if excluded is not None and p.resolve() == excluded:
            continue
        try:
            if list_images(p):
                found.append(p)
        except OSError:
            found.append(p)
    if found or not include_root:
        return found
    return [root] if list_images(root) else []


def read_scene_list(spec: str | os.PathLike | Iterable[str] | None) -> list[str] | None:
    """Scene names from a file (one per line; ``#`` starts a comment, anywhere on a line; a path
    keeps its last part), a comma-separated string, or an iterable of names. None: all scenes."""
    if spec is None:
        return None
    if not isinstance(spec, (str, os.PathLike)):
        return [str(s).strip() for s in spec if str(s).strip()]
    path = Path(spec)
    if path.is_file():
        names = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line.rstrip("/").split("/")[-1])
        return names
    text = str(spec)
    if "," not in text and (os.sep in text or text.endswith(".txt")):
        raise InputError(f"{text}: scene list file not found")
    return [s.strip() for s in text.split(",") if s.strip()]


def manifest_pair(folder: str | os.PathLike) -> tuple[str, str] | None:
    """File names of the under/over pair a scene's ``manifest.json`` records as ``mefb_pair``.

    None: no manifest, or no pair in it. InputError: a manifest that cannot be read, or a pair
    naming a file that is not in the folder.
    """
    import json

    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable manifest ({exc})") from None
    pair = manifest.get("mefb_pair") if isinstance(manifest, dict) else None
    if not isinstance(pair, dict) or not pair.get("under") or not pair.get("over"):
        return None
    under, over = str(pair["under"]), str(pair["over"])
    for name in (under, over):
        if not (folder / name).is_file():
            raise InputError(f"{path}: mefb_pair names {name}, which is not in the folder")
    return under, over
