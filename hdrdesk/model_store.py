"""The user's models: files in the user data folder, each with a small JSON card.

The list is always rebuilt from the folder, so a crash can never leave a list
that disagrees with the files. Model files and cards are written atomically.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hdrdesk.core.io import atomic_write_bytes
from hdrdesk.errors import ModelError, UserFolderUnavailable
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


def store_problem() -> str | None:
    """Why the user's models are unavailable (their folder cannot be created), or None.

    The app starts anyway, lists only the shipped model and should show this line
    (e.g. in the status bar and the Models dialog) instead of the user's models."""
    try:
        user_models_dir()
    except UserFolderUnavailable as exc:
        return f"your models are unavailable: {exc}"
    return None


def list_models(folder: Path | None = None) -> list[ModelEntry]:
    """The shipped default first, then the user's models by name (only the shipped one
    when the user data folder cannot be created: see :func:`store_problem`)."""
    entries = [ModelEntry("default", default_model_path(), {"name": "default", "base": "shipped"}, read_only=True)]
    if folder is None:
        try:
            folder = user_models_dir()
        except UserFolderUnavailable:
            return entries
    try:
        found = list(folder.glob("*.pt"))
    except OSError:  # unreadable folder: nothing to list
        return entries
    for p in sorted(found, key=lambda q: q.stem.lower()):
        if p.is_file() and not p.name.startswith("."):
            entries.append(ModelEntry(p.stem, p, read_card(p)))
    return entries


def is_shipped(path: Path) -> bool:
    try:
        return Path(path).resolve() == default_model_path().resolve()
    except OSError:
        return False


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
    """Rename a user's model (file and card). The card is written first, so a crash leaves
    either the old model with its card or the new one with its card (at worst a stray card)."""
    path = Path(path)
    if is_shipped(path):
        raise ModelError("the shipped model cannot be renamed")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    new = path.with_name(f"{safe_name(new_name)}.pt")
    if new == path:
        return path
    if new.exists() and new.resolve() != path.resolve():
        raise ModelError(f"a model named {new.stem!r} exists already")
    card = read_card(path)
    card["name"] = new.stem
    atomic_write_bytes(card_path(new), json.dumps(card, indent=1, default=str).encode(), overwrite=True)
    path.rename(new)
    if card_path(path) != card_path(new):
        card_path(path).unlink(missing_ok=True)
    return new


def delete_model(path: Path) -> None:
    if is_shipped(path):
        raise ModelError("the shipped model cannot be deleted")
    path.unlink(missing_ok=True)
    card_path(path).unlink(missing_ok=True)


def import_model(src: Path, folder: Path | None = None) -> Path:
    """Copy a model file into the user's models after checking that it loads.

    The bytes are read once and those very bytes are checked and stored, so a file that
    changes meanwhile cannot slip in unchecked. Raises :class:`ModelError` (clear message)
    for truncated files, other architectures and files that are not models.
    """
    import tempfile

    from hdrdesk.core.model import load_model

    src = Path(src)
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ModelError(f"{src}: cannot be read ({exc.strerror or exc})") from None
    with tempfile.TemporaryDirectory(prefix="hdrdesk-import-") as tmp:
        probe = Path(tmp) / src.name
        probe.write_bytes(data)
        try:
            _, card = load_model(probe)
        except ModelError as exc:
            raise ModelError(str(exc).replace(str(probe), str(src))) from None
    folder = folder or user_models_dir()
    base = safe_name(src.stem)
    name, i = base, 2
    while (folder / f"{name}.pt").exists():
        name = f"{base}-{i}"
        i += 1
    keep = {k: v for k, v in card.items() if k in CARD_KEYS and k != "name"}
    return save_model_bytes(data, name, {**keep, "imported_from": str(src)}, folder)


# card fields carried inside an exported model file (and read back on import)
CARD_KEYS = ("name", "base", "data", "train_brackets", "val_brackets", "steps", "best_step", "lr", "gamma",
             "scores_before", "scores", "date", "refined_on", "kind")


def export_model_file(path: Path, dest: Path) -> Path:
    """Write a stand-alone copy of a model to ``dest`` (atomic), with its card inside the file."""
    import io

    import torch

    path, dest = Path(path), Path(dest)
    if dest.exists() and dest.resolve() == path.resolve():
        raise ModelError(f"{dest}: that is the model file itself")
    try:
        ckpt = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{path}: not a readable HDRDesk model ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ModelError(f"{path}: not an HDRDesk model (no weights inside)")
    ckpt.pop("optimizer", None)  # a training checkpoint exports as a plain model file
    ckpt.pop("rng", None)
    card = read_card(path)
    for k in CARD_KEYS:
        if k in card and k not in ckpt:
            ckpt[k] = json.loads(json.dumps(card[k], default=str))
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return atomic_write_bytes(dest, buf.getvalue(), overwrite=True)


def unique_name(base: str, folder: Path | None = None) -> str:
    """``base`` made safe, with ``-2``, ``-3``... appended until no stored model has that name."""
    try:
        base = safe_name(base)
    except Exception:  # noqa: BLE001 - a name with nothing usable in it
        base = "fine-tuned"
    taken = {e.name.lower() for e in list_models(folder)}
    name, i = base, 2
    while name.lower() in taken:
        name = f"{base}-{i}"
        i += 1
    return name
