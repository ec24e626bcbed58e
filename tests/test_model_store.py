"""The user's model store (no Qt): save, list, rename, delete, import, export, faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hdrdesk.core.model import FusionNet, NetConfig, load_model
from hdrdesk.errors import ModelError
from hdrdesk.model_store import (
    card_path,
    delete_model,
    export_model_file,
    import_model,
    list_models,
    read_card,
    rename_model,
    save_model,
)
from hdrdesk.paths import default_model_path, user_models_dir

TINY = NetConfig(widths=(4, 8))


def tiny_model(seed: int = 0) -> FusionNet:
    torch.manual_seed(seed)
    m = FusionNet(TINY)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return m


def names(folder: Path) -> list[str]:
    return [e.name for e in list_models(folder) if not e.read_only]


@pytest.fixture
def store(tmp_path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    return d


def test_shipped_model_is_listed_first_and_read_only(store):
    entries = list_models(store)
    assert entries[0].read_only and entries[0].path == default_model_path()
    assert entries[0].label.endswith("(shipped)")
    with pytest.raises(ModelError, match="cannot be deleted"):
        delete_model(default_model_path())
    with pytest.raises(ModelError, match="cannot be renamed"):
        rename_model(default_model_path(), "mine")
    assert default_model_path().is_file()


def test_save_list_and_card(store):
    path = save_model(tiny_model(), "My portraits", {"base": "default", "steps": 200, "scores": {"mean": 0.91}}, store)
    assert path == store / "My portraits.pt"
    entry = [e for e in list_models(store) if not e.read_only][0]
    assert entry.name == "My portraits" and entry.path == path and not entry.read_only
    card = read_card(path)
    assert card["base"] == "default" and card["steps"] == 200 and card["scores"]["mean"] == 0.91
    assert card["name"] == "My portraits" and "date" in card
    model, _ = load_model(path)
    assert model.config.widths == TINY.widths
    with pytest.raises(ModelError, match="exists already"):
        save_model(tiny_model(), "My portraits", {}, store)


def test_unsafe_names_are_cleaned(store):
    path = save_model(tiny_model(), "../../evil/name", {}, store)
    assert path.parent == store
    with pytest.raises(ModelError, match="needs a name"):
        save_model(tiny_model(), " .. ", {}, store)


def test_default_folder_is_the_user_data_folder():
    path = save_model(tiny_model(), "cli-made", {"base": "default"})
    assert path.parent == user_models_dir()
    assert "cli-made" in [e.name for e in list_models()]


def test_rename_moves_file_and_card(store):
    path = save_model(tiny_model(), "a", {"steps": 5}, store)
    save_model(tiny_model(1), "b", {}, store)
    with pytest.raises(ModelError, match="exists already"):
        rename_model(path, "b")
    new = rename_model(path, "c")
    assert not path.exists() and not card_path(path).exists()
    assert new.is_file() and read_card(new)["name"] == "c" and read_card(new)["steps"] == 5
    assert names(store) == ["b", "c"]
    assert rename_model(new, "c") == new  # same name: nothing to do


def test_delete_removes_file_and_card(store):
    path = save_model(tiny_model(), "gone", {}, store)
    delete_model(path)
    assert not path.exists() and not card_path(path).exists()
    assert names(store) == []


def test_list_is_rebuilt_from_the_folder(store):
    a = save_model(tiny_model(), "a", {}, store)
    save_model(tiny_model(), "b", {}, store)
    a.unlink()  # removed behind the app's back: the list follows the folder, the stray card is ignored
    assert names(store) == ["b"]
    (store / "orphan.json").write_text("{}")
    (store / ".c.pt.123.tmp").write_bytes(b"half written")  # a temp file from a killed write
    assert names(store) == ["b"]
    # a model without a card (crash between the two writes) is still listed, with an empty card
    card_path(store / "b.pt").unlink()
    assert [e.card for e in list_models(store) if not e.read_only] == [{}]


def test_broken_card_reads_as_empty(store):
    path = save_model(tiny_model(), "x", {}, store)
    card_path(path).write_text("{not json")
    assert read_card(path) == {}


def test_import_checks_and_copies(store, tmp_path):
    src = save_model(tiny_model(), "from-a-friend", {"base": "default", "steps": 50, "scores": {"mean": 0.9}}, tmp_path)
    exported = export_model_file(src, tmp_path / "shared.pt")
    got = import_model(exported, store)
    assert got == store / "shared.pt"
    card = read_card(got)
    assert card["imported_from"] == str(exported)
    assert card["steps"] == 50 and card["scores"]["mean"] == 0.9  # the card travelled inside the file
    again = import_model(exported, store)
    assert again == store / "shared-2.pt"
    load_model(again)


def test_truncated_or_foreign_files_are_refused_on_import(store, tmp_path):
    good = save_model(tiny_model(), "good", {}, tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelError, match="truncated"):
        import_model(truncated, store)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ModelError, match="not a readable HDRDesk model"):
        import_model(text, store)
    other = tmp_path / "other.pt"
    torch.save({"arch": "resnet50", "model": {}}, other)
    with pytest.raises(ModelError, match="architecture"):
        import_model(other, store)
    misfit = tmp_path / "misfit.pt"
    state = torch.load(good, weights_only=True)
    state["net_config"]["widths"] = [8, 16]
    torch.save(state, misfit)
    with pytest.raises(ModelError, match="do not fit"):
        import_model(misfit, store)
    with pytest.raises(ModelError, match="cannot be read"):
        import_model(tmp_path / "missing.pt", store)
    assert names(store) == []  # nothing half-imported
    assert list(store.iterdir()) == []


def test_export_is_a_loadable_standalone_file(store, tmp_path):
    path = save_model(tiny_model(), "mine", {"base": "default", "scores": {"mean": 0.8}}, store)
    out = export_model_file(path, tmp_path / "out.pt")
    model, card = load_model(out)
    assert card["scores"] == {"mean": 0.8} and card["base"] == "default"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ModelError, match="model file itself"):
        export_model_file(path, path)


def test_export_of_a_training_checkpoint_drops_the_optimizer(tmp_path):
    m = tiny_model()
    opt = torch.optim.AdamW(m.parameters())
    ck = {"arch": "hdrdesk-fusionnet-v1", "net_config": m.config.to_dict(), "model": m.state_dict(), "optimizer": opt.state_dict(), "step": 3}
    torch.save(ck, tmp_path / "best.pt")
    out = export_model_file(tmp_path / "best.pt", tmp_path / "plain.pt")
    data = torch.load(out, weights_only=True)
    assert "optimizer" not in data and data["step"] == 3


def test_cards_are_json(store):
    path = save_model(tiny_model(), "j", {"data": [Path("/x/y")], "scores": None}, store)
    json.loads(card_path(path).read_text())
