"""Import cycles among hdrdesk's modules (static: every ``import`` line, top level or inside a function).

    python scripts/import_graph.py            # cycles, top-level imports only and all imports
    python scripts/import_graph.py --upward   # also engine -> gui/cli and training -> gui imports
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"hdrdesk": ROOT / "hdrdesk", "hdrdesk.training": ROOT / "training", "hdrdesk.resources": ROOT / "resources"}


def modules() -> dict[str, Path]:
    out = {}
    for pkg, folder in PACKAGES.items():
        for f in folder.rglob("*.py"):
            rel = f.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            out[".".join([pkg, *parts])] = f
    return out


def imports(path: Path, name: str, known: set[str], top_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):  # TYPE_CHECKING blocks are not imports at run time
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    found: set[str] = set()
    nodes = tree.body if top_only else list(ast.walk(tree))
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                pkg = name.rsplit(".", node.level)[0]
                base = f"{pkg}.{node.module}"
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def layer(mod: str) -> str:
    if mod.startswith("hdrdesk.gui"):
        return "gui"
    if mod.startswith("hdrdesk.training"):
        return "training"
    if mod in ("hdrdesk.cli", "hdrdesk.__main__", "hdrdesk.batch"):
        return "cli"
    return "engine"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--upward", action="store_true")
    args = ap.parse_args()
    mods = modules()
    known = set(mods)
    bad = 0
    for top_only in (True, False):
        graph = {m: imports(p, m, known, top_only) - {p for p in known if m.startswith(p + ".")} for m, p in mods.items()}
        found = cycles(graph)
        print(f"cycles ({'top-level imports' if top_only else 'all imports, lazy ones included'}): {len(found)}")
        for c in found:
            print("  " + " <-> ".join(c))
        bad += len(found)
        if args.upward and not top_only:
            allowed = {"engine": {"engine"}, "training": {"engine", "training"}, "gui": {"engine", "training", "gui"}, "cli": {"engine", "cli", "training", "gui"}}
            for m, deps in sorted(graph.items()):
                for d in sorted(deps):
                    if layer(d) not in allowed[layer(m)]:
                        print(f"  upward: {m} -> {d}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
