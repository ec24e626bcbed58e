"""The user's models: files in the user data folder, each with a small JSON card.

The list is always rebuilt from the folder, so a crash can never leave a list
that disagrees with the files. Model files and cards are written atomically.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hdrdesk.core.io import atomic_write_bytes
from hdrdesk.errors import ModelError
from hdrdesk.paths import default_model_path, user_models_dir

_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass
class ModelEntry:
    name: str
    path: Path
    card: dict
    read_only: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (shipped)" if self.read_only else self.name


def safe_name(name: str) -> str:
    cleaned = _NAME_RE.sub("_", name).strip(" .")
    if not cleaned:
        raise ModelError("a model needs a name made of letters, digits, '.', '_', '-' or spaces")
    return cleaned[:80]


def card_path(model_path: Path) -> Path:
    return model_path.with_suffix(".json")


def read_card(model_path: Path) -> dict:
    try:
        return json.loads(card_path(model_path).read_text())
    except (OSError, ValueError):
        return {}


def list_models(folder: Path | None = None) -> list[ModelEntry]:
    """The shipped default first, then the user's models by name."""
    entries = [ModelEntry("default", default_model_path(), {"name": "default", "base": "shipped"}, read_only=True)]
    folder = folder or user_models_dir()
    for p in sorted(folder.glob("*.pt")):
        entries.append(ModelEntry(p.stem, p, read_card(p)))
    return entries


def save_model_bytes(data: bytes, name: str, card: dict, folder: Path | None = None, overwrite: bool = False) -> Path:
    folder = folder or user_models_dir()
    path = folder / f"{safe_name(name)}.pt"
    if path.exists() and not overwrite:
        raise ModelError(f"a model named {path.stem!r} exists already")
    card = {"name": path.stem, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **card}
    atomic_write_bytes(path, data, overwrite=overwrite)
    atomic_write_bytes(card_path(path), json.dumps(card, indent=1, default=str).encode(), overwrite=True)
    return path


def save_model(model, name: str, card: dict, folder: Path | None = None, overwrite: bool = False) -> Path:
    import io

    import torch

    from hdrdesk.core.model import model_state

    buf = io.BytesIO()
    torch.save(model_state(model, name=safe_name(name)), buf)
    return save_model_bytes(buf.getvalue(), name, card, folder, overwrite)


def rename_model(path: Path, new_name: str) -> Path:
    new = path.with_name(f"{safe_name(new_name)}.pt")
    if new.exists():
        raise ModelError(f"a model named {new.stem!r} exists already")
    card = read_card(path)
    path.rename(new)
    if card_path(path).exists():
        card_path(path).unlink()
    card["name"] = new.stem
    atomic_write_bytes(card_path(new), json.dumps(card, indent=1, default=str).encode(), overwrite=True)
    return new


def delete_model(path: Path) -> None:
    if path.resolve() == default_model_path().resolve():
        raise ModelError("the shipped model cannot be deleted")
    path.unlink(missing_ok=True)
    card_path(path).unlink(missing_ok=True)


def import_model(src: Path, folder: Path | None = None) -> Path:
    """Copy a model file into the user's models after checking that it loads."""
    from hdrdesk.core.model import load_model

    _, card = load_model(src)  # raises ModelError with a clear message
    data = Path(src).read_bytes()
    name = src.stem
    folder = folder or user_models_dir()
    i = 2
    while (folder / f"{safe_name(name)}.pt").exists():
        name = f"{src.stem}-{i}"
        i += 1
    return save_model_bytes(data, name, {"imported_from": str(src), **{k: v for k, v in card.items() if k in ("scores", "base", "steps")}}, folder)


def export_model_file(path: Path, dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(path, tmp)
    tmp.replace(dest)
    return dest
