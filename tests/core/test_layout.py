"""The house: one package, no top-level ``pipelines``, no import circles between neurorrn's modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "neurorrn"


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = list(f.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """Modules of neurorrn that ``name`` imports anywhere in its file (module level or inside functions)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                root = base[: len(base) - (node.level - 1)]
                mod = ".".join(root + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):  # a module importing its own parents runs them first anyway
                found.add(t)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
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


def test_no_import_circles_inside_neurorrn():
    modules = _modules()
    graph = {m: {t for t in _imports(m, p, modules) if not t.startswith(m + ".")} for m, p in modules.items()}
    assert _cycles(graph) == []


def test_no_top_level_pipelines_package():
    assert not (REPO / "pipelines").exists()
    import tomllib

    find = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert find["include"] == ["neurorrn*"]
    proc = subprocess.run([sys.executable, "-c", "import pipelines"], capture_output=True, text=True,
                          cwd="/", timeout=120)
    assert proc.returncode != 0 and "No module named 'pipelines'" in proc.stderr


@pytest.mark.parametrize("twin", ["plot_trf", "phone_epochs"])
def test_one_public_function_per_name(twin):
    import importlib

    owners = []
    for sub in ("encoding", "probing", "report", "report.figures", "brain", "models", "speech", "zoo"):
        mod = importlib.import_module(f"neurorrn.{sub}")
        if twin in getattr(mod, "__all__", ()) or (sub == "report.figures" and hasattr(mod, twin)):
            owners.append(sub)
    assert len(owners) <= 1, owners
