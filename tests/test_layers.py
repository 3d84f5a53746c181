"""The layering rule, read from the sources (AST), so that the tree stays readable.

- ``gateway/core/`` holds the sans-IO rules: it imports no I/O library (redis, aiohttp, aiortc,
  aioice, av), nor asyncio, time or os, and no other layer of the project.
- ``gateway/http/`` holds the HTTP adapters: it never imports redis (but a type for annotations,
  under ``if TYPE_CHECKING:``) and never spells a Redis key.
- ``gateway/store/`` holds the Redis adapters: it never imports aiohttp.
- ``gateway/aio/`` holds asyncio helpers (stopping a task): it imports no other part of the
  project, so that every layer but the core may use it.
- No cycle between the packages (``gateway.core``, ``gateway.store``, ``gateway.media``,
  ``gateway.service``, ``gateway.http``, ``signaling``, ``recorder``, the configuration
  ``gateway.config`` under all of them and the command line ``gateway`` above them).

What breaks a rule today is listed below, leak by leak. Each list may only shrink: a listed leak
that is gone fails the test too, so that whoever fixes one also strikes it off.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "signaling", "recorder")
CORE_FORBIDDEN = {"redis", "aiohttp", "aiortc", "aioice", "av", "asyncio", "time", "os"}

# (module, imported name): the core reaching out of its layer.
KNOWN_CORE_LEAKS: set[tuple[str, str]] = set()
# HTTP modules that spell a Redis key ("parloir:…") or import redis.
KNOWN_HTTP_LEAKS: set[tuple[str, str]] = set()
KNOWN_STORE_LEAKS: set[tuple[str, str]] = set()
# Package edges that close a cycle today.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_only(tree: ast.AST) -> set[int]:
    """The nodes under ``if TYPE_CHECKING:``: names for annotations, not run."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def _imports(name: str, path: Path, *, run_time: bool = False) -> set[str]:
    """What the module imports (with ``run_time``, but what only annotations need)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped = _type_only(tree) if run_time else set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            # "from gateway.http import appkeys": the module, when it is one.
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    out.add(f"{target}.{alias.name}")
    return out


def _package_of(module: str) -> str | None:
    for package in sorted({m for m in MODULES if Path(MODULES[m]).name == "__init__.py"},
                          key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return None


def _layer(module: str) -> str | None:
    # The configuration is read by every layer: a node of its own under everything; the rest
    # of gateway/ (the command line) sits on top.
    if module == "gateway.config":
        return "gateway.config"
    return _package_of(module)


def _spelled_keys(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value.startswith("parloir:")
        for node in ast.walk(tree)
    )


def test_every_layer_is_a_package() -> None:
    for layer in ("core", "store", "http", "media", "service"):
        assert f"gateway.{layer}" in MODULES, layer
    # No module left in gateway/ but the entry points and the configuration.
    top = {m for m in MODULES if m.count(".") == 1 and m.startswith("gateway.")
           and Path(MODULES[m]).name != "__init__.py"}
    assert top == {"gateway.__main__", "gateway.cli", "gateway.config"}


def test_the_core_does_no_io() -> None:
    leaks = set()
    for name, path in MODULES.items():
        if not name.startswith("gateway.core"):
            continue
        for imported in _imports(name, path):
            root = imported.split(".")[0]
            if root in CORE_FORBIDDEN:
                leaks.add((name, imported))
            elif root in PACKAGES and not imported.startswith("gateway.core"):
                leaks.add((name, imported))
    assert leaks == KNOWN_CORE_LEAKS


def test_http_neither_imports_redis_nor_spells_a_key() -> None:
    leaks = set()
    for name, path in MODULES.items():
        if not name.startswith("gateway.http"):
            continue
        imported = _imports(name, path, run_time=True)
        leaks.update((name, i) for i in imported if i.split(".")[0] == "redis")
        if _spelled_keys(path):
            leaks.add((name, "key:parloir:"))
    assert leaks == KNOWN_HTTP_LEAKS


def test_the_asyncio_helpers_import_no_other_layer() -> None:
    imported = {i for name, path in MODULES.items() if name.startswith("gateway.aio")
                for i in _imports(name, path)}  # fmt: skip
    assert {i for i in imported if i.split(".")[0] in PACKAGES} <= {
        "gateway.aio", "gateway.aio.cancel"}


def test_stores_never_import_aiohttp() -> None:
    leaks = set()
    for name, path in MODULES.items():
        if name.startswith("gateway.store"):
            leaks.update((name, i) for i in _imports(name, path) if i.split(".")[0] == "aiohttp")
    assert leaks == KNOWN_STORE_LEAKS


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        source = _layer(name)
        assert source is not None, name
        for imported in _imports(name, path):
            target = _layer(imported)
            if target is not None and target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph, or None (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_packages() -> None:
    graph = _package_graph()
    edges = {(a, b) for a, targets in graph.items() for b in targets}
    assert KNOWN_CYCLE_EDGES <= edges, f"fixed, strike off: {KNOWN_CYCLE_EDGES - edges}"
    pruned = {a: {b for b in targets if (a, b) not in KNOWN_CYCLE_EDGES}
              for a, targets in graph.items()}
    assert _cycle(pruned) is None, _cycle(pruned)


def test_the_checker_sees_a_cycle_and_a_leak(tmp_path: Path) -> None:
    # The rule's own check can fail: a made-up cycle is found, made-up imports are seen.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None
    source = tmp_path / "rules.py"
    source.write_text(
        "def f():\n    import redis.asyncio\n    from ..store import ledger\n"
        "KEY = 'parloir:call:'\n"
    )
    assert _imports("gateway.core.rules", source) >= {"redis.asyncio", "gateway.store.ledger"}
    assert _spelled_keys(source)
    # A type for annotations only is no import at run time; any other is.
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import redis.asyncio\n"
        "import aiohttp\n"
    )
    assert "redis.asyncio" in _imports("gateway.http.app", source)
    assert _imports("gateway.http.app", source, run_time=True) == {"typing", "aiohttp"}
