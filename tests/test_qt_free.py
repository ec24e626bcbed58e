"""The engine, the command line and training are Qt-free: importing them never loads PySide6.

Each check runs in a fresh interpreter, so modules imported by other tests do not hide
(or fake) an import.
"""

from __future__ import annotations

import pkgutil

import pytest
from importcheck import imports_in_fresh_interpreter

QT_MODULES = ("PySide6", "shiboken6")


def _core_modules() -> list[str]:
    import hdrdesk.core

    return sorted(f"hdrdesk.core.{m.name}" for m in pkgutil.iter_modules(hdrdesk.core.__path__))


def _training_modules() -> list[str]:
    try:
        import hdrdesk.training
    except ImportError:
        return []
    return sorted(f"hdrdesk.training.{m.name}" for m in pkgutil.iter_modules(hdrdesk.training.__path__))


def test_core_cli_batch_evaluate_do_not_import_qt():
    mods = _core_modules() + [
        "hdrdesk.cli", "hdrdesk.batch", "hdrdesk.evaluate", "hdrdesk.tasks", "hdrdesk.errors", "hdrdesk.paths",
        "hdrdesk.session", "hdrdesk.export", "hdrdesk.scenes", "hdrdesk.info", "hdrdesk.model_store",
    ]
    assert "hdrdesk.core.fusion" in mods and "hdrdesk.core.io" in mods
    # the parser with every subcommand registered (training's hook included)
    res = imports_in_fresh_interpreter(mods, QT_MODULES, extra="from hdrdesk.cli import build_parser\nbuild_parser()\n")
    assert res["failed"] == {}
    assert res["loaded"] == [], res["loaded"]


def test_training_does_not_import_qt():
    mods = _training_modules()
    if not mods:
        pytest.skip("hdrdesk.training not present")
    res = imports_in_fresh_interpreter(mods, QT_MODULES)
    assert res["loaded"] == [], res["loaded"]
    # a module that cannot import here is someone else's problem, but not because of Qt
    assert not any("PySide6" in v or "shiboken6" in v for v in res["failed"].values()), res["failed"]
