"""The layers hold: front ends go through the service, no import runs in a circle, modules stay
small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("advisor", "storage", "bot")
# the service layer: the one door, the only part of bot/ that may reach storage and the engine
SERVICE = {
    "bot/service.py",
    "bot/people.py",
    "bot/consulting.py",
    "bot/deliveries.py",
    "bot/housekeeping.py",
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The project modules a module imports, anywhere in it (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def test_no_front_end_imports_storage_or_the_engine():
    offending = {
        (str(path.relative_to(ROOT)), imported)
        for name, path in modules().items()
        if name.startswith("bot") and str(path.relative_to(ROOT)) not in SERVICE
        for imported in imports(name, path)
        if imported.startswith("storage") or imported.startswith("advisor.engine")
    }
    assert offending == set()


def test_the_core_imports_nothing_above_it():
    everything = modules()
    for name, path in everything.items():
        layer = name.split(".")[0]
        above = {"advisor": ("storage", "bot"), "storage": ("bot",), "bot": ()}[layer]
        assert not [i for i in imports(name, path) if i.startswith(above)], name


def test_no_import_cycle():
    everything = modules()
    graph = {
        name: {i for i in imports(name, path) if i in everything and i != name}
        for name, path in everything.items()
    }
    # a package's __init__ re-exporting its own modules is not a cycle worth the name
    for name in graph:
        graph[name] = {i for i in graph[name] if not name.startswith(i + ".")}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])


def test_no_module_of_the_front_ends_is_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "bot").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert long == {}
