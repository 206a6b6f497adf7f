"""Architecture: guardpolicy's module-top imports form no cycle, and the bottom layer imports
nothing above it (issue "Architecture: a real bottom layer, no import cycles").

The graph is read with ``ast`` (no import runs): an edge ``a -> b`` for each ``import`` /
``from ... import`` of a guardpolicy module at the top of ``a`` (also inside top-level ``if`` /
``try``, not under ``if TYPE_CHECKING``). Importing a package's own parent is not an edge
(Python imports it first anyway); ``from pkg import sub`` is an edge to ``pkg.sub`` only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "guardpolicy"

#: modules that may import only each other (and the stdlib / ``packaging``)
BOTTOM = frozenset({"model", "names", "durations", "filenames", "hashing", "hubids", "ruleinfo", "facts",
                    "userfiles", "notices",
                    "errors", "fileio", "dirs"})


def _modules() -> dict:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (path, is_pkg)
    return mods


def _targets(mod: str, is_pkg: bool, node, mods) -> list:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    subs = [f"{prefix}.{a.name}" for a in node.names if f"{prefix}.{a.name}" in mods]
    return subs + ([prefix] if len(subs) < len(node.names) else [])


def _top_level_imports(tree):
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = node.test
            if isinstance(test, ast.Name) and test.id == "TYPE_CHECKING" or \
                    isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING":
                todo.extend(node.orelse)
                continue
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                todo.extend(handler.body)


def import_graph(everywhere: bool = False) -> dict:
    """``{module: {guardpolicy modules it imports}}``; ``everywhere`` adds imports inside functions."""
    mods = _modules()
    graph = {}
    for mod, (path, is_pkg) in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))] if everywhere \
            else _top_level_imports(tree)
        deps = set()
        for node in nodes:
            for target in _targets(mod, is_pkg, node, mods):
                if target.split(".")[0] != "guardpolicy":
                    continue
                while target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in mods and target != mod and not mod.startswith(target + "."):
                    deps.add(target)
        graph[mod] = deps
    return graph


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_cycles_among_module_top_imports():
    assert cycles(import_graph()) == []


def test_no_cycles_even_counting_imports_inside_functions():
    assert cycles(import_graph(everywhere=True)) == []


@pytest.mark.parametrize("everywhere", [False, True])
def test_bottom_layer_imports_nothing_above_it(everywhere):
    graph = import_graph(everywhere)
    bottom = {f"guardpolicy.{m}" for m in BOTTOM}
    assert bottom <= set(graph), "a bottom-layer module is missing"
    upward = {m: sorted(graph[m] - bottom) for m in sorted(bottom) if graph[m] - bottom}
    assert upward == {}


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
