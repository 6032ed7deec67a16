"""No hidden import cycles in tradeflood/: every import counts, in functions and under TYPE_CHECKING.

An import that closes a cycle is allowed only with a one-line comment saying why
it is right: ``# import cycle: <why>`` on the import's line or the line above
it; above an ``if TYPE_CHECKING:`` block, the comment covers the block.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import tradeflood

ROOT = Path(tradeflood.__file__).parent
MARK = "import cycle:"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _target(module: str, node: ast.ImportFrom, package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _excused_blocks(tree: ast.AST, lines: list[str]) -> list[tuple[int, int]]:
    """Line spans of ``if TYPE_CHECKING:`` blocks with the mark on the line above them."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) \
                and node.lineno > 1 and MARK in lines[node.lineno - 2]:
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def import_graph() -> nx.DiGraph:
    """Module -> modules it imports (anywhere in it), without the excused imports."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        excused = _excused_blocks(tree, lines)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _target(module, node, path.name == "__init__.py")
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            line = node.lineno
            if MARK in lines[line - 1] or (line > 1 and MARK in lines[line - 2]) \
                    or any(a <= line <= b for a, b in excused):
                continue
            graph.add_edges_from((module, n) for n in names if n in modules and n != module)
    return graph


def test_the_graph_sees_imports_in_functions_and_under_type_checking() -> None:
    graph = import_graph()
    assert ("tradeflood.session", "tradeflood.pipeline") in graph.edges  # at the top
    assert ("tradeflood.planner", "tradeflood.connector") in graph.edges  # under TYPE_CHECKING
    assert ("tradeflood.pipeline", "tradeflood.store._pages") in graph.edges  # in a function


def test_no_module_of_tradeflood_is_in_an_import_cycle() -> None:
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == [], "import cycles (break them, or say why one is right with '# import cycle: ...')"
