"""The core knows no venue: everything about one venue lives in its connector and bindings.

Every module under ``tradeflood/`` except the simulator (``tradeflood/testing/``,
which serves the built-in venues' wire formats and may name them) is read as
source, and fails here when it

- imports a venue's module (``tradeflood.connectors.<venue>``,
  ``tradeflood.bindings.<venue>``; the ``tradeflood.bindings`` package itself,
  which the registry imports to register the built-ins, is not a venue);
- names a venue in code: identifiers, attribute names, string literals;
- names a venue in prose (docstrings and comments). Examples use "a venue" or
  ``example``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tradeflood"
VENUE = re.compile(r"bitget|binance|okx|bybit", re.IGNORECASE)
VENUE_MODULE = re.compile(r"^tradeflood\.(connectors|bindings)\.[A-Za-z_]")


def core_modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "testing" not in p.relative_to(ROOT).parts)


def module_name(path: Path) -> str:
    parts = ("tradeflood", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, path: Path) -> list[str]:
    """Every module an import names, relative ones resolved (imports in functions and
    under TYPE_CHECKING count too)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append(base)
            out += [f"{base}.{alias.name}" for alias in node.names]
    return out


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring constants."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.add(id(body[0].value))
        # An attribute docstring: a string right after an assignment in a class or module body.
        if isinstance(node, (ast.Module, ast.ClassDef)):
            for before, after in zip(node.body, node.body[1:], strict=False):
                if isinstance(before, (ast.Assign, ast.AnnAssign)) and isinstance(after, ast.Expr) \
                        and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
                    out.add(id(after.value))
    return out


def code_words(tree: ast.AST) -> list[tuple[int, str]]:
    """Names and string literals the interpreter runs with (docstrings left out)."""
    skip = docstrings(tree)
    out = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name):
            out.append((line, node.id))
        elif isinstance(node, ast.Attribute):
            out.append((line, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append((line, node.name))
        elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
            out.append((line, node.arg))
        elif isinstance(node, ast.alias):
            out.append((line, node.name))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            out.append((line, node.value))
    return out


def prose(source: str, tree: ast.AST) -> list[tuple[int, str]]:
    """Docstrings and comments."""
    skip = docstrings(tree)
    out = [(node.lineno, node.value) for node in ast.walk(tree)
           if isinstance(node, ast.Constant) and id(node) in skip]
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            out.append((token.start[0], token.string))
    return out


def test_the_scan_reads_the_core_and_skips_the_simulator() -> None:
    names = {module_name(p) for p in core_modules()}
    assert {"tradeflood.registry", "tradeflood.streams._booksync", "tradeflood.columnar._bulk",
            "tradeflood.parsing", "tradeflood.connector"} <= names
    assert not any(n.startswith("tradeflood.testing") for n in names)


def test_no_core_module_imports_a_venue_module() -> None:
    found = []
    for path in core_modules():
        tree = ast.parse(path.read_text(), str(path))
        found += [f"{path.relative_to(ROOT)}: imports {name}" for name in imported(tree, path)
                  if VENUE_MODULE.match(name)]
    assert found == []


def test_no_core_module_names_a_venue_in_code() -> None:
    found = []
    for path in core_modules():
        tree = ast.parse(path.read_text(), str(path))
        found += [f"{path.relative_to(ROOT)}:{line}: {word!r}" for line, word in code_words(tree)
                  if VENUE.search(word)]
    assert found == []


def test_no_core_module_names_a_venue_in_prose() -> None:
    found = []
    for path in core_modules():
        relative = path.relative_to(ROOT).as_posix()
        source = path.read_text()
        found += [f"{relative}:{line}: {VENUE.search(text).group()}"  # type: ignore[union-attr]
                  for line, text in prose(source, ast.parse(source, str(path))) if VENUE.search(text)]
    assert found == []


def test_the_checks_catch_what_they_are_for() -> None:
    source = ('"""Doc naming Binance."""\n'
              "from tradeflood.bindings.bitget import parse_candles\n"
              "from ..connectors import okx  # a comment on Bybit\n"
              "def f():\n    return 'bitget'\n")
    tree = ast.parse(source)
    path = ROOT / "streams" / "_example.py"
    assert [n for n in imported(tree, path) if VENUE_MODULE.match(n)] == [
        "tradeflood.bindings.bitget", "tradeflood.bindings.bitget.parse_candles",
        "tradeflood.connectors.okx"]
    assert [w for _, w in code_words(tree) if VENUE.search(w)] == ["okx", "bitget"]
    assert [VENUE.search(t).group() for _, t in prose(source, tree)  # type: ignore[union-attr]
            if VENUE.search(t)] == ["Binance", "Bybit"]


#: The modules a venue may import from TradeFlood: copying a built-in venue teaches only these.
PUBLIC_FOR_VENUES = frozenset({
    "tradeflood", "tradeflood.models", "tradeflood.parsing", "tradeflood.streams", "tradeflood.columnar",
    "tradeflood.symbols", "tradeflood.intervals", "tradeflood.errors", "tradeflood.connectors",
    "tradeflood.bindings", "tradeflood.perpetuals",
})


def test_the_built_in_venues_import_only_public_names() -> None:
    repo = ROOT.parent
    found = []
    for folder in ("connectors", "bindings"):
        for path in sorted((repo / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    top = name if not VENUE_MODULE.match(name) else name.rsplit(".", name.count(".") - 1)[0]
                    if name.split(".")[0] == "tradeflood" and top not in PUBLIC_FOR_VENUES:
                        found.append(f"{path.relative_to(repo)}: {name}")
    assert found == []
