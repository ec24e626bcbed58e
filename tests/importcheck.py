"""What importing some modules loads, seen from a fresh interpreter (so modules other tests
imported neither hide nor fake an import)."""

from __future__ import annotations

import json
import subprocess
import sys


def imports_in_fresh_interpreter(modules: list[str], roots: tuple[str, ...], extra: str = "") -> dict:
    """Import ``modules`` (then run ``extra``) in a new interpreter. Returns ``loaded``: the loaded
    modules that are, or lie below, one of ``roots`` (e.g. "PySide6", "hdrdesk.cli"), and
    ``failed``: {module: reason} for the modules that could not be imported."""
    code = (
        "import importlib, json, sys\n"
        f"mods = {modules!r}\n"
        f"roots = {tuple(roots)!r}\n"
        "failed = {}\n"
        "for m in mods:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception as exc:\n"
        "        failed[m] = f'{type(exc).__name__}: {exc}'\n"
        f"{extra}"
        "loaded = sorted(m for m in sys.modules if any(m == r or m.startswith(r + '.') for r in roots))\n"
        "print(json.dumps({'loaded': loaded, 'failed': failed}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])
